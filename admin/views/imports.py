"""The import wizard: upload → map columns (pre-filled) → dry run → import → row report.

Every step calls crmkit's import service (``s.imports.preview`` / ``s.imports.run``), so the
rows meet the same validation, duplicate and scope rules as a hand-made customer. The upload
waits in the app's data directory under a random name known only to this login session.
"""

from __future__ import annotations

import io
import secrets
from pathlib import Path
from typing import Any

from flask import abort, current_app, flash, redirect, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

import crmkit
from admin import context
from admin.auth import login_session
from admin.i18n import current_lang, enum_label, labels

# What a column can be mapped to, with labels; crmkit's header synonyms decide the default.
FIELDS = labels(
    "name", "kind", "category", "channel_type", "mobile", "phone", "email", "region", "address",
    "source", "industry", "tags", "credit_rating", "settlement", "credit_limit", "uscc", "gender",
    "birthday", "remarks", "owner", "contact_name", "contact_mobile", "contact_title",
)  # fmt: skip
POLICIES: dict[str, Any] = {
    "skip": _l("Skip rows that match a customer"),
    "update": _l("Update the matching customer"),
    "create": _l("Create a new customer anyway"),
}
SUFFIXES = {".csv", ".xlsx"}


class ImportView(BaseView):
    """导入客户: for everyone who may create customers."""

    def is_accessible(self) -> bool:
        return context.has_role(crmkit.Role.ADMIN, crmkit.Role.MANAGER, crmkit.Role.SALES)

    @expose("/")
    def index(self) -> ResponseReturnValue:
        return self.render("crm/import_upload.html", policies=POLICIES)

    @expose("/upload", methods=("POST",))
    def upload(self) -> ResponseReturnValue:
        """Keep the file, read its headers and let crmkit propose the column mapping."""
        file = request.files.get("file")
        suffix = Path(file.filename or "").suffix.lower() if file else ""
        if file is None or suffix not in SUFFIXES:
            flash(_("Choose a CSV or XLSX file."), "error")
            return redirect(url_for(".index"))
        token = secrets.token_urlsafe(12)
        path = _scratch() / f"import-{token}{suffix}"
        file.save(path)
        from crmkit.adapters.tabular import TableError

        try:
            headers = _headers(path)
            with context.work() as s:
                proposal = s.imports.preview(path)
        except (crmkit.CRMError, TableError) as exc:
            path.unlink(missing_ok=True)
            if isinstance(exc, TableError):
                flash(_("The file cannot be read as a table: %(reason)s", reason=str(exc)), "error")
            else:
                flash(str(exc), "error")
            return redirect(url_for(".index"))
        mapping = {headers[pos]: field for pos, field in proposal.mapping.columns.items()}
        _jobs()[token] = {
            "path": str(path),
            "filename": file.filename,
            "headers": headers,
            "mapping": {h: mapping.get(h, "") for h in headers},
            "on_duplicate": request.form.get("on_duplicate", "skip"),
        }
        return redirect(url_for(".mapping", token=token))

    @expose("/<token>/mapping")
    def mapping(self, token: str) -> ResponseReturnValue:
        job = _job(token)
        return self.render(
            "crm/import_mapping.html", token=token, job=job, fields=FIELDS, policies=POLICIES
        )

    @expose("/<token>/preview", methods=("POST",))
    def preview(self, token: str) -> ResponseReturnValue:
        """A dry run with the chosen mapping: every row's outcome, nothing written."""
        job = _job(token)
        job["mapping"] = {h: request.form.get(f"map-{i}", "") for i, h in enumerate(job["headers"])}
        if request.form.get("on_duplicate") in POLICIES:
            job["on_duplicate"] = request.form["on_duplicate"]
        return self._import(token, job, dry_run=True)

    @expose("/<token>/run", methods=("POST",))
    def run(self, token: str) -> ResponseReturnValue:
        """The import itself, with the mapping and policy of the preview."""
        return self._import(token, _job(token), dry_run=False)

    def _import(self, token: str, job: dict[str, Any], *, dry_run: bool) -> ResponseReturnValue:
        try:
            with context.work() as s:
                call = s.imports.preview if dry_run else s.imports.run
                report = call(
                    Path(job["path"]),
                    mapping=dict(job["mapping"]),
                    on_duplicate=job["on_duplicate"],
                )
        except crmkit.CRMError as exc:
            flash(str(exc), "error")
            return redirect(url_for(".mapping", token=token))
        rows = _report_rows(report)
        job["report"] = rows
        if not dry_run:
            job["done"] = True
            Path(job["path"]).unlink(missing_ok=True)  # imported: the upload is not needed
        return self.render(
            "crm/import_result.html",
            token=token,
            job=job,
            dry_run=dry_run,
            counts=[(enum_label(k), v) for k, v in report.counts.items()],
            rows=rows,
        )

    @expose("/<token>/report.csv")
    def report(self, token: str) -> ResponseReturnValue:
        """The row report of the last preview or import, as CSV (formula-safe)."""
        from crmkit.adapters.tabular import write_table

        job = _job(token)
        if "report" not in job:
            abort(404)
        zh = current_lang() == "zh"
        headers = (
            ["行号", "结果", "客户", "重复于", "问题"]
            if zh
            else ["row", "outcome", "customer", "duplicate of", "problems"]
        )
        buffer = io.BytesIO()
        write_table(headers, [list(r) for r in job["report"]], buffer, format="csv")
        buffer.seek(0)
        return send_file(
            buffer, mimetype="text/csv", as_attachment=True, download_name="import-report.csv"
        )


def _report_rows(report: Any) -> list[tuple[int, str, str, str, str]]:
    """Row number, outcome, customer, duplicate-of and problems, in the active language."""
    lang = current_lang()
    return [
        (
            r.row,
            enum_label(r.outcome),
            r.customer_id or "",
            r.duplicate_of or "",
            "; ".join(f"{p.column or p.field}: {p.message(lang)}" for p in r.problems),
        )
        for r in report.results
    ]


def _headers(path: Path) -> list[str]:
    """The sheet's header row, read by crmkit's tabular adapter (any common encoding)."""
    from crmkit.adapters.tabular import read_table

    table = read_table(path)
    return [str(h) if h is not None else "" for h in table.headers]


def _jobs() -> dict[str, dict[str, Any]]:
    jobs: dict[str, dict[str, Any]] = login_session().data.setdefault("imports", {})
    return jobs


def _job(token: str) -> dict[str, Any]:
    job = _jobs().get(token)
    if job is None:
        abort(404)  # another session's upload, or an expired one
    return job


def _scratch() -> Path:
    path = Path(current_app.config["ADMIN_DATA_DIR"]) / "scratch"
    path.mkdir(parents=True, exist_ok=True)
    return path
