"""Entities for the generic repository contract, and hypothesis strategies per spec.

crmkit's own specs do not use every kernel feature yet, so the contract also drives a few
test entities that do: :data:`MEMOS` (owner scope with co-owners, children, a document
number, indexed ints, dates, enums and amounts), :data:`MEMO_NOTES` (scope through a parent
memo, hard delete) and :data:`VISITS` (scope through the customer). On SQL their tables live
outside crmkit's migrations (``crmkit.storage.sql.entities.app_metadata``);
:func:`create_test_tables` creates them.

:func:`entity_strategy` gives a strategy of valid objects for any spec the contract runs.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import attrs
from hypothesis import strategies as st

from crmkit.domain.activity import Activity, ActivityKind, Task, TaskStatus
from crmkit.domain.approvals import (
    FINANCE,
    MANAGER,
    Approval,
    ApprovalStatus,
    Decision,
    StepDecision,
)
from crmkit.domain.common import Gender
from crmkit.domain.complaint import (
    ActionStatus,
    Complaint,
    ComplaintStatus,
    CorrectiveAction,
    FollowUp,
    Severity,
)
from crmkit.domain.contact import Contact
from crmkit.domain.customer import CustomerKind
from crmkit.domain.dictionary import DictionaryEntry
from crmkit.domain.kb import Article, ArticleStatus, QaRecord
from crmkit.domain.lead import Lead, LeadStatus
from crmkit.domain.lines import SalesLine
from crmkit.domain.messaging import (
    Channel,
    Direction,
    Message,
    MessageSource,
    OptOut,
    TemplateRecord,
)
from crmkit.domain.opportunity import Opportunity, OpportunityStatus, StageChange
from crmkit.domain.order import (
    CostAdjustment,
    Delivery,
    DeliveryItem,
    DeliveryState,
    Order,
    OrderStatus,
)
from crmkit.domain.payment import (
    Payment,
    PaymentAllocation,
    PaymentCategory,
    PaymentMethod,
    PaymentStatus,
    WriteOff,
)
from crmkit.domain.product import Product, ProductCategory, ProductGroup
from crmkit.domain.quote import Quote, QuoteStatus
from crmkit.domain.receivable import Receivable, ReceivableStatus
from crmkit.domain.repair import Repair, RepairPart, RepairStatus
from crmkit.domain.settings import StoredSettings
from crmkit.domain.sfa import (
    EnrolmentStatus,
    OffsetUnit,
    PlanKind,
    RunOutcome,
    SfaEnrolment,
    SfaPlan,
    SfaRun,
    SfaStep,
    StepAction,
)
from crmkit.domain.sharing import CoOwnershipRequest, RequestStatus
from crmkit.domain.sla import Pause
from crmkit.domain.target import SalesTarget
from crmkit.domain.ticket import (
    RecordKind,
    ServiceRecord,
    SlaPolicy,
    Ticket,
    TicketChannel,
    TicketPriority,
    TicketStatus,
    TicketType,
)
from crmkit.domain.user import Role, User
from crmkit.domain.values import Email, Money, Phone
from crmkit.storage.catalog import (
    ACTIVITIES,
    APP_SETTINGS,
    APPROVALS,
    CO_OWNERSHIP_REQUESTS,
    COMPLAINTS,
    DICTIONARY_ENTRIES,
    KB_ARTICLES,
    LEADS,
    MESSAGE_TEMPLATES,
    MESSAGES,
    OPPORTUNITIES,
    OPT_OUTS,
    ORDERS,
    PAYMENTS,
    PRODUCT_CATEGORIES,
    PRODUCT_GROUPS,
    PRODUCTS,
    QA_RECORDS,
    QUOTES,
    RECEIVABLES,
    REPAIRS,
    SALES_TARGETS,
    SFA_ENROLMENTS,
    SFA_PLANS,
    SFA_RUNS,
    SLA_POLICIES,
    TASKS,
    TICKETS,
    WRITE_OFFS,
)
from crmkit.storage.catalog import CONTACTS as CONTACT_SPEC
from crmkit.storage.catalog import USERS as USER_SPEC
from crmkit.storage.spec import ChildSpec, EntitySpec, ScopeRule


class MemoStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"


@attrs.frozen(kw_only=True)
class MemoLine:
    text: str
    qty: int = 1


@attrs.frozen(kw_only=True)
class Memo:
    id: str
    title: str
    owner_id: str | None = None
    shared_with: tuple[str, ...] = ()
    priority: int = 0
    due: date | None = None
    amount: Decimal | None = None
    status: MemoStatus = MemoStatus.OPEN
    lines: tuple[MemoLine, ...] = ()
    number: str | None = None
    version: int = 1
    created_at: datetime
    deleted_at: datetime | None = None


@attrs.frozen(kw_only=True)
class MemoNote:
    id: str
    memo_id: str
    body: str
    version: int = 1
    created_at: datetime


@attrs.frozen(kw_only=True)
class Visit:
    id: str
    customer_id: str
    summary: str
    version: int = 1
    created_at: datetime
    deleted_at: datetime | None = None


MEMOS: Final = EntitySpec(
    "test_memo",
    Memo,
    table="test_memos",
    indexed=("title", "priority", "due", "amount", "status"),
    scope=ScopeRule.owner("owner_id", co_owners=True),
    members="shared_with",
    children=(ChildSpec("lines", MemoLine, table="test_memo_lines", indexed=("qty",)),),
    number="MM",
    unique=("title",),
    text=("title",),
)
MEMO_NOTES: Final = EntitySpec(
    "test_memo_note",
    MemoNote,
    table="test_memo_notes",
    indexed=("body",),
    scope=ScopeRule.via_parent("memo_id", MEMOS),
    soft_delete=False,
    newest_first=False,
)
VISITS: Final = EntitySpec(
    "test_visit",
    Visit,
    table="test_visits",
    indexed=("summary",),
    scope=ScopeRule.via_customer("customer_id"),
)
TEST_SPECS: Final = (MEMOS, MEMO_NOTES, VISITS)


def create_test_tables(store: Any) -> None:
    """Create the test entities' tables in a SQL store (memory stores need nothing)."""
    engine = getattr(store, "engine", None)
    if engine is None:
        return
    from crmkit.storage.sql.entities import app_metadata, child_table, entity_table

    tables = []
    for spec in TEST_SPECS:
        tables.append(entity_table(spec))
        tables += [child_table(spec, c) for c in spec.children]
    app_metadata.create_all(engine, tables=tables)


# -- strategies ---------------------------------------------------------------------------
BASE = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
# Text a database keeps as it is: no NUL (PostgreSQL refuses it), no lone surrogates.
_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12).filter(
    lambda t: t.strip() == t and t != ""
)
USERS: Final = ("u-1", "u-2", "u-3")
_WORDS = st.sampled_from(["门锁", "智能门锁", "Lock", "lock", "配件", "服务"])


def _ids() -> st.SearchStrategy[str]:
    return st.builds(lambda: str(uuid.uuid4()))


def _times() -> st.SearchStrategy[datetime]:
    return st.integers(0, 10_000).map(lambda m: BASE + timedelta(minutes=m))


def _money() -> st.SearchStrategy[Money | None]:
    return st.none() | st.decimals(0, 100_000, places=2).map(lambda d: Money(d))


def _lines() -> st.SearchStrategy[tuple[SalesLine, ...]]:
    return st.lists(
        st.builds(
            SalesLine,
            product_id=st.none() | st.sampled_from(["p-1", "p-2"]),
            name=_WORDS | _TEXT,
            specification=st.none() | _TEXT,
            unit=st.none() | st.sampled_from(["套", "台"]),
            quantity=st.decimals(1, 1000, places=2),
            unit_price=st.decimals(0, 10_000, places=2).map(Money),
            discount=st.decimals(0, 1, places=2),
            tax_rate=st.sampled_from([Decimal("0.13"), Decimal("0.06"), Decimal(0)]),
            unit_cost=_money(),
            net=st.decimals(0, 10_000, places=2).map(Money),
            tax=st.decimals(0, 1_000, places=2).map(Money),
            gross=st.decimals(0, 11_000, places=2).map(Money),
        ),
        max_size=3,
    ).map(tuple)


STRATEGIES: Final[dict[str, Callable[[], st.SearchStrategy[Any]]]] = {
    CONTACT_SPEC.name: lambda: st.builds(
        Contact,
        id=_ids(),
        customer_id=st.sampled_from(["c-1", "c-2"]),
        name=st.sampled_from(["王建国", "张三", "John Smith"]) | _TEXT,
        gender=st.none() | st.sampled_from(list(Gender)),
        title=st.none() | _TEXT,
        mobile=st.none() | st.sampled_from([Phone("+8613800138000"), Phone("+8613900001234")]),
        phone=st.none() | st.just(Phone("+8653288886666", "8001")),
        email=st.none() | st.just(Email("wang@example.cn")),
        birthday=st.none() | st.dates(date(1950, 1, 1), date(2010, 12, 31)),
        is_primary=st.booleans(),
        remarks=st.none() | _TEXT,
        surname=st.sampled_from(["王", "张", ""]),
        surname_letter=st.sampled_from(["W", "Z", "#"]),
        initials=st.sampled_from(["wjg", "zs", ""]),
        created_at=_times(),
        updated_at=_times(),
        created_by=st.sampled_from(USERS),
        deleted_with=st.none() | st.sampled_from(["c-1"]),
        merged_into=st.none() | _ids(),
    ),
    USER_SPEC.name: lambda: st.builds(
        User,
        id=_ids(),
        name=_TEXT,
        login=st.sampled_from(["zhangsan", "lisi", "wangwu1"]),  # clashes, on purpose
        role=st.sampled_from(list(Role)),
        manager_id=st.none() | st.sampled_from(USERS),
        email=st.none() | st.just(Email("zs@example.cn")),
        mobile=st.none() | st.just(Phone("+8613800138000")),
        active=st.booleans(),
        locked=st.booleans(),
        created_at=_times(),
        updated_at=_times(),
        created_by=st.sampled_from(USERS),
    ),
    CO_OWNERSHIP_REQUESTS.name: lambda: st.builds(
        CoOwnershipRequest,
        id=_ids(),
        customer_id=st.sampled_from(["c-1", "c-2"]),
        requester_id=st.sampled_from(USERS),
        owner_id=st.none() | st.sampled_from(USERS),
        note=st.none() | _TEXT,
        status=st.sampled_from(list(RequestStatus)),
        created_at=_times(),
        decided_by=st.none() | st.sampled_from(USERS),
        decided_at=st.none() | _times(),
        decision_note=st.none() | _TEXT,
    ),
    PRODUCTS.name: lambda: st.builds(
        Product,
        id=_ids(),
        name=_WORDS | _TEXT,
        code=st.none() | st.sampled_from(["LK-1", "LK-2", "LK-3"]),
        specification=st.none() | _TEXT,
        unit=st.none() | st.sampled_from(["套", "台"]),
        category_id=st.none() | st.sampled_from(["c-1", "c-2"]),
        group_id=st.none(),
        price=_money(),
        cost=_money(),
        tax_rate=st.sampled_from([Decimal("0.13"), Decimal("0.06"), Decimal("0")]),
        active=st.booleans(),
        description=st.none() | _TEXT,
        custom=st.just({}) | st.just({"颜色": "黑", "保修年限": Decimal("2")}),
        created_at=_times(),
        updated_at=_times(),
        created_by=st.sampled_from(USERS),
    ),
    PRODUCT_CATEGORIES.name: lambda: st.builds(
        ProductCategory,
        id=_ids(),
        name=_WORDS,
        parent_id=st.none() | st.sampled_from(["c-1", "c-2"]),
        sort=st.integers(0, 5),
        created_at=_times(),
        updated_at=_times(),
        created_by=st.sampled_from(USERS),
    ),
    PRODUCT_GROUPS.name: lambda: st.builds(
        ProductGroup,
        id=_ids(),
        name=_WORDS,
        members=st.lists(st.sampled_from(["role:sales", "user:u-1"]), unique=True).map(tuple),
        created_at=_times(),
        updated_at=_times(),
        created_by=st.sampled_from(USERS),
    ),
    APP_SETTINGS.name: lambda: st.builds(
        StoredSettings,
        id=_ids(),
        values=st.dictionaries(
            st.sampled_from(["timezone", "max_page_size", "strict_name_script"]),
            st.sampled_from(["Asia/Shanghai", "Asia/Urumqi"])
            | st.integers(10, 500)
            | st.booleans(),
            max_size=3,
        ),
        created_at=_times(),
        updated_at=_times(),
    ),
    DICTIONARY_ENTRIES.name: lambda: st.builds(
        DictionaryEntry,
        id=_ids(),
        list=st.sampled_from(["source", "industry", "tag"]),
        value=_WORDS | _TEXT,
        aliases=st.lists(_WORDS, unique=True, max_size=2).map(tuple),
        sort=st.integers(0, 3),
        active=st.booleans(),
        created_at=_times(),
        updated_at=_times(),
        created_by=st.sampled_from(USERS),
    ),
    OPPORTUNITIES.name: lambda: st.builds(
        Opportunity,
        id=_ids(),
        customer_id=st.sampled_from(["c-1", "c-2"]),
        owner_id=st.sampled_from(USERS),
        title=_WORDS | _TEXT,
        need=st.none() | _TEXT,
        budget=_money(),
        amount=_money(),
        expected_close=st.none() | st.dates(date(2026, 1, 1), date(2027, 12, 31)),
        stage=st.sampled_from(["contact", "needs", "proposal", "won", "lost"]),
        probability=st.decimals(0, 1, places=2),
        competitors=st.lists(_WORDS, unique=True, max_size=3).map(tuple),
        next_step=st.none() | _TEXT,
        status=st.sampled_from(list(OpportunityStatus)),
        lost_reason=st.none() | _TEXT,
        closed_on=st.none() | st.dates(date(2026, 1, 1), date(2026, 12, 31)),
        stage_history=st.lists(
            st.builds(
                StageChange,
                stage=st.sampled_from(["contact", "needs", "proposal"]),
                entered_at=_times(),
                by=st.sampled_from(USERS),
            ),
            max_size=3,
        ).map(tuple),
        created_at=_times(),
        updated_at=_times(),
        created_by=st.sampled_from(USERS),
    ),
    LEADS.name: lambda: st.builds(
        Lead,
        id=_ids(),
        kind=st.sampled_from(list(CustomerKind)),
        name=_WORDS | _TEXT,
        contact_name=st.none() | _TEXT,
        mobile=st.none() | st.sampled_from([Phone("+8613800138000"), Phone("+8613900001234")]),
        phone=st.none() | st.just(Phone("+8653288886666", "8001")),
        email=st.none() | st.just(Email("sales@example.cn")),
        mobile_e164=st.none() | st.sampled_from(["+8613800138000", "+8613900001234"]),
        phone_e164=st.none() | st.just("+8653288886666"),
        source=st.none() | _WORDS,
        remarks=st.none() | _TEXT,
        owner_id=st.sampled_from(USERS),
        status=st.sampled_from(list(LeadStatus)),
        disqualified_reason=st.none() | _TEXT,
        customer_id=st.none() | st.sampled_from(["c-1", "c-2"]),
        converted_at=st.none() | _times(),
        created_at=_times(),
        updated_at=_times(),
        created_by=st.sampled_from(USERS),
    ),
    QUOTES.name: lambda: st.builds(
        Quote,
        id=_ids(),
        number=st.none(),  # numbers come from the store's sequences, not from callers
        quote_number=st.sampled_from(["QT-2026-000001", "QT-2026-000002"]),
        revision=st.integers(1, 3),
        customer_id=st.sampled_from(["c-1", "c-2"]),
        opportunity_id=st.none() | _ids(),
        owner_id=st.sampled_from(USERS),
        prices_include_tax=st.booleans(),
        valid_until=st.dates(date(2026, 1, 1), date(2027, 12, 31)),
        lines=_lines(),
        net=st.decimals(0, 100_000, places=2).map(Money),
        tax=st.decimals(0, 10_000, places=2).map(Money),
        gross=st.decimals(0, 110_000, places=2).map(Money),
        cost=st.decimals(0, 100_000, places=2).map(Money),
        margin=st.decimals(-100_000, 100_000, places=2).map(Money),
        margin_rate=st.none() | st.decimals(-1, 1, places=4),
        status=st.sampled_from(list(QuoteStatus)),
        remarks=st.none() | _TEXT,
        created_at=_times(),
        updated_at=_times(),
        created_by=st.sampled_from(USERS),
    ),
    ORDERS.name: lambda: st.builds(
        Order,
        id=_ids(),
        number=st.none(),
        order_number=st.sampled_from(["SO-2026-000001", "SO-2026-000002"]),
        revision=st.integers(1, 3),
        customer_id=st.sampled_from(["c-1", "c-2"]),
        quote_id=st.none() | _ids(),
        opportunity_id=st.none() | _ids(),
        owner_id=st.sampled_from(USERS),
        prices_include_tax=st.booleans(),
        lines=_lines(),
        net=st.decimals(0, 100_000, places=2).map(Money),
        tax=st.decimals(0, 10_000, places=2).map(Money),
        gross=st.decimals(0, 110_000, places=2).map(Money),
        cost=st.decimals(0, 100_000, places=2).map(Money),
        cost_adjustments=st.lists(
            st.builds(
                CostAdjustment,
                amount=st.decimals(-1000, 1000, places=2).map(Money),
                reason=_TEXT,
                by=st.sampled_from(USERS),
                at=_times(),
            ),
            max_size=2,
        ).map(tuple),
        margin=st.decimals(-100_000, 100_000, places=2).map(Money),
        margin_rate=st.none() | st.decimals(-1, 1, places=4),
        approval=st.sampled_from(list(ApprovalStatus)),
        status=st.sampled_from(list(OrderStatus)),
        signed_on=st.none() | st.dates(date(2026, 1, 1), date(2027, 12, 31)),
        deliveries=st.lists(
            st.builds(
                Delivery,
                number=st.integers(1, 9),
                planned_on=st.dates(date(2026, 1, 1), date(2027, 12, 31)),
                items=st.lists(
                    st.builds(
                        DeliveryItem,
                        line=st.integers(0, 2),
                        quantity=st.decimals(1, 100, places=2),
                    ),
                    min_size=1,
                    max_size=2,
                ).map(tuple),
                status=st.sampled_from(list(DeliveryState)),
                weight=st.none() | st.decimals(0, 100, places=3),
                freight=_money(),
            ),
            max_size=2,
        ).map(tuple),
        remarks=st.none() | _TEXT,
        created_at=_times(),
        updated_at=_times(),
        created_by=st.sampled_from(USERS),
    ),
    APPROVALS.name: lambda: st.builds(
        Approval,
        id=_ids(),
        document_type=st.sampled_from(["order", "lead_conversion"]),
        document_id=st.sampled_from(["o-1", "o-2"]) | _ids(),
        revision=st.integers(1, 3),
        document_version=st.integers(1, 9),
        document_number=st.none() | st.just("SO-2026-000001"),
        submitter_id=st.sampled_from(USERS),
        manager_id=st.none() | st.sampled_from(USERS),
        amount=st.decimals(0, 100_000, places=2).map(Money),
        steps=st.lists(st.sampled_from([MANAGER, FINANCE]), max_size=2).map(tuple),
        decisions=st.lists(
            st.builds(
                StepDecision,
                decided_by=st.sampled_from(USERS),
                decision=st.sampled_from(list(Decision)),
                at=_times(),
                comment=st.none() | _TEXT,
            ),
            max_size=2,
        ).map(tuple),
        status=st.sampled_from(list(ApprovalStatus)),
        decider=st.none() | st.sampled_from(["role:finance", "user:u-1"]),
        created_at=_times(),
        updated_at=_times(),
    ),
    RECEIVABLES.name: lambda: st.builds(
        Receivable,
        id=_ids(),
        number=st.none(),
        customer_id=st.sampled_from(["c-1", "c-2"]),
        order_id=st.sampled_from(["o-1", "o-2"]),
        owner_id=st.sampled_from(USERS),
        instalment=st.integers(1, 12),
        amount=st.decimals(0, 100_000, places=2).map(Money),
        due=st.dates(date(2026, 1, 1), date(2027, 12, 31)),
        balance=st.decimals(0, 100_000, places=2).map(Money),
        paid=st.decimals(0, 100_000, places=2).map(Money),
        written_off=st.decimals(0, 100, places=2).map(Money),
        status=st.sampled_from(list(ReceivableStatus)),
        remarks=st.none() | _TEXT,
        created_at=_times(),
        updated_at=_times(),
        created_by=st.sampled_from(USERS),
    ),
    PAYMENTS.name: lambda: st.builds(
        Payment,
        id=_ids(),
        number=st.none(),
        customer_id=st.sampled_from(["c-1", "c-2"]),
        owner_id=st.sampled_from(USERS),
        amount=st.decimals(Decimal("0.01"), 100_000, places=2).map(Money),
        received_on=st.dates(date(2026, 1, 1), date(2027, 12, 31)),
        method=st.sampled_from(list(PaymentMethod)),
        category=st.sampled_from(list(PaymentCategory)),
        account=st.none() | _TEXT,
        reference=st.none() | _TEXT,
        remarks=st.none() | _TEXT,
        allocations=st.lists(
            st.builds(
                PaymentAllocation,
                id=_ids(),
                receivable_id=st.sampled_from(["r-1", "r-2"]),
                amount=st.decimals(-100, 100, places=2).map(Money),
                at=_times(),
                by=st.sampled_from(USERS),
                reverses=st.none() | _ids(),
                reason=st.none() | _TEXT,
            ),
            max_size=3,
        ).map(tuple),
        unapplied=st.decimals(0, 100_000, places=2).map(Money),
        status=st.sampled_from(list(PaymentStatus)),
        reversed_reason=st.none() | _TEXT,
        created_at=_times(),
        updated_at=_times(),
        created_by=st.sampled_from(USERS),
    ),
    WRITE_OFFS.name: lambda: st.builds(
        WriteOff,
        id=_ids(),
        number=st.none(),
        receivable_id=st.sampled_from(["r-1", "r-2"]),
        customer_id=st.sampled_from(["c-1", "c-2"]),
        owner_id=st.sampled_from(USERS),
        amount=st.decimals(-100, 100, places=2).map(Money),
        reason=_TEXT,
        reverses=st.none() | _ids(),
        created_at=_times(),
        updated_at=_times(),
        created_by=st.sampled_from(USERS),
    ),
    ACTIVITIES.name: lambda: st.builds(
        Activity,
        id=_ids(),
        customer_id=st.sampled_from(["c-1", "c-2"]),
        contact_id=st.none() | st.sampled_from(["p-1"]),
        opportunity_id=st.none() | st.sampled_from(["o-1"]),
        owner_id=st.sampled_from(USERS),
        kind=st.sampled_from(list(ActivityKind)),
        at=_times(),
        content=_TEXT,
        next_follow_up=st.none() | st.dates(date(2026, 1, 1), date(2027, 12, 31)),
        followed_up=st.booleans(),
        created_at=_times(),
        updated_at=_times(),
        created_by=st.sampled_from(USERS),
        deleted_at=st.none() | _times(),
    ),
    TASKS.name: lambda: st.builds(
        Task,
        id=_ids(),
        title=_TEXT,
        description=st.none() | _TEXT,
        owner_id=st.sampled_from(USERS),
        customer_id=st.none() | st.sampled_from(["c-1", "c-2"]),
        due_at=_times(),
        remind_days=st.none() | st.integers(0, 30),
        remind_at=st.none() | _times(),
        remind_sms=st.booleans(),
        status=st.sampled_from(list(TaskStatus)),
        done_at=st.none() | _times(),
        cancel_reason=st.none() | _TEXT,
        watchers=st.lists(st.sampled_from(USERS), unique=True, max_size=2).map(tuple),
        source=st.none() | st.just("sfa"),
        source_ref=st.none() | _TEXT,
        created_at=_times(),
        updated_at=_times(),
        created_by=st.sampled_from(USERS),
        deleted_at=st.none() | _times(),
    ),
    SALES_TARGETS.name: lambda: st.builds(
        SalesTarget,
        id=_ids(),
        owner_id=st.sampled_from(USERS),
        month=st.dates(date(2026, 1, 1), date(2027, 12, 1)).map(lambda d: d.replace(day=1)),
        amount=st.decimals(0, 1_000_000, places=2).map(Money),
        key=_ids(),  # unique: one target per owner and month
        remarks=st.none() | _TEXT,
        created_at=_times(),
        updated_at=_times(),
        created_by=st.sampled_from(USERS),
    ),
    MESSAGE_TEMPLATES.name: lambda: st.builds(
        TemplateRecord,
        id=_ids(),
        code=st.sampled_from(["birthday", "welcome", "visit"]) | _ids(),
        name=_WORDS | _TEXT,
        channel=st.sampled_from(list(Channel)),
        subject=st.none() | _TEXT,
        body=_TEXT,
        marketing=st.booleans(),
        active=st.booleans(),
        created_at=_times(),
        updated_at=_times(),
        created_by=st.sampled_from(USERS),
        deleted_at=st.none() | _times(),
    ),
    MESSAGES.name: lambda: st.builds(
        Message,
        id=_ids(),
        direction=st.sampled_from(list(Direction)),
        channel=st.sampled_from(list(Channel)),
        source=st.sampled_from(list(MessageSource)),
        customer_id=st.none() | st.sampled_from(["c-1", "c-2"]),
        recipient=st.sampled_from(["+8613800138000", "a@example.com"]),
        template=st.none() | st.sampled_from(["birthday"]),
        subject=st.none() | _TEXT,
        text=_TEXT,
        outbox_key=st.none() | _ids(),
        batch_id=st.none() | st.sampled_from(["b-1", "b-2"]),
        marketing=st.booleans(),
        sent_by=st.none() | st.sampled_from(USERS),
        at=_times(),
        created_at=_times(),
        updated_at=_times(),
        created_by=st.sampled_from(USERS),
    ),
    OPT_OUTS.name: lambda: st.builds(
        OptOut,
        id=_ids(),
        recipient=_ids(),  # unique
        channel=st.sampled_from(list(Channel)),
        reason=st.none() | _TEXT,
        created_at=_times(),
        updated_at=_times(),
        created_by=st.sampled_from(USERS),
    ),
    SFA_PLANS.name: lambda: st.builds(
        SfaPlan,
        id=_ids(),
        name=_WORDS | _TEXT,
        kind=st.sampled_from(list(PlanKind)),
        steps=st.lists(
            st.builds(
                SfaStep,
                action=st.sampled_from(list(StepAction)),
                unit=st.sampled_from(list(OffsetUnit)),
                offset=st.integers(-30, 30),
                on=st.none() | st.sampled_from(["01-01", "春节"]),
                at=st.times(),
                template=st.none() | st.sampled_from(["birthday"]),
                title=st.none() | _TEXT,
            ),
            min_size=1,
            max_size=3,
        ).map(tuple),
        cycle_days=st.none() | st.integers(1, 365),
        rounds=st.none() | st.integers(1, 10),
        enabled=st.booleans(),
        marketing=st.booleans(),
        description=st.none() | _TEXT,
        created_at=_times(),
        updated_at=_times(),
        created_by=st.sampled_from(USERS),
        deleted_at=st.none() | _times(),
    ),
    SFA_ENROLMENTS.name: lambda: st.builds(
        SfaEnrolment,
        id=_ids(),
        plan_id=st.sampled_from(["plan-1", "plan-2"]),
        customer_id=st.sampled_from(["c-1", "c-2"]),
        status=st.sampled_from(list(EnrolmentStatus)),
        anchor=st.dates(date(2026, 1, 1), date(2027, 12, 31)),
        starts_at=_times(),
        next_round=st.none() | st.integers(0, 5),
        next_step=st.none() | st.integers(0, 5),
        next_due_at=st.none() | _times(),
        executed=st.integers(0, 10),
        skipped=st.integers(0, 10),
        paused_at=st.none() | _times(),
        finished_at=st.none() | _times(),
        created_at=_times(),
        updated_at=_times(),
        created_by=st.sampled_from(USERS),
    ),
    SFA_RUNS.name: lambda: st.builds(
        SfaRun,
        id=_ids(),
        key=_ids(),  # unique
        enrolment_id=st.sampled_from(["e-1", "e-2"]),
        plan_id=st.sampled_from(["plan-1"]),
        customer_id=st.sampled_from(["c-1", "c-2"]),
        round=st.integers(0, 3),
        step=st.integers(0, 5),
        due_at=_times(),
        outcome=st.sampled_from(list(RunOutcome)),
        message_key=st.none() | _ids(),
        task_id=st.none() | _ids(),
        detail=st.none() | _TEXT,
        created_at=_times(),
        updated_at=_times(),
        created_by=st.sampled_from(USERS),
    ),
    TICKETS.name: lambda: st.builds(
        Ticket,
        id=_ids(),
        number=st.none(),
        customer_id=st.sampled_from(["c-1", "c-2"]),
        contact_id=st.none() | _ids(),
        type=st.sampled_from(list(TicketType)),
        channel=st.sampled_from(list(TicketChannel)),
        priority=st.sampled_from(list(TicketPriority)),
        subject=_WORDS | _TEXT,
        description=st.none() | _TEXT,
        opened_at=_times(),
        status=st.sampled_from(list(TicketStatus)),
        assignee_id=st.none() | st.sampled_from(USERS),
        team=st.none() | st.sampled_from(["一组", "二组"]),
        response_minutes=st.integers(1, 600),
        resolution_minutes=st.integers(1, 6000),
        response_due_at=st.none() | _times(),
        resolution_due_at=st.none() | _times(),
        first_response_at=st.none() | _times(),
        resolved_at=st.none() | _times(),
        pauses=st.lists(
            st.builds(
                Pause,
                start=_times(),
                end=st.none() | _times(),
            ),
            max_size=2,
        ).map(tuple),
        resolution_breached=st.booleans(),
        satisfaction=st.none() | st.integers(1, 5),
        article_ids=st.lists(_ids(), max_size=2).map(tuple),
        records=st.lists(
            st.builds(
                ServiceRecord,
                id=_ids(),
                at=_times(),
                author_id=st.sampled_from(USERS),
                kind=st.sampled_from(list(RecordKind)),
                body=_TEXT,
                shared=st.booleans(),
            ),
            max_size=3,
        ).map(tuple),
        created_at=_times(),
        updated_at=_times(),
        created_by=st.sampled_from(USERS),
        deleted_at=st.none() | _times(),
    ),
    SLA_POLICIES.name: lambda: st.builds(
        SlaPolicy,
        id=_ids(),
        name=_TEXT,
        type=st.none() | st.sampled_from(list(TicketType)),
        priority=st.none() | st.sampled_from(list(TicketPriority)),
        response_minutes=st.integers(1, 600),
        resolution_minutes=st.integers(1, 6000),
        warn_percent=st.integers(1, 99),
        active=st.booleans(),
        created_at=_times(),
        updated_at=_times(),
        created_by=st.sampled_from(USERS),
        deleted_at=st.none() | _times(),
    ),
    COMPLAINTS.name: lambda: st.builds(
        Complaint,
        id=_ids(),
        number=st.none(),
        customer_id=st.sampled_from(["c-1", "c-2"]),
        ticket_id=st.none() | _ids(),
        owner_id=st.sampled_from(USERS),
        severity=st.sampled_from(list(Severity)),
        subject=_TEXT,
        root_cause=st.none() | _TEXT,
        status=st.sampled_from(list(ComplaintStatus)),
        actions=st.lists(
            st.builds(
                CorrectiveAction,
                id=_ids(),
                description=_TEXT,
                owner_id=st.sampled_from(USERS),
                due_on=st.dates(date(2026, 1, 1), date(2027, 12, 31)),
                status=st.sampled_from(list(ActionStatus)),
                follow_ups=st.lists(
                    st.builds(FollowUp, at=_times(), author_id=st.sampled_from(USERS), note=_TEXT),
                    max_size=2,
                ).map(tuple),
            ),
            max_size=2,
        ).map(tuple),
        created_at=_times(),
        updated_at=_times(),
        created_by=st.sampled_from(USERS),
        deleted_at=st.none() | _times(),
    ),
    REPAIRS.name: lambda: st.builds(
        Repair,
        id=_ids(),
        number=st.none(),
        customer_id=st.sampled_from(["c-1", "c-2"]),
        ticket_id=st.none() | _ids(),
        product_id=st.none() | st.sampled_from(["p-1", "p-2"]),
        serial_number=st.none() | _TEXT,
        fault=_TEXT,
        technician_id=st.none() | st.sampled_from(USERS),
        status=st.sampled_from(list(RepairStatus)),
        warranty=st.booleans(),
        parts=st.lists(
            st.builds(
                RepairPart,
                id=_ids(),
                product_id=st.sampled_from(["p-1", "p-2"]),
                name=_WORDS,
                quantity=st.decimals(1, 100, places=2),
                unit_price=st.decimals(0, 10_000, places=2).map(Money),
            ),
            max_size=3,
        ).map(tuple),
        labour=_money(),
        charge=_money(),
        received_at=_times(),
        created_at=_times(),
        updated_at=_times(),
        created_by=st.sampled_from(USERS),
        deleted_at=st.none() | _times(),
    ),
    KB_ARTICLES.name: lambda: st.builds(
        Article,
        id=_ids(),
        title=_WORDS | _TEXT,
        body=_TEXT,
        category=st.none() | st.sampled_from(["门锁", "安装"]),
        tags=st.lists(_WORDS, unique=True, max_size=2).map(tuple),
        status=st.sampled_from(list(ArticleStatus)),
        author_id=st.sampled_from(USERS),
        created_at=_times(),
        updated_at=_times(),
        created_by=st.sampled_from(USERS),
        deleted_at=st.none() | _times(),
    ),
    QA_RECORDS.name: lambda: st.builds(
        QaRecord,
        id=_ids(),
        customer_id=st.sampled_from(["c-1", "c-2"]),
        ticket_id=st.none() | _ids(),
        article_id=st.none() | _ids(),
        question=_TEXT,
        answer=st.none() | _TEXT,
        asked_at=_times(),
        created_at=_times(),
        updated_at=_times(),
        created_by=st.sampled_from(USERS),
        deleted_at=st.none() | _times(),
    ),
    MEMOS.name: lambda: st.builds(
        Memo,
        id=_ids(),
        title=st.sampled_from(["a", "b", "c", "d"]) | _TEXT,
        owner_id=st.none() | st.sampled_from(USERS),
        shared_with=st.lists(st.sampled_from(USERS), unique=True, max_size=2).map(tuple),
        priority=st.integers(-3, 3),
        due=st.none() | st.dates(date(2026, 1, 1), date(2026, 1, 10)),
        amount=st.none() | st.sampled_from([Decimal("1.50"), Decimal("0.3"), Decimal("7")]),
        status=st.sampled_from(list(MemoStatus)),
        lines=st.lists(st.builds(MemoLine, text=_TEXT, qty=st.integers(1, 3)), max_size=3).map(
            tuple
        ),
        number=st.none(),  # numbers come from the store's sequences, not from callers
        created_at=_times(),
    ),
}


def entity_strategy(spec: EntitySpec[Any]) -> st.SearchStrategy[Any]:
    """Valid, new objects of ``spec``'s entity (fresh ids; references to nothing).

    Raises:
        KeyError: no strategy is known for the spec (pass your own to the contract).
    """
    return STRATEGIES[spec.name]()
