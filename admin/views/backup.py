"""Backup and restore of a SQLite store (admins): download a snapshot, upload one back."""

from __future__ import annotations

import secrets

from flask import after_this_request, flash, redirect, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from werkzeug.wrappers import Response

import crmkit
from admin import context


class BackupView(BaseView):
    """备份与恢复, with crmkit's SQLite backup adapter (the online backup API)."""

    def is_accessible(self) -> bool:
        return context.has_role(crmkit.Role.ADMIN)

    @expose("/")
    def index(self) -> ResponseReturnValue:
        return self.render("crm/backup.html", sqlite=context.holder().sqlite_file is not None)

    @expose("/download")
    def download(self) -> ResponseReturnValue:
        """A consistent snapshot of the live database, made while it stays in use."""
        from crmkit.adapters.sqlite_backup import backup_sqlite

        db = context.holder().sqlite_file
        if db is None:
            flash(_("Backups here are for SQLite stores only."), "error")
            return redirect(url_for(".index"))
        out = context.scratch_dir() / f"backup-{secrets.token_hex(8)}.db"
        backup_sqlite(db, out)

        @after_this_request
        def _remove(response: Response) -> Response:
            response.call_on_close(lambda: out.unlink(missing_ok=True))
            return response

        stamp = context.now().strftime("%Y%m%d-%H%M")
        return send_file(out, as_attachment=True, download_name=f"crmkit-{stamp}.db")

    @expose("/restore", methods=("POST",))
    def restore(self) -> ResponseReturnValue:
        """Replace everything with an uploaded backup, after crmkit checked it."""
        upload = request.files.get("backup")
        if upload is None or not upload.filename:
            flash(_("Choose a backup file first."), "error")
            return redirect(url_for(".index"))
        if request.form.get("confirm") != "yes":
            flash(_("Tick the box to confirm that everything will be replaced."), "error")
            return redirect(url_for(".index"))
        incoming = context.scratch_dir() / f"restore-{secrets.token_hex(8)}.db"
        upload.save(incoming)
        upload.close()  # a large upload is spooled to a temporary file: let it go now
        try:
            context.holder().restore_from(incoming)
        except (crmkit.BackupError, ValueError) as exc:
            flash(_("Not restored: %(reason)s", reason=str(exc)), "error")
        else:
            flash(_("Restored from %(name)s.", name=upload.filename), "success")
        finally:
            incoming.unlink(missing_ok=True)
        return redirect(url_for(".index"))
