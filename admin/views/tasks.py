"""待办 and 日程安排, under 跟进: tasks through ``session.tasks``.

**待办** (``/tasks/``): the tasks the user may see (crmkit's scope: their own, their team's
for a manager, those they assigned to someone else, everything for an admin), with tabs —
我的待办 (``view=mine``: theirs to do), 我分派的 (``view=assigned``: created by the user for
someone else), 团队的 (``view=team``: a manager's team, an admin everyone's) — and filters by
status. The form: title, assignee (oneself by default, or anyone active), customer, due
time (``2027-01-05 14:30``, the CRM's zone), 提前提醒天数 and 短信提醒, description; crmkit
validates it all and every refusal is shown beside its field, nothing written. A task's
page has 完成 (``done``), 取消 (``cancel``, a reason required, after a confirmation) and, once
closed, 重新打开 (``reopen``); the workbench's 完成 posts here too and returns there.

**日程安排** (``/tasks/calendar/?month=2027-01``): ``s.tasks.calendar`` as a month grid,
Monday first, each day with its tasks (time, title, status, assignee), the month before and
after a click away, the same tabs as the list.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any, ClassVar

import attrs
from babel.dates import format_skeleton, get_day_names
from flask import flash, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import Form

import crmkit
from admin import context
from admin.auth import safe_next
from admin.base import ListFilter, user_name, user_names
from admin.entity import choice, flag, long_text, number, text
from admin.forms import refusal
from admin.i18n import LOCALES, current_lang, entity_labels, enum_label, local_time, show
from admin.views.customers import enum_pairs
from admin.views.follow_up import form_time
from admin.views.sales import SalesView, customer_choices, customer_name
from admin.views.statistics import month_days

VIEWS = ("mine", "assigned", "team")


def task_statuses() -> list[tuple[str, Any]]:
    return enum_pairs(crmkit.TaskStatus)


def leads_a_team() -> bool:
    """Whether the user has a team's tasks to see: managers and admins."""
    return context.has_role(crmkit.Role.MANAGER, crmkit.Role.ADMIN)


def view_pairs() -> list[tuple[str, Any]]:
    """Whose tasks: the list's tabs (and its filter)."""
    pairs: list[tuple[str, Any]] = [
        ("mine", _l("My tasks")),
        ("assigned", _l("Assigned by me")),
    ]
    if leads_a_team():
        pairs.append(("team", _l("My team's")))
    return pairs


def assignee_pairs() -> list[tuple[str, str]]:
    """Who a task may be given to: every active user (crmkit checks it), the user first."""
    me = context.current_user()
    seen: tuple[crmkit.User, ...] | None = g.get("all_users")
    if seen is None:
        from admin.views.customers import _all_users

        with context.work() as s:
            seen = tuple(_all_users(s))
    others = [u for u in seen if u.active and not u.is_deleted and u.id != me.id]
    ordered = [me, *sorted(others, key=lambda u: u.login)]
    return [(u.id, f"{u.name} ({u.login})") for u in ordered]


def team_ids(s: crmkit.Session) -> list[str] | None:
    """The owners of 团队的: a manager's people (and themselves), None for an admin (all)."""
    me = context.current_user()
    if me.role is crmkit.Role.ADMIN:
        return None
    return [me.id, *(u.id for u in s.users.subordinates(me.id))]


def is_mine_to_follow(task: crmkit.Task, me: str) -> bool:
    """Assigned by ``me`` to someone else."""
    return task.owner_id != me and task.created_by == me


def in_view(view: str, me: str, team: Sequence[str] | None) -> Callable[[crmkit.Task], bool]:
    """Whether a task belongs in the tab ``view`` (for the calendar, which reads them all)."""
    if view == "mine":
        return lambda t: t.owner_id == me
    if view == "assigned":
        return lambda t: is_mine_to_follow(t, me)
    if view == "team":
        return lambda t: team is None or t.owner_id in team
    return lambda _task: True


@attrs.frozen
class CalendarItem:
    id: str
    time: str
    title: str
    status: str
    status_code: str  # a CSS class only
    owner: str  # empty when it is the user's own
    overdue: bool


@attrs.frozen
class CalendarDay:
    day: date
    number: int
    in_month: bool
    today: bool
    items: tuple[CalendarItem, ...]


class TaskView(SalesView):
    """待办: the list with its tabs, the form, a task's page with its moves, the calendar."""

    service_name = "tasks"
    permission = "task"
    statuses = task_statuses
    list_fields = (
        "title", "due_at", "status", "owner_id", "customer_id", "watchers", "remind_at",
        "remind_sms", "done_at", "cancel_reason", "created_at",
    )  # fmt: skip
    default_columns = list_fields[:7]
    detail_fields = (
        "title", "status", "due_at", "owner_id", "watchers", "customer_id", "description",
        "remind_days", "remind_at", "remind_sms", "done_at", "cancel_reason", "created_at",
        "updated_at",
    )  # fmt: skip
    field_labels: ClassVar[Mapping[str, Any]] = {
        # crmkit names a task's ``title`` as a contact's (职务); a task's is its subject
        "title": _l("Subject"),
        **entity_labels(
            "task", "owner_id", "status", "due_at", "remind_days", "remind_at", "remind_sms",
            "done_at", "cancel_reason", "watchers", "description",
        ),
    }  # fmt: skip
    form_fields = (
        text("title"),
        choice("owner_id", assignee_pairs, name_of=user_name, label=_l("Assignee")),
        choice("customer_id", customer_choices, name_of=customer_name),
        text("due_at", description=_l("e.g. 2026-06-30 14:30")),
        number("remind_days", description=_l("Days ahead (0: on the day); empty: no reminder")),
        flag("remind_sms", description=_l("Text the assignee when the reminder comes")),
        long_text("description"),
    )
    list_template = "crm/task_list.html"
    details_template = "crm/task_details.html"

    # -- the list ---------------------------------------------------------------------------
    def list_filters(self) -> list[ListFilter]:
        return [ListFilter("view", _l("Whose"), view_pairs), *super().list_filters()]

    def service_filters(self, s: crmkit.Session, filters: Mapping[str, str]) -> dict[str, Any]:
        found: dict[str, Any] = {k: v for k, v in filters.items() if k != "view"}
        me = context.current_user().id
        view = filters.get("view")
        if view == "mine":
            found["owner_id"] = me
        elif view == "assigned":  # created by ``me`` for someone else
            found["created_by"] = me
            found["owner_id__ne"] = me
        elif view == "team":
            team = team_ids(s)
            if team is not None:
                found["owner_id__in"] = team
        return found

    def list_context(self, s: crmkit.Session, filters: Mapping[str, str]) -> dict[str, Any]:
        rest = {k: v for k, v in filters.items() if k != "view"}
        tabs = [("", _("All"), self.list_url(rest))]
        tabs += [(v, str(label), self.list_url(rest, view=v)) for v, label in view_pairs()]
        return {
            "view_tabs": tabs,
            "view_active": filters.get("view", ""),
            "calendar_url": url_for(".calendar", view=filters.get("view") or None),
        }

    def show_due_at(self, model: crmkit.Task) -> str:
        return local_time(model.due_at)

    def show_watchers(self, model: crmkit.Task) -> str:
        return show([user_name(u) for u in model.watchers])

    def show_title(self, model: crmkit.Task) -> str:
        return model.title

    # -- the forms --------------------------------------------------------------------------
    def form_data(self, model: Any) -> dict[str, Any]:
        data = super().form_data(model)
        data["due_at"] = form_time(model.due_at)
        return data

    def create_form(self, obj: Any = None) -> Form:
        form = super().create_form(obj)
        if request.method == "GET":
            form.owner_id.data = context.current_user().id
            customer = request.args.get("customer_id", "")[:60]
            if customer:
                form.customer_id.data = customer
        return form

    def changes(self, form: Form, model: Any | None) -> dict[str, Any]:
        fields = super().changes(form, model)
        if model is None and not fields.get("remind_sms"):
            fields.pop("remind_sms", None)
        return fields

    # -- the page and its moves -------------------------------------------------------------
    def details_context(self, s: crmkit.Session, model: Any) -> dict[str, Any]:
        task: crmkit.Task = model
        may = context.can("task.write")
        is_open = task.status is crmkit.TaskStatus.OPEN
        return {
            "may": {"close": may and is_open, "reopen": may and not is_open},
            "customer_link": task.customer_id if customer_name(task.customer_id) else "",
            "calendar_month": form_time(task.due_at)[:7],
            "cancel_errors": [],
            "cancel_reason": "",
        }

    def _back(self) -> str:
        target = request.form.get("next") or ""
        if target.startswith("/"):
            return safe_next(target)
        return url_for(".details_view", id=request.form.get("id", ""))

    def _move(self, call: Callable[[crmkit.Session], Any], done: str) -> ResponseReturnValue:
        try:
            with context.work() as s:
                call(s)
        except crmkit.ValidationError as exc:
            flash(exc.message(), "error")
        except crmkit.CRMError as exc:
            flash(refusal(exc, request.form.get("name", "")[:200]), "error")
        else:
            flash(done, "success")
        return redirect(self._back())

    @expose("/done/", methods=("POST",))
    def done(self) -> ResponseReturnValue:
        """完成: the task done (crmkit refuses one already closed)."""
        id, version = request.form.get("id", ""), self.version()
        return self._move(lambda s: s.tasks.done(id, version=version), _("The task is done."))

    @expose("/reopen/", methods=("POST",))
    def reopen(self) -> ResponseReturnValue:
        id, version = request.form.get("id", ""), self.version()
        return self._move(
            lambda s: s.tasks.reopen(id, version=version), _("The task is open again.")
        )

    @expose("/cancel/", methods=("POST",))
    def cancel(self) -> ResponseReturnValue:
        """取消, for a reason: without one crmkit refuses, and its message is shown under
        the reason on the task's page (nothing written)."""
        id, version = request.form.get("id", ""), self.version()
        reason = request.form.get("reason", "").strip()[:500]
        try:
            with context.work() as s:
                s.tasks.cancel(id, reason=reason, version=version)
        except crmkit.ValidationError as exc:
            flash(exc.message(), "error")
            return self.details_page(
                id, cancel_errors=[e.message() for e in exc.errors], cancel_reason=reason
            )
        except crmkit.CRMError as exc:
            flash(refusal(exc, request.form.get("name", "")[:200]), "error")
        else:
            flash(_("The task is cancelled."), "success")
        return redirect(self._back())

    # -- 日程安排 -----------------------------------------------------------------------------
    @expose("/calendar/")
    def calendar(self) -> ResponseReturnValue:
        """The month's tasks by day, Monday first (``month=2027-01``; this month by
        default), in the tab ``view``."""
        raw = request.args.get("month", "").strip()[:20]
        view = request.args.get("view", "")
        view = view if view in dict(view_pairs()) else ""
        me = context.current_user().id
        with context.work() as s:
            today = s.today()
            first = month_days(raw, last=False) if raw else None
            if not isinstance(first, date):
                if raw:
                    flash(_("“%(month)s” is not a month (e.g. 2027-01).", month=raw), "error")
                first = today.replace(day=1)
            following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
            start = first - timedelta(days=first.weekday())
            end = following - timedelta(days=1)
            end += timedelta(days=6 - end.weekday())
            days = s.tasks.calendar(start, end)
            keep = in_view(view, me, team_ids(s) if view == "team" else None)
            user_names(s)
            now = s.now()
        weeks: list[list[CalendarDay]] = []
        day = start
        while day <= end:
            items = tuple(
                CalendarItem(
                    id=t.id,
                    time=local_time(t.due_at)[-5:],
                    title=t.title,
                    status=enum_label(t.status),
                    status_code=t.status.value,
                    owner="" if t.owner_id == me else user_name(t.owner_id),
                    overdue=t.status is crmkit.TaskStatus.OPEN and t.due_at <= now,
                )
                for t in days.get(day, [])
                if keep(t)
            )
            if day.weekday() == 0:
                weeks.append([])
            weeks[-1].append(
                CalendarDay(day, day.day, day.month == first.month, day == today, items)
            )
            day += timedelta(days=1)
        locale = LOCALES[current_lang()]
        names = get_day_names("abbreviated", locale=locale)
        before = (first - timedelta(days=1)).replace(day=1)
        tabs = [("", _("All"), url_for(".calendar", month=first.strftime("%Y-%m")))]
        tabs += [
            (v, str(label), url_for(".calendar", month=first.strftime("%Y-%m"), view=v))
            for v, label in view_pairs()
        ]
        return self.render(
            "crm/task_calendar.html",
            title=format_skeleton("yMMMM", first, locale=locale),
            weekdays=[names[i] for i in range(7)],
            weeks=weeks,
            month=first.strftime("%Y-%m"),
            view_tabs=tabs,
            view_active=view,
            previous_url=url_for(".calendar", month=before.strftime("%Y-%m"), view=view or None),
            next_url=url_for(".calendar", month=following.strftime("%Y-%m"), view=view or None),
            this_month_url=url_for(".calendar", view=view or None),
            list_url=url_for(".index_view", view=view or None),
            total=sum(len(d.items) for w in weeks for d in w if d.in_month),
        )


__all__ = ["TaskView"]
