"""The dashboard: 工作台 first (today's and overdue follow-ups, tasks whose reminder has
come: :func:`admin.views.follow_up.workbench`; the manual tasks SFA plans made, 待SFA手动事务:
:func:`admin.views.sfa.pending_task_rows`), then counts by category, source, region and
salesperson, new customers per month, and the user's recent customers. Charts are SVG drawn
by the server (no scripts, no CDN). Exact figures use crmkit's capped counts; the source and
region breakdowns come from the newest customers in scope, as crmkit has no grouped count
yet."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import url_for
from flask.typing import ResponseReturnValue
from flask_admin import AdminIndexView, expose

import crmkit
from admin import context
from admin.base import user_names
from admin.i18n import enum_label, local_time
from admin.views.follow_up import WORKBENCH_ROWS, workbench
from admin.views.sfa import pending_task_rows

CAP = 100_000
SAMPLE = 1_000
TZ = ZoneInfo("Asia/Shanghai")


def month_starts(today: date, months: int) -> list[datetime]:
    """The first instants of the last ``months`` months and of the next one, oldest first."""
    y, m = today.year, today.month
    starts: list[datetime] = []
    for _ in range(months):
        starts.append(datetime(y, m, 1, tzinfo=TZ))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    starts.reverse()
    last = starts[-1]
    nxt = datetime(last.year + (last.month == 12), last.month % 12 + 1, 1, tzinfo=TZ)
    return [*starts, nxt]


class DashboardView(AdminIndexView):
    """首页 / dashboard, the landing page after login."""

    def is_accessible(self) -> bool:
        return context.has_role(*crmkit.Role)

    @expose("/")
    def index(self) -> ResponseReturnValue:
        me = context.current_user()
        today = context.now().astimezone(TZ).date()
        with context.work() as s:
            names = user_names(s)
            total = s.customers.count(cap=CAP)
            by_category = [
                (enum_label(c), s.customers.count(category=c.value, cap=CAP))
                for c in crmkit.Category
            ]
            starts = month_starts(today, 12)
            per_month = [
                (
                    starts[i].strftime("%Y-%m"),
                    s.customers.count(created_from=starts[i], created_to=starts[i + 1], cap=CAP),
                )
                for i in range(len(starts) - 1)
            ]
            by_owner = self._by_owner(s, me, names)
            sample = self._sample(s)
            recent = s.customers.list(owner_id=me.id, limit=10).items
            desk = workbench(s)
            sfa_tasks = pending_task_rows(s)
        sources = Counter(c.source or "—" for c in sample).most_common(8)
        regions = Counter(c.region.province if c.region else "—" for c in sample).most_common(8)
        return self.render(
            "crm/dashboard.html",
            total=total,
            capped=total >= CAP,
            by_category=by_category,
            per_month=per_month,
            by_owner=by_owner,
            sources=sources,
            regions=regions,
            sample_size=len(sample),
            sampled=len(sample) >= SAMPLE,
            recent=[
                (c.id, c.name, enum_label(c.category), local_time(c.created_at)) for c in recent
            ],
            customers_url=url_for("customers.index_view"),
            sfa_tasks=sfa_tasks[:WORKBENCH_ROWS],
            sfa_tasks_total=len(sfa_tasks),
            **desk,
        )

    def _by_owner(
        self, s: crmkit.Session, me: crmkit.User, names: dict[str, str]
    ) -> list[tuple[str, int]]:
        if me.role is crmkit.Role.ADMIN:
            owners = [u for u in _users(s) if u.role in {crmkit.Role.SALES, crmkit.Role.MANAGER}]
        elif me.role is crmkit.Role.MANAGER:
            owners = [me, *s.users.subordinates(me.id)]
        else:
            return []
        counts = [
            (names.get(u.id, u.login), s.customers.count(owner_id=u.id, cap=CAP)) for u in owners
        ]
        return sorted(counts, key=lambda kv: -kv[1])[:15]

    def _sample(self, s: crmkit.Session) -> list[crmkit.Customer]:
        out: list[crmkit.Customer] = []
        after: str | None = None
        while len(out) < SAMPLE:
            page = s.customers.list(after=after, limit=min(500, SAMPLE - len(out)))
            out.extend(page.items)
            if page.next_after is None:
                break
            after = page.next_after
        return out


def _users(s: crmkit.Session) -> list[crmkit.User]:
    from admin.views.customers import _all_users

    return _all_users(s)


__all__ = ["DashboardView", "month_starts"]
