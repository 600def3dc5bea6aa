"""The import wizard: upload → map columns (pre-filled) → dry run → import → row report,
and the import history with each job's report and its revert.

The mapping step and the dry run say which columns the import would not keep (crmkit's
``mapping.warnings``); the dry run says what the import *would* do (将创建, not 已创建); every
report names the customer of each row, linking to it where the user may open it.

Every step calls crmkit's import service (``s.imports.preview`` / ``s.imports.run`` /
``s.imports.jobs`` / ``s.imports.revert``), so the rows meet the same validation, duplicate
and scope rules as a hand-made customer. The upload waits in the app's data directory under
a random name known only to this login session. The import itself runs in a background
thread (:mod:`admin.import_runs`) with its own crmkit session as the same user, while the
browser watches a progress page.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from flask import abort, flash, jsonify, redirect, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

import crmkit
from admin import context
from admin.auth import login_session
from admin.base import user_names
from admin.i18n import current_lang, enum_label, labels, local_time
from admin.import_runs import Progress, Run, RunState, runs, save_upload

# What a column can be mapped to, with labels; crmkit's header synonyms decide the default.
FIELDS = labels(
    "name", "kind", "category", "channel_type", "mobile", "phone", "email", "region", "province",
    "city", "district", "address",
    "source", "industry", "tags", "credit_rating", "settlement", "credit_limit", "uscc", "gender",
    "birthday", "id_number", "id_type", "remarks", "owner", "contact_name", "contact_mobile",
    "contact_title",
)  # fmt: skip
STATUSES: dict[str, Any] = {
    "running": _l("Running or interrupted"),
    "finished": _l("Finished"),
    "reverted": _l("Reverted"),
}
POLICIES: dict[str, Any] = {
    "skip": _l("Skip rows that match a customer"),
    "update": _l("Update the matching customer"),
    "create": _l("Create a new customer anyway"),
}
MIMETYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
HISTORY_PAGE = 50
SHOWN_ROWS = 1000  # rows a job's page lists; the downloaded report has every row


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
        saved = save_upload("import-")
        if saved is None:
            return redirect(url_for(".index"))
        token, path, filename = saved
        try:
            with context.work() as s:
                read, _mapping = s.imports.inspect(path)
                proposal = s.imports.preview(path)
            headers = [str(h) if h is not None else "" for h in read]
        except crmkit.CRMError as exc:
            path.unlink(missing_ok=True)
            if isinstance(exc, crmkit.TableError):
                flash(_("The file cannot be read as a table: %(reason)s", reason=str(exc)), "error")
            else:
                flash(str(exc), "error")
            return redirect(url_for(".index"))
        mapping = {headers[pos]: field for pos, field in proposal.mapping.columns.items()}
        proposed = {h: mapping.get(h, "") for h in headers}
        _jobs()[token] = {
            "path": str(path),
            "filename": filename,
            "headers": headers,
            "mapping": dict(proposed),
            "proposed": proposed,
            "on_duplicate": request.form.get("on_duplicate", "skip"),
        }
        return redirect(url_for(".mapping", token=token))

    @expose("/<token>/mapping")
    def mapping(self, token: str) -> ResponseReturnValue:
        """The proposed (or last chosen) mapping, with the columns it would not import."""
        job = _job(token)
        try:
            with context.work() as s:
                _headers, chosen = s.imports.inspect(Path(job["path"]), mapping=_explicit(job))
            warnings = _warnings(chosen)
        except (crmkit.CRMError, OSError):
            warnings = []  # the upload is gone (imported already): nothing to warn of
        return self.render(
            "crm/import_mapping.html",
            token=token,
            job=job,
            fields=FIELDS,
            policies=POLICIES,
            warnings=warnings,
            warned={w["position"] for w in warnings},
        )

    @expose("/<token>/preview", methods=("POST",))
    def preview(self, token: str) -> ResponseReturnValue:
        """A dry run with the chosen mapping: every row's outcome, nothing written."""
        job = _job(token)
        job["mapping"] = {h: request.form.get(f"map-{i}", "") for i, h in enumerate(job["headers"])}
        if request.form.get("on_duplicate") in POLICIES:
            job["on_duplicate"] = request.form["on_duplicate"]
        try:
            with context.work() as s:
                report = s.imports.preview(
                    Path(job["path"]),
                    mapping=_explicit(job),
                    on_duplicate=job["on_duplicate"],
                )
        except crmkit.CRMError as exc:
            flash(str(exc), "error")
            return redirect(url_for(".mapping", token=token))
        rows = _report_rows(report)
        job["report"] = rows
        return self.render(
            "crm/import_result.html",
            token=token,
            job=job,
            counts=_counts(report),
            rows=rows,
            warnings=_warnings(report.mapping),
        )

    @expose("/<token>/run", methods=("POST",))
    def run(self, token: str) -> ResponseReturnValue:
        """Start the import (mapping and policy of the preview) in a background thread and
        show its progress. The thread opens its own crmkit session as this user."""
        job = _job(token)
        if job.get("job_id"):
            return redirect(url_for(".job", job_id=job["job_id"]))  # imported already
        registry = runs()
        user_id = context.current_user().id
        previous = registry.get(token, user_id)
        if previous is not None and previous.state is not RunState.FAILED:
            return redirect(url_for(".progress", token=token))  # one run per upload
        holder = context.holder()
        path = Path(job["path"])
        filename = Path(str(job["filename"]).replace("\\", "/")).name  # no client folders
        options = {"mapping": _explicit(job), "on_duplicate": job["on_duplicate"]}

        def body(progress: Progress) -> str | None:
            source = io.BytesIO(path.read_bytes())
            source.name = filename  # the job keeps the name the user knows
            with holder.crm.session(actor=user_id) as s:
                report = s.imports.run(source, progress=progress, **options)
            path.unlink(missing_ok=True)  # imported: the upload is not needed
            return report.job_id

        registry.start(token, user_id, current_lang(), body)
        return redirect(url_for(".progress", token=token))

    @expose("/<token>/progress")
    def progress(self, token: str) -> ResponseReturnValue:
        """The run's progress bar (polled by a script, or refreshed without one); its
        outcome once it ends."""
        known = _jobs().get(token, {}).get("job_id")
        if known:
            return redirect(url_for(".job", job_id=known))
        run = self._run(token)
        if run.state is RunState.FINISHED and run.job_id:
            job = _jobs().get(token)
            if job is not None:
                job["job_id"] = run.job_id  # later visits go straight to the job
            return redirect(url_for(".job", job_id=run.job_id))
        return self.render(
            "crm/import_progress.html",
            token=token,
            run=run,
            label=_progress_label(run),
            failed=run.state is RunState.FAILED,
            job=_jobs().get(token),
        )

    @expose("/<token>/progress.json")
    def progress_json(self, token: str) -> ResponseReturnValue:
        """How far the run is: ``{"state", "done", "total", "percent", "next"}``."""
        run = self._run(token)
        ended = run.state is not RunState.RUNNING
        response = jsonify(
            state=run.state.value,
            done=run.done,
            total=run.total,
            percent=run.percent,
            label=_progress_label(run),
            next=url_for(".progress", token=token) if ended else None,
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    def _run(self, token: str) -> Run:
        run = runs().get(token, context.current_user().id)
        if run is None:
            abort(404)  # someone else's run, or none
        return run

    @expose("/<token>/report.csv")
    def report(self, token: str) -> ResponseReturnValue:
        """The row report of the last preview, as CSV (formula-safe)."""
        job = _job(token)
        if "report" not in job:
            abort(404)
        return _send_rows(job["report"], "csv", "import-report")

    # -- history -------------------------------------------------------------------------
    @expose("/history/")
    def history(self) -> ResponseReturnValue:
        """Import jobs, newest first (every job for an admin, one's own otherwise)."""
        after = request.args.get("after") or None
        with context.work() as s:
            page = s.imports.jobs(after=after, limit=HISTORY_PAGE)
            names = user_names(s)
        return self.render(
            "crm/import_history.html",
            jobs=[_job_view(j, names) for j in page.items],
            next_url=url_for(".history", after=page.next_after) if page.next_after else None,
            first_url=url_for(".history") if after else None,
            can_revert=_can_revert(),
        )

    @expose("/jobs/<job_id>/")
    def job(self, job_id: str) -> ResponseReturnValue:
        """One import job: its counts and every row's outcome."""
        with context.work() as s:
            found = _find_job(s, job_id)
            report = s.imports.report(job_id)
            names = user_names(s)
        rows = _report_rows(report)
        return self.render(
            "crm/import_job.html",
            job=_job_view(found, names),
            counts=_counts(report),
            rows=rows[:SHOWN_ROWS],
            more=max(0, len(rows) - SHOWN_ROWS),
            can_revert=_can_revert(),
        )

    @expose("/jobs/<job_id>/report.<fmt>")
    def job_report(self, job_id: str, fmt: str) -> ResponseReturnValue:
        """A job's row report as CSV or XLSX, in the interface language (formula-safe)."""
        if fmt not in MIMETYPES:
            abort(404)
        with context.work() as s:
            _find_job(s, job_id)
            report = s.imports.report(job_id)
        return _send_rows(_report_rows(report), fmt, f"import-report-{job_id[:8]}")

    @expose("/jobs/<job_id>/revert", methods=("GET", "POST"))
    def revert(self, job_id: str) -> ResponseReturnValue:
        """Confirm, then undo the import as a whole (crmkit lets only an admin)."""
        if request.method == "POST" and request.form.get("confirm") == "yes":
            try:
                with context.work() as s:
                    done = s.imports.revert(job_id)
            except crmkit.NotFound:
                abort(404)
            except crmkit.CRMError as exc:  # not an admin, or not finished
                flash(_("Not reverted: %(reason)s", reason=str(exc)), "error")
            else:
                flash(
                    _(
                        "Import reverted: %(deleted)s customers moved to the recycle bin, "
                        "%(restored)s customers given back their earlier values, "
                        "%(kept)s changes kept because they were edited since, "
                        "%(contacts)s contacts it added to updated customers moved to the "
                        "recycle bin.",
                        deleted=done.deleted,
                        restored=done.restored,
                        kept=done.kept_changes,
                        contacts=done.contacts_deleted,
                    ),
                    "success",
                )
            return redirect(url_for(".job", job_id=job_id))
        with context.work() as s:
            found = _find_job(s, job_id)
            names = user_names(s)
        return self.render(
            "crm/import_revert.html", job=_job_view(found, names), can_revert=_can_revert()
        )


def _progress_label(run: Run) -> str:
    if run.total:
        return _("%(done)s of %(total)s rows", done=run.done, total=run.total)
    return _("Reading the file…")


def _find_job(s: crmkit.Session, job_id: str) -> crmkit.ImportJob:
    try:
        found: crmkit.ImportJob = s.imports.job(job_id)
    except crmkit.NotFound:
        abort(404)  # absent, or another user's (for a non-admin)
    return found


def _can_revert() -> bool:
    """Whether to offer the revert button (crmkit itself refuses anyone else)."""
    return context.has_role(crmkit.Role.ADMIN)


def _job_view(job: crmkit.ImportJob, names: dict[str, str]) -> dict[str, Any]:
    """What the history and job pages show of a job."""
    return {
        "id": job.id,
        "file": job.source_name,
        "actor": names.get(job.actor_id, job.actor_id),
        "status": job.status.value,
        "status_label": STATUSES.get(job.status.value, job.status.value),
        "counts": {o: job.counts.get(o, 0) for o in ("created", "updated", "duplicate", "failed")},
        "started": local_time(job.created_at),
        "finished": local_time(job.finished_at) if job.finished_at else "",
        "reverted": local_time(job.reverted_at) if job.reverted_at else "",
        "reverted_by": names.get(job.reverted_by, job.reverted_by) if job.reverted_by else "",
        "finished_ok": job.status is crmkit.ImportStatus.FINISHED,
    }


def _send_rows(rows: list[dict[str, Any]], fmt: str, name: str) -> ResponseReturnValue:
    """Report rows as a CSV or XLSX download with headers in the interface language: the
    customer by name, as on the screen."""
    zh = current_lang() == "zh"
    headers = (
        ["行号", "结果", "客户", "重复于", "问题"]
        if zh
        else ["row", "outcome", "customer", "duplicate of", "problems"]
    )
    lines = [[r["row"], r["outcome"], r["customer"], r["duplicate"], r["problems"]] for r in rows]
    buffer = io.BytesIO()
    crmkit.write_table(headers, lines, buffer, format=fmt)  # type: ignore[arg-type]
    buffer.seek(0)
    return send_file(
        buffer, mimetype=MIMETYPES[fmt], as_attachment=True, download_name=f"{name}.{fmt}"
    )


def _report_rows(report: crmkit.ImportReport) -> list[dict[str, Any]]:
    """Each row's number, outcome (a dry run's: what the import would do), customer (by
    name; its id only for the link), what it duplicates and its problems, in the active
    language."""
    lang = current_lang()
    return [
        {
            "row": r.row,
            "outcome": r.label(lang, dry_run=True) if report.dry_run else enum_label(r.outcome),
            "customer": r.customer_name or "",
            "customer_id": r.customer_id,
            "duplicate": r.duplicate_text(lang),
            "problems": "; ".join(f"{p.column or p.field}: {p.message(lang)}" for p in r.problems),
        }
        for r in report.results
    ]


def _counts(report: crmkit.ImportReport) -> list[tuple[str, int]]:
    """Each outcome's label and count; a dry run's say what the import would do."""
    if report.dry_run:
        return list(report.labelled_counts(current_lang()).items())
    return [(enum_label(k), v) for k, v in report.counts.items()]


def _explicit(job: dict[str, Any]) -> dict[str, str]:
    """The columns the user mapped otherwise than proposed: what crmkit is told. A column
    left as proposed follows crmkit's own reading of its header, so that a column matching
    no field is reported as such rather than as one the user chose to ignore."""
    proposed = job.get("proposed")
    chosen: dict[str, str] = dict(job["mapping"])
    if proposed is None:
        return chosen
    return {h: f for h, f in chosen.items() if f != proposed.get(h, "")}


def _warnings(mapping: Any) -> list[dict[str, Any]]:
    """The columns a mapping would not import, in the active language."""
    lang = current_lang()
    return [
        {"position": w.position, "column": w.column, "message": w.message(lang)}
        for w in mapping.warnings
    ]


def _jobs() -> dict[str, dict[str, Any]]:
    jobs: dict[str, dict[str, Any]] = login_session().data.setdefault("imports", {})
    return jobs


def _job(token: str) -> dict[str, Any]:
    job = _jobs().get(token)
    if job is None:
        abort(404)  # another session's upload, or an expired one
    return job
