"""SFA方案 and SFA执行序列, under 跟进: follow-up that runs by itself, through ``session.sfa``.

**SFA方案** (``/sfa_plans/``, :class:`SfaPlanView`): the plans everyone shares — their kind
(定期, 循环, 定时), steps and whether they run. Admins and managers keep them: the editor
(``/sfa_plans/new/``, ``/sfa_plans/edit/``) has the plan's fields and a table of steps —
action (短信, 邮件, 手动事务), how its day is counted (天, 工作日, 日期, 生日) and the
days, the date, the time, the template (``sfa_plan_form.js`` offers the action's channel's)
or the task's title — with rows added and removed in place (the same buttons post the form
without scripts; nothing is saved until 保存). crmkit checks every step; each refusal comes
back under its cell and is listed as ``步骤 2 · 间隔天数：不是整数天数``. A plan's page has
启用 / 停用, its steps in words and the way to its enrolments.

**SFA执行序列** (``/sfa_enrolments/``, :class:`SfaEnrolmentView`): the customers in plans
(per plan, customer or status) with the next step and when it falls due, what was executed
and skipped. An enrolment's page lists its runs and has 暂停, 继续 (skipping what fell due
meanwhile, or sending it now), 跳过下一步, 停止 and 重新执行 a step. 启用SFA方案
(``/sfa_enrolments/enrol/``, also from a customer's page) enrols chosen customers, or those of
a region, a tag or a salesperson, from a day (an earlier one starts them mid-way: 中途启用)
and a step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import attrs
from flask import abort, flash, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import BaseView, expose
from flask_admin.helpers import get_redirect_target
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

import crmkit
from admin import context
from admin.auth import safe_next
from admin.base import ListFilter, query_args
from admin.entity import EntityModelView, choice, flag, long_text, text
from admin.forms import refusal
from admin.i18n import (
    catalogue_text,
    current_lang,
    entity_labels,
    enum_label,
    local_time,
    show,
)
from admin.views.customers import customer_names, enum_pairs
from admin.views.follow_up import aside
from admin.views.messaging import template_options
from admin.views.receivables import salesperson_pairs
from admin.views.sales import customer_choices

STEP_FIELDS = ("action", "unit", "offset", "on", "at", "template", "title")
PLAN_FIELDS = ("name", "kind", "cycle_days", "rounds", "marketing", "description")
MAX_STEPS = 50  # rows read from one posted plan (crmkit's own limit)
ENROLMENT_PAGE = 50
CUSTOMER_ENROLMENTS = 20


# -- words for plans and steps --------------------------------------------------------------
def kind_pairs() -> list[tuple[str, Any]]:
    return enum_pairs(crmkit.PlanKind)


def status_pairs() -> list[tuple[str, Any]]:
    return enum_pairs(crmkit.EnrolmentStatus)


def step_labels() -> dict[str, str]:
    """The step table's headers, in the request's language: crmkit's field names, and the
    admin's where crmkit's word means something else (a product's 单位, a contact's 职务).

    crmkit labels a step's field only with its number (``steps.2.title``: 步骤 2 · 事务标题,
    as the error lines read); a column has none, so the two headers stay the admin's."""
    words = {f: str(label) for f, label in entity_labels("sfa_plan", *STEP_FIELDS).items()}
    words["unit"] = _("Counted in")
    words["title"] = _("Task title")
    return words


def step_name(number: int) -> str:
    return _("Step %(n)s", n=number)


def sep() -> str:
    return "：" if current_lang() == "zh" else ": "


def shifted(when: str, days: int) -> str:
    """A day moved by ``days``: ``春节前 3 天`` / ``Spring Festival, 3 days before``."""
    if days < 0:
        return _("%(when)s, %(n)s days before", when=when, n=-days)
    if days > 0:
        return _("%(when)s, %(n)s days after", when=when, n=days)
    return when


def timing(step: crmkit.SfaStep) -> str:
    """When a step falls, in words: ``开始后 3 个工作日 09:00``, ``生日当天 09:00``."""
    at = step.at.strftime("%H:%M")
    if step.unit is crmkit.OffsetUnit.DAYS:
        day = (
            _("On the start day")
            if step.offset == 0
            else _("%(n)s days after the start", n=step.offset)
        )
    elif step.unit is crmkit.OffsetUnit.WORKDAYS:
        day = _("%(n)s working days after the start", n=step.offset)
    elif step.unit is crmkit.OffsetUnit.BIRTHDAY:
        day = _("On the birthday") if step.offset == 0 else shifted(_("Birthday"), step.offset)
    else:
        on = step.on or ""
        yearly = on.count("-") == 1
        day = shifted(_("Every year on %(on)s", on=on) if yearly else on, step.offset)
    return f"{day} {at}"


def step_summary(step: crmkit.SfaStep, templates: Mapping[str, str]) -> str:
    """What a step does: ``发送短信：生日祝福`` / ``手动事务：电话回访``."""
    what = (
        step.title
        if step.action is crmkit.StepAction.TASK
        else templates.get(step.template or "", step.template or "")
    )
    return f"{enum_label(step.action)}{sep()}{what}" if what else enum_label(step.action)


def template_names(s: crmkit.Session) -> dict[str, str]:
    from admin.views.messaging import template_names as names

    return names(s)


def plans_by_id(s: crmkit.Session) -> dict[str, crmkit.SfaPlan]:
    """Every plan the user may read, by id (cached per request)."""
    cached: dict[str, crmkit.SfaPlan] | None = g.get("sfa_plans")
    if cached is None:
        found = s.sfa.list(limit=500, deleted="include").items
        cached = {p.id: p for p in found}
        g.sfa_plans = cached
    return cached


def plan_pairs(s: crmkit.Session, *, enabled_only: bool = False) -> list[tuple[str, str]]:
    """``(id, name)`` of the live plans (those that run, with ``enabled_only``)."""
    plans = [p for p in plans_by_id(s).values() if not p.is_deleted]
    if enabled_only:
        plans = [p for p in plans if p.enabled]
    return [(p.id, p.name) for p in sorted(plans, key=lambda p: p.name)]


def next_step_text(enrolment: crmkit.SfaEnrolment, plan: crmkit.SfaPlan | None) -> str:
    """The next occurrence: ``步骤 2 · 发送短信`` (and its round in a repeating plan)."""
    if enrolment.next_step is None:
        return ""
    text = step_name(enrolment.next_step + 1)
    if plan is not None and enrolment.next_step < len(plan.steps):
        text += " · " + enum_label(plan.steps[enrolment.next_step].action)
    if (
        plan is not None
        and plan.kind is not crmkit.PlanKind.PERIODIC
        and enrolment.next_round is not None
    ):
        text += aside(_("round %(n)s", n=enrolment.next_round + 1))
    return text


# -- SFA方案 ---------------------------------------------------------------------------------
@attrs.frozen
class StepRow:
    """One row of the step table: what was typed and crmkit's errors on it."""

    values: Mapping[str, str]
    errors: Mapping[str, Sequence[str]] = attrs.field(factory=dict)


def blank_step() -> dict[str, str]:
    return {
        "action": crmkit.StepAction.SMS.value,
        "unit": crmkit.OffsetUnit.DAYS.value,
        "offset": "0",
        "on": "",
        "at": "09:00",
        "template": "",
        "title": "",
    }


def step_values(step: crmkit.SfaStep) -> dict[str, str]:
    return {
        "action": step.action.value,
        "unit": step.unit.value,
        "offset": str(step.offset),
        "on": step.on or "",
        "at": step.at.strftime("%H:%M"),
        "template": step.template or "",
        "title": step.title or "",
    }


def posted_steps() -> list[dict[str, str]]:
    """The step table's rows as posted (each row has every column), in order."""
    columns = {f: request.form.getlist(f"step_{f}") for f in STEP_FIELDS}
    count = min(max(len(v) for v in columns.values()), MAX_STEPS + 1)
    return [
        {f: (columns[f][i] if i < len(columns[f]) else "").strip()[:200] for f in STEP_FIELDS}
        for i in range(count)
    ]


def step_input(row: Mapping[str, str]) -> dict[str, str]:
    """A row as crmkit reads a step: an empty offset or time is left to crmkit's default
    (0 days, 09:00)."""
    return {f: v for f, v in row.items() if v or f not in ("offset", "at")}


def plan_values(plan: crmkit.SfaPlan | None) -> dict[str, str]:
    if plan is None:
        return {
            "name": "", "kind": crmkit.PlanKind.PERIODIC.value, "cycle_days": "", "rounds": "",
            "marketing": "", "description": "", "version": "",
        }  # fmt: skip
    return {
        "name": plan.name,
        "kind": plan.kind.value,
        "cycle_days": str(plan.cycle_days or ""),
        "rounds": str(plan.rounds or ""),
        "marketing": "1" if plan.marketing else "",
        "description": plan.description or "",
        "version": str(plan.version),
    }


def posted_plan() -> dict[str, str]:
    values = {f: request.form.get(f, "").strip()[:1000] for f in PLAN_FIELDS}
    values["marketing"] = "1" if request.form.get("marketing") else ""
    values["version"] = request.form.get("version", "")[:12]
    return values


def step_errors(
    errors: Sequence[crmkit.FieldError], count: int
) -> tuple[dict[int, dict[str, list[str]]], dict[str, list[str]], list[str]]:
    """crmkit's errors split: on the step rows (``steps.2.offset`` → row 1, ``offset``), on
    the plan's fields, and the summary lines, labelled by crmkit (``步骤 2 · 间隔天数：不是整数
    天数``)."""
    on_rows: dict[int, dict[str, list[str]]] = {}
    on_fields: dict[str, list[str]] = {}
    lines: list[str] = []
    for e in errors:
        parts = e.field.split(".")
        if parts[0] == "steps" and len(parts) >= 2 and parts[1].isdigit():
            number = int(parts[1])
            if len(parts) == 2:  # a whole step: crmkit labels it by its number alone
                lines.append(f"{step_name(number)}{sep()}{e.message()}")
            else:
                lines.append(e.describe(entity="sfa_plan"))
            if 0 < number <= count:
                leaf = parts[2] if len(parts) > 2 and parts[2] in STEP_FIELDS else "action"
                on_rows.setdefault(number - 1, {}).setdefault(leaf, []).append(e.message())
                continue
        else:
            lines.append(e.describe(entity="sfa_plan"))
        if parts[0] in (*PLAN_FIELDS, "steps"):
            on_fields.setdefault(parts[0], []).append(e.message())
        else:
            on_fields.setdefault("name", []).append(e.describe(entity="sfa_plan"))
    return on_rows, on_fields, lines


class SfaPlanView(EntityModelView):
    """SFA方案: the plans (everyone reads them; admins and managers keep them)."""

    service_name = "sfa"
    permission = "sfa_plan"
    searchable = True
    search_placeholder = _l("Plan name")
    list_fields = (
        "name", "kind", "steps", "enabled", "marketing", "cycle_days", "rounds", "description",
        "created_at", "updated_at",
    )  # fmt: skip
    default_columns = list_fields[:5]
    detail_fields = (
        "name", "kind", "enabled", "marketing", "cycle_days", "rounds", "description",
        "created_at", "updated_at",
    )  # fmt: skip
    filter_fields = ("kind", "enabled")
    field_labels: ClassVar[Mapping[str, Any]] = entity_labels("sfa_plan", *list_fields)
    form_fields = (
        text("name"),
        choice("kind", kind_pairs),
        text("cycle_days"),
        text("rounds"),
        flag("enabled"),
        flag("marketing"),
        long_text("description"),
    )
    details_template = "crm/sfa_plan_details.html"

    def show_kind(self, plan: crmkit.SfaPlan) -> str:
        return enum_label(plan.kind)

    def show_steps(self, plan: crmkit.SfaPlan) -> str:
        return _("%(n)s steps", n=len(plan.steps))

    # -- the page -------------------------------------------------------------------------
    def details_context(self, s: crmkit.Session, model: Any) -> dict[str, Any]:
        plan: crmkit.SfaPlan = model
        names = template_names(s)
        may_write = context.can("sfa_plan.write")
        return {
            "step_label": entity_labels("sfa_run", "step")["step"],
            "steps": [
                {
                    "number": n,
                    "action": enum_label(step.action),
                    "timing": timing(step),
                    "what": step_summary(step, names),
                }
                for n, step in enumerate(plan.steps, start=1)
            ],
            "may": {
                "enable": may_write and not plan.enabled,
                "disable": may_write and plan.enabled,
                "enrol": plan.enabled and context.can("sfa_enrolment.create"),
            },
        }

    @expose("/enable/", methods=("POST",))
    def enable(self) -> ResponseReturnValue:
        """启用: the plan's steps run again (those that fell due meanwhile stay missed)."""
        return self.switch(lambda s, id: s.sfa.enable(id), _("The plan runs."))

    @expose("/disable/", methods=("POST",))
    def disable(self) -> ResponseReturnValue:
        """停用: the plan's steps stop; those that fall due meanwhile are missed."""
        return self.switch(
            lambda s, id: s.sfa.disable(id), _("The plan is stopped: its steps do not run.")
        )

    def switch(self, call: Callable[[crmkit.Session, str], Any], done: str) -> ResponseReturnValue:
        id = request.form.get("id", "")[:60]
        try:
            with context.work() as s:
                call(s, id)
        except crmkit.CRMError as exc:
            flash(refusal(exc, request.form.get("name", "")[:100]), "error")
        else:
            flash(done, "success")
        return redirect(url_for(".details_view", id=id))

    # -- the editor ------------------------------------------------------------------------
    @expose("/new/", methods=("GET", "POST"))
    def create_view(self) -> ResponseReturnValue:
        """A new plan: its fields and one step to start from."""
        if not self.can_create:
            abort(403)
        return self.editor(None)

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self) -> ResponseReturnValue:
        """A plan's fields and steps; enrolments follow the new steps from their next one."""
        if not self.can_edit:
            abort(403)
        plan = self.get_one(request.args.get("id") or abort(404))
        return self.editor(plan)

    def editor(self, plan: crmkit.SfaPlan | None) -> ResponseReturnValue:
        if request.method == "GET":
            rows = [StepRow(step_values(step)) for step in plan.steps] if plan else []
            return self.editor_page(plan, plan_values(plan), rows or [StepRow(blank_step())])
        values = posted_plan()
        typed = posted_steps()
        if request.form.get("add_step"):  # without scripts: one more row, nothing saved
            rows = [StepRow(v) for v in typed][:MAX_STEPS]
            return self.editor_page(plan, values, [*rows, StepRow(blank_step())][:MAX_STEPS])
        remove = request.form.get("remove_step", "")
        if remove.isdigit():
            kept = [StepRow(v) for i, v in enumerate(typed) if i != int(remove)]
            return self.editor_page(plan, values, kept or [StepRow(blank_step())])
        fields: dict[str, Any] = {
            "name": values["name"],
            "kind": values["kind"],
            "cycle_days": values["cycle_days"] or None,
            "rounds": values["rounds"] or None,
            "marketing": bool(values["marketing"]),
            "description": values["description"] or None,
            "steps": [step_input(row) for row in typed],
        }
        try:
            with context.work() as s:
                if plan is None:
                    saved = s.sfa.create_plan(**fields)
                else:
                    version = int(values["version"]) if values["version"].isdigit() else None
                    saved = s.sfa.update_plan(plan.id, version, **fields)
        except crmkit.ValidationError as exc:
            on_rows, on_fields, lines = step_errors(exc.errors, len(typed))
            flash(_("The plan is not saved: correct the marked fields."), "error")
            for line in lines:
                flash(line, "error")
            rows = [StepRow(v, on_rows.get(i, {})) for i, v in enumerate(typed)]
            return self.editor_page(plan, values, rows or [StepRow(blank_step())], on_fields)
        except crmkit.ConcurrencyError as exc:
            flash(exc.message(), "error")
            return self.editor_page(plan, values, [StepRow(v) for v in typed])
        except crmkit.CRMError as exc:
            flash(refusal(exc, values["name"]), "error")
            return self.editor_page(plan, values, [StepRow(v) for v in typed])
        flash(_("The plan “%(name)s” is saved.", name=saved.name), "success")
        return redirect(url_for(".details_view", id=saved.id))

    def editor_page(
        self,
        plan: crmkit.SfaPlan | None,
        values: Mapping[str, str],
        rows: Sequence[StepRow],
        errors: Mapping[str, list[str]] | None = None,
    ) -> ResponseReturnValue:
        with context.work() as s:
            templates = template_options(s)
        labels = {f: str(self.label(f)) for f in PLAN_FIELDS}
        return self.render(
            "crm/sfa_plan_form.html",
            plan=plan,
            values=values,
            rows=list(rows),
            blank=StepRow(blank_step()),
            errors=errors or {},
            labels=labels,
            step_labels=step_labels(),
            kinds=[(v, str(label)) for v, label in kind_pairs()],
            actions=[(v, str(label)) for v, label in enum_pairs(crmkit.StepAction)],
            units=[(v, str(label)) for v, label in enum_pairs(crmkit.OffsetUnit)],
            templates=[
                {**t, "label": t["name"] + aside(enum_label(crmkit.Channel(t["channel"])))}
                for t in templates
            ],
            max_steps=MAX_STEPS,
            return_url=get_redirect_target() or url_for(".index_view"),
        )


# -- SFA执行序列 -------------------------------------------------------------------------------
@attrs.frozen
class EnrolmentRow:
    id: str
    customer_id: str
    customer: str
    plan_id: str
    plan: str
    status: str
    status_code: str  # a CSS class only
    next_step: str
    next_due: str
    executed: int
    skipped: int
    started: str
    version: int


@attrs.frozen
class RunRow:
    due: str
    step: str
    action: str
    outcome: str
    outcome_code: str  # a CSS class only
    detail: str  # why a run failed or was missed, in the reader's language
    recorded: str
    task_id: str


def enrolment_rows(s: crmkit.Session, found: Sequence[crmkit.SfaEnrolment]) -> list[EnrolmentRow]:
    plans = plans_by_id(s)
    names = customer_names(s, [e.customer_id for e in found])
    rows = []
    for e in found:
        plan = plans.get(e.plan_id)
        rows.append(
            EnrolmentRow(
                id=e.id,
                customer_id=e.customer_id,
                customer=names.get(e.customer_id, ""),
                plan_id=e.plan_id,
                plan=plan.name if plan else "",
                status=enum_label(e.status),
                status_code=e.status.value,
                next_step=next_step_text(e, plan),
                next_due=local_time(e.next_due_at) if e.next_due_at else "",
                executed=e.executed,
                skipped=e.skipped,
                started=show(e.anchor),
                version=e.version,
            )
        )
    return rows


def customer_enrolments(s: crmkit.Session, customer_id: str) -> list[EnrolmentRow]:
    """The customer's enrolments (the customer page)."""
    if not context.can("sfa_enrolment.read"):
        return []
    page = s.sfa.enrolments(customer_id=customer_id, limit=CUSTOMER_ENROLMENTS)
    return enrolment_rows(s, page.items)


def pending_task_rows(s: crmkit.Session) -> list[Any]:
    """待SFA手动事务: the open manual tasks SFA steps made for the user (and their team)."""
    from admin.views.follow_up import reminder_rows

    if not context.can("task.read"):
        return []
    return reminder_rows(s, s.sfa.pending_tasks())


ENROL_FIELDS = ("plan_id", "customer_ids", "region", "tag", "owner_id", "anchor", "start_step")


class SfaEnrolmentView(BaseView):
    """SFA执行序列: the list, an enrolment's page with its runs and moves, 启用SFA方案."""

    def is_accessible(self) -> bool:
        return g.get("user") is not None and context.can("sfa_enrolment.read")

    # -- the list ---------------------------------------------------------------------------
    @expose("/")
    def index(self) -> ResponseReturnValue:
        """Enrolments by plan, status and customer, newest first (keyset pages)."""
        plan_id = request.args.get("plan_id", "")[:60]
        status = request.args.get("status", "")
        status = status if status in {s.value for s in crmkit.EnrolmentStatus} else ""
        customer_id = request.args.get("customer_id", "")[:60]
        after = request.args.get("after") or None
        with context.work() as s:
            page = s.sfa.enrolments(
                plan_id=plan_id or None,
                customer_id=customer_id or None,
                status=status or None,
                after=after,
                limit=ENROLMENT_PAGE,
            )
            rows = enrolment_rows(s, page.items)
            plans = plan_pairs(s)
            customer = customer_names(s, [customer_id]).get(customer_id, "") if customer_id else ""
        active = {
            k: v
            for k, v in (("plan_id", plan_id), ("status", status), ("customer_id", customer_id))
            if v
        }
        return self.render(
            "crm/sfa_enrolments.html",
            rows=rows,
            filters=[
                ListFilter(
                    "plan_id", entity_labels("sfa_enrolment", "plan_id")["plan_id"], lambda: plans
                ),
                ListFilter(
                    "status", entity_labels("sfa_enrolment", "status")["status"], status_pairs
                ),
            ],
            active=active,
            customer=customer,
            customer_id=customer_id,
            next_url=url_for(".index", after=page.next_after, **query_args(active))
            if page.next_after
            else None,
            first_url=url_for(".index", **query_args(active)) if after else None,
            labels=entity_labels(
                "sfa_enrolment",
                "customer_id",
                "plan_id",
                "status",
                "next_due_at",
                "executed",
                "skipped",
                "anchor",
            ),
            may_enrol=context.can("sfa_enrolment.create"),
            may_write=context.can("sfa_enrolment.write"),
        )

    # -- an enrolment -------------------------------------------------------------------------
    @expose("/details/")
    def details(self) -> ResponseReturnValue:
        """An enrolment: the customer, the plan, where it stands, its runs and its moves."""
        id = request.args.get("id", "")[:60] or abort(404)
        try:
            with context.work() as s:
                enrolment = s.sfa.enrolment(id)
                (row,) = enrolment_rows(s, [enrolment])
                plan = plans_by_id(s).get(enrolment.plan_id)
                runs = s.sfa.runs(id)
                names = template_names(s)
        except crmkit.NotFound:
            abort(404)
        steps = list(plan.steps) if plan else []
        status = enrolment.status
        running = status in (crmkit.EnrolmentStatus.ACTIVE, crmkit.EnrolmentStatus.PAUSED)
        may = context.can("sfa_enrolment.write")
        return self.render(
            "crm/sfa_enrolment_details.html",
            enrolment=enrolment,
            row=row,
            plan=plan,
            runs=[
                RunRow(
                    due=local_time(r.due_at),
                    step=step_name(r.step + 1)
                    + (
                        aside(_("round %(n)s", n=r.round + 1))
                        if plan and plan.kind is not crmkit.PlanKind.PERIODIC
                        else ""
                    ),
                    action=enum_label(steps[r.step].action) if r.step < len(steps) else "",
                    outcome=enum_label(r.outcome),
                    outcome_code=r.outcome.value,
                    detail=catalogue_text(r.detail),
                    recorded=local_time(r.created_at),
                    task_id=r.task_id or "",
                )
                for r in runs
            ],
            steps=[
                {"number": n, "timing": timing(step), "what": step_summary(step, names)}
                for n, step in enumerate(steps, start=1)
            ],
            repeating=plan is not None and plan.kind is not crmkit.PlanKind.PERIODIC,
            paused_at=local_time(enrolment.paused_at) if enrolment.paused_at else "",
            finished_at=local_time(enrolment.finished_at) if enrolment.finished_at else "",
            labels=entity_labels(
                "sfa_enrolment",
                "customer_id",
                "plan_id",
                "status",
                "next_due_at",
                "executed",
                "skipped",
                "anchor",
                "paused_at",
            ),
            run_labels={
                "due_at": _("Planned for"),
                "step": entity_labels("sfa_run", "step")["step"],
                "action": step_labels()["action"],
                "outcome": entity_labels("sfa_run", "outcome")["outcome"],
                "detail": _("Why"),
            },
            may={
                "pause": may and status is crmkit.EnrolmentStatus.ACTIVE,
                "resume": may and status is crmkit.EnrolmentStatus.PAUSED,
                "skip": may and running and enrolment.next_step is not None,
                "stop": may and running,
                "rerun": may and bool(steps),
            },
        )

    def act(self, call: Callable[[crmkit.Session, str], Any], done: str) -> ResponseReturnValue:
        """One move on the posted enrolment; crmkit's refusal is shown as a message."""
        id = request.form.get("id", "")[:60]
        try:
            with context.work() as s:
                call(s, id)
        except crmkit.ValidationError as exc:
            flash(exc.message(), "error")
        except crmkit.CRMError as exc:
            flash(refusal(exc, request.form.get("name", "")[:100]), "error")
        else:
            flash(done, "success")
        target = request.form.get("next") or ""
        return redirect(safe_next(target) if target.startswith("/") else url_for(".details", id=id))

    @expose("/pause/", methods=("POST",))
    def pause(self) -> ResponseReturnValue:
        return self.act(
            lambda s, id: s.sfa.pause(id), _("Paused: no step runs until it is resumed.")
        )

    @expose("/resume/", methods=("POST",))
    def resume(self) -> ResponseReturnValue:
        """继续: the steps that fell due meanwhile are skipped (``missed=skip``) or sent now
        (``send``)."""
        missed = request.form.get("missed", "skip")[:10]
        done = (
            _("Resumed: the steps due while paused are sent now.")
            if missed == "send"
            else _("Resumed: the steps due while paused are skipped.")
        )
        return self.act(lambda s, id: s.sfa.resume(id, missed=missed), done)

    @expose("/skip/", methods=("POST",))
    def skip(self) -> ResponseReturnValue:
        return self.act(lambda s, id: s.sfa.skip(id), _("The next step is skipped."))

    @expose("/stop/", methods=("POST",))
    def stop(self) -> ResponseReturnValue:
        return self.act(lambda s, id: s.sfa.stop(id), _("Stopped: the customer leaves the plan."))

    @expose("/rerun/", methods=("POST",))
    def rerun(self) -> ResponseReturnValue:
        """重新执行 a step now (its course is unchanged)."""
        raw_step, raw_round = request.form.get("step", ""), request.form.get("round", "") or "1"
        if not raw_step.isdigit() or not raw_round.isdigit() or int(raw_round) < 1:
            flash(_("Choose a step (and a round: 1 or more)."), "error")
            return redirect(url_for(".details", id=request.form.get("id", "")[:60]))
        step, round_ = int(raw_step), int(raw_round) - 1
        return self.act(
            lambda s, id: s.sfa.rerun(id, step, round=round_),
            _("Step %(n)s is executed again.", n=step),
        )

    # -- 启用SFA方案 ------------------------------------------------------------------------------
    @expose("/enrol/", methods=("GET", "POST"))
    def enrol(self) -> ResponseReturnValue:
        """Enrol the customers chosen, or those a region, a tag or a salesperson picks, in a
        plan, from a day and a step."""
        if not context.can("sfa_enrolment.create"):
            abort(403)
        values: dict[str, Any] = dict.fromkeys(ENROL_FIELDS, "")
        errors: dict[str, list[str]] = {}
        if request.method == "GET":
            values["plan_id"] = request.args.get("plan_id", "")[:60]
            values["customer_ids"] = [c[:60] for c in request.args.getlist("customer_id")[:500]]
            return self.enrol_page(values, errors)
        values = {f: request.form.get(f, "").strip()[:200] for f in ENROL_FIELDS}
        values["customer_ids"] = [c[:60] for c in request.form.getlist("customer_ids")[:2000] if c]
        args: dict[str, Any] = {}
        if values["customer_ids"]:
            args["customer_ids"] = values["customer_ids"]
        for name in ("region", "tag", "owner_id", "anchor"):  # a region as typed
            if values[name]:
                args[name] = values[name]
        if values["start_step"]:
            if values["start_step"].isdigit():
                args["start_step"] = int(values["start_step"])
            else:
                errors["start_step"] = [
                    _("“%(value)s” is not a step number.", value=values["start_step"][:20])
                ]
        if errors:
            flash(_("Nobody is enrolled: correct the marked fields."), "error")
            return self.enrol_page(values, errors)
        try:
            with context.work() as s:
                report = s.sfa.enrol(values["plan_id"], **args)
        except crmkit.ValidationError as exc:
            flash(exc.message(), "error")
            for e in exc.errors:
                key = e.field if e.field in ENROL_FIELDS else "plan_id"
                errors.setdefault(key, []).append(e.message() if key == e.field else e.describe())
            return self.enrol_page(values, errors)
        except crmkit.NotFound:
            errors["plan_id"] = [_("Choose a plan.")]
            flash(_("Nobody is enrolled: correct the marked fields."), "error")
            return self.enrol_page(values, errors)
        except crmkit.CRMError as exc:
            flash(refusal(exc), "error")
            return self.enrol_page(values, errors)
        flash(
            _("%(n)s customers enrolled.", n=report.enrolled),
            "success" if report.enrolled else "warning",
        )
        if report.already:
            flash(_("%(n)s were in the plan already.", n=report.already), "warning")
        if report.missing:
            flash(_("%(n)s are not customers you may enrol.", n=report.missing), "warning")
        target = request.form.get("next") or ""
        if target.startswith("/"):
            return redirect(safe_next(target))
        return redirect(url_for(".index", plan_id=values["plan_id"]))

    def enrol_page(
        self, values: Mapping[str, Any], errors: Mapping[str, list[str]]
    ) -> ResponseReturnValue:
        with context.work() as s:
            plans = plan_pairs(s, enabled_only=True)
            chosen = list(values.get("customer_ids") or [])
            customers = customer_choices()
            offered = dict(customers)
            missing = [c for c in chosen if c not in offered]
            if missing:
                names = customer_names(s, missing)
                customers = [*((c, names[c]) for c in missing if c in names), *customers]
        return self.render(
            "crm/sfa_enrol.html",
            values=values,
            errors=errors,
            plans=plans,
            customers=customers,
            salespeople=salesperson_pairs(),
            labels=entity_labels(
                "sfa_enrolment", "plan_id", "customer_ids", "anchor", "start_step"
            ),
            next_url=request.values.get("next", "")
            if str(request.values.get("next", "")).startswith("/")
            else "",
        )


__all__ = [
    "SfaEnrolmentView",
    "SfaPlanView",
    "customer_enrolments",
    "pending_task_rows",
    "plan_pairs",
    "timing",
]
