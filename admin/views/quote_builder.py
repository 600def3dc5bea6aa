"""报价单: the quote builder, the quote's moves, 转为订单 and its print view.

The builder (header, lines, live totals priced by ``s.quotes.check_create`` /
``check_changes``, saving through ``s.quotes.create`` / ``update``) is
:class:`admin.views.builder.DocumentBuilder`; this module adds what only a quote has: its
validity, its moves (send, accept, reject, revise), lines from a spreadsheet, the order made
from it (``s.quotes.to_order``) and its print view.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

import crmkit
from admin import context
from admin.base import user_name
from admin.forms import refusal
from admin.i18n import enum_label
from admin.printing import PrintDocument, document_label, quote_document
from admin.views.builder import LINE_PATH, DocumentBuilder, revision_rows


class QuoteBuilder(DocumentBuilder):
    """The quote screens' own routes, mixed into the quotes view: the builder (``/new/``,
    ``/edit/``), live totals (``/price/``), the moves, 转为订单 and the print view."""

    kind = "quote"
    header_dates = (("valid_until", _l("Empty: 30 days from today")),)

    def builder_words(self) -> dict[str, str]:
        return {
            "new": _("New quote"),
            "legend": _("Quote"),
            "lines": _("Quote lines"),
            "saved": _("Quote %(number)s saved."),
            "hint": _(
                "Pick a product and its name, unit, price and tax rate come from the "
                "catalogue; type them to quote something else or another price."
            ),
        }

    def locked(self, document: Any) -> str | None:
        if document.status is crmkit.QuoteStatus.DRAFT:
            return None
        return _("Only a draft is edited; a quote that has been sent is revised.")

    # -- moves --------------------------------------------------------------------------
    @expose("/send/", methods=("POST",))
    def send(self) -> ResponseReturnValue:
        view: Any = self
        return view.perform("send", _("Marked sent to the customer."))

    @expose("/accept/", methods=("POST",))
    def accept(self) -> ResponseReturnValue:
        view: Any = self
        note = request.form.get("note", "").strip()[:500] or None
        return view.perform("accept", _("Marked accepted."), note=note)

    @expose("/reject/", methods=("POST",))
    def reject(self) -> ResponseReturnValue:
        view: Any = self
        reason = request.form.get("reason", "").strip()[:500] or None
        return view.perform("reject", _("Marked rejected."), reason=reason)

    @expose("/revise/", methods=("POST",))
    def revise(self) -> ResponseReturnValue:
        """A new revision of a sent, rejected or expired quote, opened in the builder."""
        view: Any = self
        return view.perform(
            "revise",
            _("A new revision is drafted: change it, then send it."),
            opened=lambda revision: url_for(".edit_view", id=revision.id),
        )

    @expose("/to-order/", methods=("POST",))
    def to_order(self) -> ResponseReturnValue:
        """报价转订单 (``s.quotes.to_order``): a draft order with the quote's customer,
        opportunity, owner and lines; the user lands on it."""
        view: Any = self
        id = request.form.get("id", "")
        return view.act(
            lambda s: s.quotes.to_order(id),
            _("The order is drafted from the quote: check it, then submit it for approval."),
            opened=lambda order: url_for("orders.details_view", id=order.id),
        )

    @expose("/import-lines/", methods=("POST",))
    def import_lines(self) -> ResponseReturnValue:
        """Lines from a CSV or XLSX sheet (``s.quotes.import_lines``), added to a draft or
        put in place of its lines; all or nothing, every wrong cell named by its line."""
        id = request.form.get("id", "")
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash(_("Choose a CSV or XLSX file."), "error")
            return redirect(url_for(".details_view", id=id))
        raw = request.form.get("version", "")
        replace = request.form.get("replace") == "y"
        try:
            with context.work() as s:
                before = 0 if replace else len(s.quotes.get(id).lines)
                quote = s.quotes.import_lines(
                    id, upload.stream, version=int(raw) if raw.isdigit() else None, replace=replace
                )
        except crmkit.ValidationError as exc:
            for e in exc.errors:
                found = LINE_PATH.match(e.field)
                if found:
                    n = int(found[1]) - before + 1
                    flash(_("Sheet line %(n)s: %(error)s", n=n, error=e.describe()), "error")
                else:
                    flash(e.describe(), "error")
        except crmkit.CRMError as exc:
            flash(refusal(exc, request.form.get("name", "")[:60]), "error")
        else:
            added = len(quote.lines) - before
            flash(_("%(n)s line(s) imported.", n=added), "success")
        return redirect(url_for(".details_view", id=id))

    # -- the detail page and the print view ----------------------------------------------
    def details_context(self, s: crmkit.Session, model: Any) -> dict[str, Any]:
        """The quote's revisions (each number's versions), for links between them; the
        orders made from it, and whether 转为订单 is offered (crmkit makes one order of a
        quote, again only once that one is cancelled)."""
        made: list[crmkit.Order] = []
        if context.can("order.read"):
            made = list(s.orders.list(quote_id=model.id, limit=20).items)
        live = [o for o in made if o.status is not crmkit.OrderStatus.CANCELLED]
        orders = [
            {"id": o.id, "number": document_label(o), "approval": enum_label(o.approval)}
            for o in made
        ]
        return {
            "revisions": revision_rows(s.quotes, model),
            "orders": orders,
            "can_make_order": context.can("order.create") and not live,
        }

    def print_document(self, s: crmkit.Session, quote: crmkit.Quote) -> PrintDocument:
        return quote_document(s, quote, user_name(quote.owner_id))
