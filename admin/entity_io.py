"""Import and export on a kernel entity's list: :class:`EntityIOView`, an
:class:`~admin.entity.EntityModelView` with two more buttons.

The list gets two buttons: 导入 (upload → column mapping, pre-filled by crmkit's header
synonyms → dry run → import → row report) and 导出 Excel (the list's current filters). Every
step is one crmkit call as the logged-in user, ``service.import_file`` (``dry_run=True``
first) and ``service.export``, so rows meet the rules, permissions, scope and audit of a
record typed into the form. The upload waits in the app's data directory under a random
name known only to this login session, as the customer import's does; a product price list
is small, so the import runs within the request.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import abort, flash, redirect, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

import crmkit
from admin import context
from admin.auth import login_session
from admin.base import query_args
from admin.entity import EntityModelView
from admin.i18n import current_lang
from admin.import_runs import save_upload

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
POLICIES: dict[str, Any] = {
    "skip": _l("Skip the row"),
    "update": _l("Update the existing record with the row's non-empty cells"),
    "error": _l("Report the row as failed"),
}
SHOWN_ROWS = 1000  # rows a report page lists


class EntityIOView(EntityModelView):
    """A kernel entity's screens with ``/import/…`` and ``/export/``.

    The view's ``service_name`` names the crmkit service (``products``), its ``permission``
    the entity: importing needs ``<permission>.create``, exporting what the list needs
    (``<permission>.read``); crmkit checks both again.
    """

    # -- the list's buttons ----------------------------------------------------------------
    def extra_list_links(self, filters: Mapping[str, str]) -> list[tuple[str, str]]:
        """导入 (for those who may create) and 导出 Excel (the current filters)."""
        links: list[tuple[str, str]] = []
        if context.can(f"{self.permission}.create"):
            links.append((str(_l("Import")), url_for(".import_index")))
        links.append((str(_l("Export Excel")), url_for(".export", **query_args(filters))))
        return links

    def may_import(self) -> None:
        if not context.can(f"{self.permission}.create"):
            abort(403)

    def io_service(self, s: crmkit.Session) -> crmkit.EntityService[Any]:
        service: crmkit.EntityService[Any] = context.service(s, self.service_name)
        return service

    # -- export -----------------------------------------------------------------------------
    @expose("/export/")
    def export(self) -> ResponseReturnValue:
        """The records of the list's current filters that the user sees, as XLSX: headers
        in the interface language, formula-safe, in the form the import reads back."""
        buffer = io.BytesIO()
        try:
            with context.work() as s:
                filters = self.service_filters(s, self.current_filters())
                q = filters.pop("q", None)
                self.io_service(s).export(
                    buffer, format="xlsx", lang=current_lang(), q=q, **filters
                )
        except crmkit.ValidationError as exc:
            flash(exc.message(), "error")
            return redirect(url_for(".index_view"))
        buffer.seek(0)
        return send_file(
            buffer, mimetype=XLSX, as_attachment=True, download_name=f"{self.endpoint}.xlsx"
        )

    # -- import: upload → mapping → dry run → run → report ------------------------------------
    @expose("/import/")
    def import_index(self) -> ResponseReturnValue:
        self.may_import()
        return self.render(
            "crm/entity_import_upload.html", policies=POLICIES, key_label=self.key_label()
        )

    @expose("/import/upload", methods=("POST",))
    def import_upload(self) -> ResponseReturnValue:
        """Keep the file and let crmkit propose the column mapping (a first dry run)."""
        self.may_import()
        saved = save_upload(f"{self.endpoint}-import-")
        if saved is None:
            return redirect(url_for(".import_index"))
        token, path, filename = saved
        try:
            with context.work() as s:
                proposal = self.io_service(s).import_file(path, dry_run=True)
        except crmkit.CRMError as exc:
            path.unlink(missing_ok=True)
            if isinstance(exc, crmkit.TableError):
                flash(_("The file cannot be read as a table: %(reason)s", reason=str(exc)), "error")
            else:
                flash(str(exc), "error")
            return redirect(url_for(".import_index"))
        headers = [h or "" for h in proposal.headers]
        chosen = {headers[pos]: key for pos, key in proposal.mapping.columns.items()}
        policy = request.form.get("on_duplicate", "skip")
        _uploads()[token] = {
            "endpoint": self.endpoint,
            "path": str(path),
            "filename": Path(filename.replace("\\", "/")).name,
            "headers": headers,
            "mapping": {h: chosen.get(h, "") for h in headers if h},
            "on_duplicate": policy if policy in POLICIES else "skip",
        }
        return redirect(url_for(".import_mapping", token=token))

    @expose("/import/<token>/")
    def import_mapping(self, token: str) -> ResponseReturnValue:
        """The file's columns, each with the field crmkit proposes, for the user to correct."""
        self.may_import()
        upload = self.upload(token)
        with context.work() as s:
            columns = [
                (c.key, c.header(current_lang())) for c in self.io_service(s).sheet_columns()
            ]
        return self.render(
            "crm/entity_import_mapping.html",
            token=token,
            upload=upload,
            columns=columns,
            policies=POLICIES,
            key_label=self.key_label(),
        )

    @expose("/import/<token>/preview", methods=("POST",))
    def import_preview(self, token: str) -> ResponseReturnValue:
        """A dry run with the chosen mapping: every row's outcome, nothing written."""
        self.may_import()
        upload = self.upload(token)
        upload["mapping"] = {
            h: request.form.get(f"map-{i}", "") for i, h in enumerate(upload["headers"]) if h
        }
        if request.form.get("on_duplicate") in POLICIES:
            upload["on_duplicate"] = request.form["on_duplicate"]
        report = self.run_import(token, upload, dry_run=True)
        if report is None:
            return redirect(url_for(".import_mapping", token=token))
        return self.show_report(token, upload, report)

    @expose("/import/<token>/run", methods=("POST",))
    def import_run(self, token: str) -> ResponseReturnValue:
        """The import itself, with the mapping and policy of the dry run; then its report."""
        self.may_import()
        upload = self.upload(token)
        if "done" not in upload:
            report = self.run_import(token, upload, dry_run=False)
            if report is None:
                return redirect(url_for(".import_mapping", token=token))
            upload["done"] = report
            Path(upload["path"]).unlink(missing_ok=True)  # imported: the file is not needed
        return redirect(url_for(".import_report", token=token))

    @expose("/import/<token>/report")
    def import_report(self, token: str) -> ResponseReturnValue:
        """What the import did, row by row (a second run of the same upload is refused:
        this page is where it leads)."""
        self.may_import()
        upload = self.upload(token)
        if "done" not in upload:
            return redirect(url_for(".import_mapping", token=token))
        return self.show_report(token, upload, upload["done"])

    # -- helpers ----------------------------------------------------------------------------
    def run_import(
        self, token: str, upload: dict[str, Any], *, dry_run: bool
    ) -> crmkit.EntityImportReport | None:
        """Run crmkit's import of the upload (``None``, with the reason shown, if crmkit
        refuses it as a whole)."""
        path = Path(upload["path"])
        if not path.exists():
            flash(_("The uploaded file is gone; upload it again."), "error")
            return None
        mapping = {h: upload["mapping"].get(h, "") for h in upload["headers"] if h}
        try:
            with context.work() as s:
                return self.io_service(s).import_file(
                    path, mapping=mapping, dry_run=dry_run, on_duplicate=upload["on_duplicate"]
                )
        except crmkit.CRMError as exc:
            flash(str(exc), "error")
            return None

    def show_report(
        self, token: str, upload: dict[str, Any], report: crmkit.EntityImportReport
    ) -> ResponseReturnValue:
        return self.render(
            "crm/entity_import_result.html",
            token=token,
            upload=upload,
            key_label=self.key_label(),
            # the columns nothing was read from: unknown to crmkit, or set to "(ignore)"
            unknown=[h for h in upload["headers"] if h and not upload["mapping"].get(h)],
            **self.report_view(report),
        )

    def report_view(self, report: crmkit.EntityImportReport) -> dict[str, Any]:
        """What a report page shows: counts, and each row with its record's name and key."""
        lang = current_lang()
        done = crmkit.ImportOutcome
        writes = (
            (done.WOULD_CREATE, done.WOULD_UPDATE)
            if report.dry_run
            else (done.CREATED, done.UPDATED)
        )
        shown = [*writes, done.SKIPPED, done.FAILED]
        rows = [
            {
                "row": r.row,
                "outcome": r.outcome.value,
                "outcome_label": r.outcome.label(lang),
                "name": r.name or "",
                "key": r.key or "",
                "id": r.id,
                "note": r.note(lang),
            }
            for r in report.rows
        ]
        return {
            "dry_run": report.dry_run,
            "counts": [(o.value, o.label(lang), report.count(o)) for o in shown],
            "rows": rows[:SHOWN_ROWS],
            "more": max(0, len(rows) - SHOWN_ROWS),
        }

    def upload(self, token: str) -> dict[str, Any]:
        found = _uploads().get(token)
        if found is None or found.get("endpoint") != self.endpoint:
            abort(404)  # another session's upload, another screen's, or an expired one
        return found

    def key_label(self) -> str:
        """The header of the entity's key column (编码 for products), for the policy's
        question; empty when the entity has none."""
        with context.work() as s:
            service = self.io_service(s)
            unique = service.spec.unique
            for column in service.sheet_columns():
                if unique and column.field == unique[0]:
                    return column.header(current_lang())
        return ""


def _uploads() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = login_session().data.setdefault("entity_imports", {})
    return found
