"""Co-ownership requests (共享申请): anti-collision's way out, through ``session.customers``.

A salesperson blocked from creating a customer someone else works asks to co-own it (the
button on the blocked form posts to :meth:`SharingView.request_co_ownership`). An admin, or
a manager above the owner, grants the request (the requester becomes a co-owner) or refuses
it; the requester may withdraw it while it is pending. crmkit decides who may do what.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs
from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

import crmkit
from admin import context, prefs
from admin.auth import safe_next
from admin.base import user_name, user_names
from admin.i18n import local_time
from admin.views.customers import customer_names

STATUS_LABELS: dict[str, Any] = {
    "pending": _l("Pending"),
    "granted": _l("Granted"),
    "refused": _l("Refused"),
    "withdrawn": _l("Withdrawn"),
}
PAGE = 50
REMEMBERED = 200  # names of customers asked for, kept per user (see ``_remember``)


@attrs.frozen
class RequestRow:
    """One request as the page shows it."""

    id: str
    customer_id: str
    customer: str
    visible: bool  # may the user open the customer?
    requester: str
    owner: str
    note: str
    status: str
    status_label: str
    created: str
    decided: str
    decided_by: str
    decision_note: str


def may_decide() -> bool:
    """Whether the user's role decides requests (admins; managers for their team)."""
    return context.can(crmkit.Permission.SHARING_DECIDE)


class SharingView(BaseView):
    """共享申请: requests to decide first, then the user's own."""

    def is_accessible(self) -> bool:
        return context.has_role(*crmkit.Role)

    @expose("/")
    def index(self) -> ResponseReturnValue:
        status = request.args.get("status", "pending")
        status = status if status in STATUS_LABELS or status == "all" else "pending"
        customer_id = request.args.get("customer_id") or None
        after = request.args.get("after") or None
        mine_after = request.args.get("mine_after") or None
        deciding = may_decide()
        to_decide: list[RequestRow] = []
        mine: list[RequestRow] = []
        next_url = next_mine_url = None
        try:
            with context.work() as s:
                user_names(s)
                if deciding:
                    page = s.customers.co_ownership_requests(
                        status=None if status == "all" else status,
                        customer_id=customer_id,
                        after=after,
                        limit=PAGE,
                    )
                    to_decide = rows(s, page.items)
                    if page.next_after:
                        next_url = url_for(
                            ".index", status=status, customer_id=customer_id, after=page.next_after
                        )
                own = s.customers.co_ownership_requests(mine=True, after=mine_after, limit=PAGE)
                mine = rows(s, own.items)
                if own.next_after:
                    next_mine_url = url_for(".index", status=status, mine_after=own.next_after)
        except crmkit.CRMError as exc:
            flash(str(exc), "error")
        return self.render(
            "crm/sharing.html",
            deciding=deciding,
            to_decide=to_decide,
            mine=mine,
            status=status,
            statuses=STATUS_LABELS,
            customer_id=customer_id,
            next_url=next_url,
            next_mine_url=next_mine_url,
        )

    @expose("/request/", methods=("POST",))
    def request_co_ownership(self) -> ResponseReturnValue:
        """Ask to co-own a customer (from a blocked save's panel)."""
        customer_id = request.form.get("customer_id", "")
        name = request.form.get("name", "").strip()[:200]
        note = request.form.get("note", "").strip()[:500] or None
        done = act(lambda s: s.customers.request_co_ownership(customer_id, note=note))
        if done is not None:
            _remember(done.id, name)
            flash(
                _("You asked to co-own “%(name)s”. A manager decides.", name=name or "—"),
                "success",
            )
        return redirect(url_for(".index"))

    @expose("/grant/", methods=("POST",))
    def grant(self) -> ResponseReturnValue:
        """Grant a pending request: the requester becomes a co-owner."""
        request_id, note = request.form.get("id", ""), request.form.get("note", "")[:500]
        if act(lambda s: s.customers.grant_co_ownership(request_id, note=note or None)):
            flash(_("Granted: the requester now co-owns the customer."), "success")
        return self._back()

    @expose("/refuse/", methods=("POST",))
    def refuse(self) -> ResponseReturnValue:
        """Refuse a pending request: nothing is shared."""
        request_id, note = request.form.get("id", ""), request.form.get("note", "")[:500]
        if act(lambda s: s.customers.refuse_co_ownership(request_id, note=note or None)):
            flash(_("The request is refused."), "success")
        return self._back()

    @expose("/withdraw/", methods=("POST",))
    def withdraw(self) -> ResponseReturnValue:
        """The requester takes back a pending request."""
        request_id = request.form.get("id", "")
        if act(lambda s: s.customers.withdraw_co_ownership(request_id)):
            flash(_("Your request is withdrawn."), "success")
        return self._back()

    def _back(self) -> ResponseReturnValue:
        target = request.form.get("next") or ""
        return redirect(safe_next(target) if target.startswith("/") else url_for(".index"))


def act(
    call: Callable[[crmkit.Session], crmkit.CoOwnershipRequest],
) -> crmkit.CoOwnershipRequest | None:
    """Run one request action as the user. crmkit's refusal (``PermissionDenied``: not the
    owner's superior; ``NotFound``: no such request or customer; ``WorkflowError``: no longer
    pending, or already one's own customer) is shown as a message; nothing is written."""
    try:
        with context.work() as s:
            return call(s)
    except crmkit.CRMError as exc:
        flash(str(exc), "error")
    return None


def rows(s: crmkit.Session, requests: Sequence[crmkit.CoOwnershipRequest]) -> list[RequestRow]:
    """The requests with names: customers the user may open by their name, others by the
    name the user saw when asking (remembered), else a dash."""
    names = customer_names(s, [r.customer_id for r in requests])
    remembered: dict[str, str] = prefs.get("sharing", "names") or {}
    out: list[RequestRow] = []
    for r in requests:
        visible = r.customer_id in names
        out.append(
            RequestRow(
                id=r.id,
                customer_id=r.customer_id,
                customer=names.get(r.customer_id) or remembered.get(r.id) or "—",
                visible=visible,
                requester=user_name(r.requester_id),
                owner=user_name(r.owner_id),
                note=r.note or "",
                status=r.status.value,
                status_label=str(STATUS_LABELS.get(r.status.value, r.status.value)),
                created=local_time(r.created_at),
                decided=local_time(r.decided_at) if r.decided_at else "",
                decided_by=user_name(r.decided_by),
                decision_note=r.decision_note or "",
            )
        )
    return out


def _remember(request_id: str, name: str) -> None:
    """Keep the name the requester saw: they cannot open the customer until granted."""
    if not name:
        return
    names: dict[str, str] = dict(prefs.get("sharing", "names") or {})
    names[request_id] = name
    prefs.put("sharing", "names", dict(list(names.items())[-REMEMBERED:]))
