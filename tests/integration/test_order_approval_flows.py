"""A hypothesis state machine over whole approval flows through the library (memory store):
whatever edits, submissions, decisions, withdrawals and revisions come in whatever order,
an approved order revision is never changed, a pending one neither, and each order's
approval state is the one its latest approval says."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

import crmkit
from crmkit import ApprovalStatus, PermissionDenied, ValidationError, WorkflowError
from crmkit.testing import open_test_crm

REFUSED = (WorkflowError, PermissionDenied, ValidationError)


class OrderFlows(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.crm = open_test_crm()
        admin = self.crm.bootstrap_admin(name="管理员", password="admin-pass-1")
        with self.crm.session(actor=admin) as s:
            self.boss = s.users.create(name="王经理", role="manager", password="manager-pass")
            self.fin = s.users.create(name="李会计", role="finance", password="finance-pass")
            self.zhang = s.users.create(
                name="张三", role="sales", manager_id=self.boss.id, password="sales-pass"
            )
            self.customer = s.customers.create(
                name="青岛金智电子科技有限公司", owner_id=self.zhang.id
            )
        self.orders: list[str] = []
        self.frozen: dict[str, tuple[int, Decimal]] = {}  # approved: id -> (version, gross)

    def teardown(self) -> None:
        self.crm.close()

    def _as(self, user: crmkit.User) -> crmkit.Session:
        return self.crm.session(actor=user)  # type: ignore[return-value]

    @rule(price=st.sampled_from(["100", "40000", "60000"]))
    def create(self, price: str) -> None:
        with self._as(self.zhang) as s:
            order = s.orders.create(
                customer_id=self.customer.id,
                lines=[{"name": "门锁", "quantity": 1, "unit_price": price, "tax_rate": "13%"}],
            )
        self.orders.append(order.id)

    @rule(data=st.data(), price=st.sampled_from(["200", "70000"]))
    def edit(self, data: st.DataObject, price: str) -> None:
        if not self.orders:
            return
        id = data.draw(st.sampled_from(self.orders))
        line = {"name": "门锁", "quantity": 1, "unit_price": price, "tax_rate": "13%"}
        try:
            with self._as(self.zhang) as s:
                s.orders.update(id, lines=[line])
        except REFUSED:
            return

    @rule(data=st.data())
    def submit(self, data: st.DataObject) -> None:
        if self.orders:
            self._try(
                self.zhang, lambda s: s.orders.submit(data.draw(st.sampled_from(self.orders)))
            )

    @rule(data=st.data())
    def withdraw(self, data: st.DataObject) -> None:
        if self.orders:
            self._try(
                self.zhang, lambda s: s.orders.withdraw(data.draw(st.sampled_from(self.orders)))
            )

    @rule(data=st.data(), remarks=st.text("改加急", min_size=1, max_size=3))
    def revise(self, data: st.DataObject, remarks: str) -> None:
        if not self.orders:
            return
        id = data.draw(st.sampled_from(self.orders))
        try:
            with self._as(self.zhang) as s:
                new = s.orders.revise(id, remarks=remarks)
        except REFUSED:
            return
        self.orders.append(new.id)

    @rule(who=st.sampled_from(["boss", "fin", "zhang"]), approve=st.booleans())
    def decide(self, who: str, approve: bool) -> None:
        user = getattr(self, who)
        with self._as(user) as s:
            waiting = [a.step_id for a in s.approvals.inbox()]
        if who == "zhang":
            assert waiting == []  # nobody decides their own
        for step in waiting[:1]:
            if approve:
                self._try(user, lambda s, step=step: s.approvals.approve(step))
            else:
                self._try(user, lambda s, step=step: s.approvals.reject(step, reason="不行"))

    def _try(self, user: crmkit.User, action: object) -> None:
        try:
            with self._as(user) as s:
                action(s)  # type: ignore[operator]
        except REFUSED:
            return

    @invariant()
    def approved_revisions_never_change(self) -> None:
        with self._as(self.boss) as s:
            for id in self.orders:
                order = s.orders.get(id)
                trail = s.approvals.for_document(id)
                latest = trail[-1].status if trail else ApprovalStatus.DRAFT
                if trail:
                    assert order.approval is latest
                if order.approval is ApprovalStatus.APPROVED:
                    if id in self.frozen:
                        version, gross = self.frozen[id]
                        # approved: lines and money as approved (a supersession may
                        # stamp a new version, never a new price)
                        assert order.gross.amount == gross and order.version >= version
                    else:
                        self.frozen[id] = (order.version, order.gross.amount)
                    assert order.net + order.tax == order.gross


OrderFlows.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestOrderFlows = OrderFlows.TestCase
