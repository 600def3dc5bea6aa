"""审批: the approval inbox (待我审批) and a document's approval trail, through
``session.approvals``.

The inbox lists ``s.approvals.inbox()`` — the pending steps the user may decide, oldest
first, in keyset pages — each with its document's number (linked to the order), customer,
amount, submitter, step and submission time, and one small form: an optional comment and
同意 / 驳回 (a rejection needs a reason: crmkit says so when it is missing). The same form
shows on an order's page when the user may decide its pending step. crmkit decides who may
decide what; its refusals — not the user's step, decided by someone else meanwhile, a
document changed since it was submitted — come back as messages in the user's language,
nothing changed.

The menu item carries how many steps await the user (``s.approvals.inbox_count()``, read
once per page).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
from flask import flash, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import BaseView, expose
from flask_babel import LazyString
from flask_babel import gettext as _

import crmkit
from admin import context
from admin.auth import safe_next
from admin.base import user_name, user_names
from admin.forms import refusal
from admin.i18n import current_lang, enum_label, local_time, money
from admin.views.customers import customer_names
from crmkit import display

PAGE = 50


def step_label(step: crmkit.Step) -> str:
    """A step's name in the request's language (``crmkit.display.step_label``)."""
    return display.step_label(step, current_lang())


def decider_name(token: str | None) -> str:
    """Who may decide a pending step, for people: ``user:<id>`` is that user (or anyone
    above them), ``role:finance`` the role's holders."""
    kind, _sep, value = (token or "").partition(":")
    if kind == "user":
        return user_name(value)
    if kind == "role" and value in {r.value for r in crmkit.Role}:
        return enum_label(crmkit.Role(value))
    return ""


@attrs.frozen
class StepRow:
    """One step of an approval as its trail shows it."""

    label: str
    who: str  # who decided it, or who may while it waits
    decision: str
    outcome: str  # approve / reject / waiting / none: the row's CSS class
    comment: str
    at: str


@attrs.frozen
class TrailRow:
    """One submission of a document revision and its way through the chain."""

    number: str
    submitted_by: str
    submitted_at: str
    amount: str
    status: str
    steps: tuple[StepRow, ...]


def trail(s: crmkit.Session, approvals: Sequence[crmkit.Approval]) -> list[TrailRow]:
    """A document's approvals (``s.approvals.for_document``, oldest first), each step with
    its label, decider, decision, comment and time (Beijing time)."""
    user_names(s)
    out: list[TrailRow] = []
    for a in approvals:
        steps: list[StepRow] = []
        for i, step in enumerate(a.steps):
            if i < len(a.decisions):
                d = a.decisions[i]
                steps.append(
                    StepRow(
                        step_label(step), user_name(d.decided_by), enum_label(d.decision),
                        d.decision.value, d.comment or "", local_time(d.at),
                    )
                )  # fmt: skip
            elif a.current is not None and i == len(a.decisions):
                who = decider_name(a.decider)
                steps.append(
                    StepRow(step_label(step), who, _("Awaiting decision"), "waiting", "", "")
                )
            else:
                steps.append(StepRow(step_label(step), "", "—", "none", "", ""))
        out.append(
            TrailRow(
                number=a.document_number or "",
                submitted_by=user_name(a.submitter_id),
                submitted_at=local_time(a.created_at),
                amount=money(a.amount),
                status=enum_label(a.status),
                steps=tuple(steps),
            )
        )
    return out


def awaiting_me(s: crmkit.Session, document_id: str) -> crmkit.Approval | None:
    """The document's approval whose pending step the user may decide, if any."""
    pending = s.approvals.pending(document_id)
    return pending if pending is not None and s.approvals.may_decide(pending) else None


@attrs.frozen
class InboxRow:
    """One step awaiting the user, as the inbox shows it."""

    step_id: str
    url: str  # the document's page ("" for a type the admin has no page for)
    number: str
    customer: str
    amount: str
    submitter: str
    step: str
    submitted: str


def inbox_rows(s: crmkit.Session, approvals: Sequence[crmkit.Approval]) -> list[InboxRow]:
    user_names(s)
    names = customer_names(s, [a.customer_id for a in approvals if a.customer_id])
    rows: list[InboxRow] = []
    for a in approvals:
        current = a.current
        rows.append(
            InboxRow(
                step_id=a.step_id or "",
                url=(
                    url_for("orders.details_view", id=a.document_id)
                    if a.document_type == "order"
                    else ""
                ),
                number=a.document_number or "",
                customer=names.get(a.customer_id or "", "—"),
                amount=money(a.amount),
                submitter=user_name(a.submitter_id),
                step=step_label(current) if current is not None else "",
                submitted=local_time(a.created_at),
            )
        )
    return rows


def inbox_count() -> int:
    """How many steps await the logged-in user (read once per request; 0 on a failure:
    a menu must not break a page)."""
    cached: int | None = g.get("inbox_count")
    if cached is None:
        try:
            with context.work() as s:
                cached = s.approvals.inbox_count()
        except crmkit.CRMError:
            cached = 0
        g.inbox_count = cached
    return cached


def waiting_for_me() -> int:
    """The steps awaiting the logged-in user (0 when nobody is, or they may not read
    approvals), for the frame's badge."""
    if g.get("user") is None or not context.can("approval.read"):
        return 0
    return inbox_count()


def menu_name() -> str:
    """The inbox's menu item: 待我审批, with the count when steps are waiting."""
    name = _("My approvals")
    if g.get("user") is None:
        return name
    waiting = inbox_count()
    return f"{name} ({waiting})" if waiting else name


class ApprovalView(BaseView):
    """待我审批: the steps awaiting the user, with 同意 / 驳回; the decisions' routes, which
    the order page's form posts to as well."""

    def __init__(self, endpoint: str, category: str | None = None) -> None:
        super().__init__(name=LazyString(menu_name), endpoint=endpoint, category=category)

    def is_accessible(self) -> bool:
        return g.get("user") is not None and context.can("approval.read")

    @expose("/")
    def index(self) -> ResponseReturnValue:
        after = request.args.get("after") or None
        rows: list[InboxRow] = []
        next_url = None
        try:
            with context.work() as s:
                page = s.approvals.inbox(after=after, limit=PAGE)
                rows = inbox_rows(s, page.items)
                if page.next_after:
                    next_url = url_for(".index", after=page.next_after)
        except crmkit.CRMError as exc:
            flash(refusal(exc), "error")
        return self.render(
            "crm/approvals.html",
            rows=rows,
            next_url=next_url,
            first_url=url_for(".index") if after else None,
        )

    @expose("/approve/", methods=("POST",))
    def approve(self) -> ResponseReturnValue:
        """Approve a step, with an optional comment."""
        comment = request.form.get("comment", "").strip()[:500] or None
        return self._decide(lambda s, step: s.approvals.approve(step, comment=comment))

    @expose("/reject/", methods=("POST",))
    def reject(self) -> ResponseReturnValue:
        """Reject a step: the comment is the reason, which crmkit requires."""
        reason = request.form.get("comment", "").strip()[:500]
        return self._decide(lambda s, step: s.approvals.reject(step, reason=reason))

    def _decide(self, call: Any) -> ResponseReturnValue:
        step = request.form.get("step_id", "")
        number = request.form.get("number", "")[:60]
        try:
            with context.work() as s:
                decided: crmkit.Approval = call(s, step)
        except crmkit.ValidationError as exc:
            flash(exc.message(), "error")
        except crmkit.PermissionDenied:
            # crmkit's message names the user by id and the step in Chinese only
            flash(_("You may not decide this step of %(number)s.", number=number), "error")
        except crmkit.CRMError as exc:
            flash(refusal(exc, number), "error")
        else:
            flash(decided_message(decided), "success")
        target = request.form.get("next") or ""
        return redirect(safe_next(target) if target.startswith("/") else url_for(".index"))


def decided_message(approval: crmkit.Approval) -> str:
    """What a decision did, for the flash message."""
    number = approval.document_number or ""
    if approval.status is crmkit.ApprovalStatus.APPROVED:
        return _("%(number)s is approved.", number=number)
    if approval.status is crmkit.ApprovalStatus.REJECTED:
        return _("%(number)s is rejected and goes back to its author.", number=number)
    current = approval.current
    step = step_label(current) if current is not None else ""
    return _("Approved; %(number)s goes on to %(step)s.", number=number, step=step)
