"""The specs of the entities crmkit ships on the kernel (see :mod:`crmkit.storage.spec`).

Each entity's storage is its spec here and the migration that creates its table; the memory
and SQL backends need nothing else.
"""

from __future__ import annotations

from typing import Any, Final

from crmkit.domain.activity import Activity, Task
from crmkit.domain.approvals import Approval
from crmkit.domain.complaint import Complaint, CorrectiveAction
from crmkit.domain.contact import Contact
from crmkit.domain.dictionary import DictionaryEntry
from crmkit.domain.kb import Article, QaRecord
from crmkit.domain.lead import Lead
from crmkit.domain.messaging import Message, OptOut, TemplateRecord
from crmkit.domain.opportunity import Opportunity, StageChange
from crmkit.domain.order import Delivery, Order, OrderLine
from crmkit.domain.payment import Payment, PaymentAllocation, WriteOff
from crmkit.domain.product import Product, ProductCategory, ProductGroup
from crmkit.domain.quote import Quote, QuoteLine
from crmkit.domain.receivable import Receivable
from crmkit.domain.repair import Repair, RepairPart
from crmkit.domain.settings import StoredSettings
from crmkit.domain.sfa import SfaEnrolment, SfaPlan, SfaRun
from crmkit.domain.sharing import CoOwnershipRequest
from crmkit.domain.target import SalesTarget
from crmkit.domain.ticket import ServiceRecord, SlaPolicy, Ticket
from crmkit.domain.user import User
from crmkit.storage.spec import ChildSpec, EntitySpec, ScopeRule
from crmkit.storage.textsearch import normalize_query

# The people who log in. Everyone may read them (owners are shown by name); a login is
# unique among live users. Passwords and failed-login counters are kept apart
# (``UserRepository.get_credentials``), never in the stored user.
USERS: Final = EntitySpec(
    "user",
    User,
    table="users",
    indexed=("login", "name", "role", "manager_id", "active"),
    unique=("login",),
    text=("name", "login"),
    newest_first=False,
)

# The people at a customer, seen through the customer's scope, listed oldest first. Their
# numbers are columns (the service console finds a caller by any of them); ``name_key`` is
# the name as searches compare it, which customer search reads by prefix.
CONTACTS: Final = EntitySpec(
    "contact",
    Contact,
    table="contacts",
    indexed=("customer_id", "name", "surname_letter", "mobile", "phone"),
    scope=ScopeRule.via_customer("customer_id"),
    text=("name", "mobile", "phone"),
    newest_first=False,
    keys={"name_key": lambda c: normalize_query(c.name)},
)

PRODUCT_CATEGORIES: Final = EntitySpec(
    "product_category",
    ProductCategory,
    table="product_categories",
    indexed=("name", "parent_id"),
    newest_first=False,
)
PRODUCT_GROUPS: Final = EntitySpec(
    "product_group",
    ProductGroup,
    table="product_groups",
    indexed=("name",),
    members="members",
    newest_first=False,
)
PRODUCTS: Final = EntitySpec(
    "product",
    Product,
    table="products",
    indexed=("name", "code", "specification", "category_id", "active"),
    scope=ScopeRule.group("group_id", PRODUCT_GROUPS),
    unique=("code",),
    text=("name", "code", "specification"),
)

# Who may see a request is decided by the sharing workflow (the requester, the managers
# above the owner), not by a scope rule: the repository lists them in any scope.
CO_OWNERSHIP_REQUESTS: Final = EntitySpec(
    "co_ownership_request",
    CoOwnershipRequest,
    table="co_ownership_requests",
    indexed=("status", "customer_id", "requester_id", "owner_id"),
    soft_delete=False,
)

# The data dictionary: every actor reads it (forms offer its choices), admins keep it.
DICTIONARY_ENTRIES: Final = EntitySpec(
    "dictionary_entry",
    DictionaryEntry,
    table="dictionary_entries",
    indexed=("list", "value", "active"),
    text=("value",),
    newest_first=False,
)

# The settings an admin changed: one record (``crmkit.domain.settings.SETTINGS_ID``).
APP_SETTINGS: Final = EntitySpec(
    "settings", StoredSettings, table="app_settings", soft_delete=False, newest_first=False
)

# Sales opportunities (销售机会): seen by whoever sees their customer; their stage changes
# are stored with them. Amount, probability and the close date have columns so that the
# forecast, targets and win rates are summed by the store (Repository.aggregate).
OPPORTUNITIES: Final = EntitySpec(
    "opportunity",
    Opportunity,
    table="opportunities",
    indexed=(
        "title",
        "owner_id",
        "stage",
        "status",
        "expected_close",
        "closed_on",
        "amount",
        "probability",
    ),
    scope=ScopeRule.via_customer("customer_id"),
    children=(ChildSpec("stage_history", StageChange, table="opportunity_stage_changes"),),
    text=("title",),
)

# Sales leads (线索): seen by their owner and those above; their numbers are indexed (E.164)
# so that a new lead finds the leads it repeats.
LEADS: Final = EntitySpec(
    "lead",
    Lead,
    table="leads",
    indexed=("name", "owner_id", "status", "source", "mobile_e164", "phone_e164"),
    scope=ScopeRule.owner("owner_id"),
    text=("name",),
)

# Quotes (报价单): seen by whoever sees their customer; numbered QT-2026-000123 (a revision
# adds -V2 …; ``quote_number`` is the number every revision shares); lines stored with them.
QUOTES: Final = EntitySpec(
    "quote",
    Quote,
    table="quotes",
    indexed=("quote_number", "owner_id", "opportunity_id", "status", "valid_until"),
    scope=ScopeRule.via_customer("customer_id"),
    children=(ChildSpec("lines", QuoteLine, table="quote_lines", indexed=("product_id",)),),
    number="QT",
)

# Sales orders (销售订单): seen by whoever sees their customer; numbered SO-2026-000123 (a
# revision adds -V2 …); lines and the delivery plan stored with them.
ORDERS: Final = EntitySpec(
    "order",
    Order,
    table="orders",
    indexed=(
        "order_number",
        "owner_id",
        "opportunity_id",
        "quote_id",
        "status",
        "approval",
        "signed_on",
    ),
    scope=ScopeRule.via_customer("customer_id"),
    children=(
        ChildSpec("lines", OrderLine, table="order_lines", indexed=("product_id",)),
        ChildSpec("deliveries", Delivery, table="order_deliveries"),
    ),
    number="SO",
)

# Approvals (审批单): one per submitted document revision. Seen by the submitter and those
# above them (who decide its manager steps); the approvals workflow also shows a pending one
# to whoever may decide its step. ``decider`` (``role:finance``, ``user:<manager id>``)
# indexes the inbox; oldest first, as a work queue.
APPROVALS: Final = EntitySpec(
    "approval",
    Approval,
    table="approvals",
    indexed=("document_id", "document_type", "status", "decider", "submitter_id"),
    scope=ScopeRule.owner("submitter_id"),
    soft_delete=False,
    newest_first=False,
)

# Sales targets (销售目标): a salesperson's per month, seen by them and those above them;
# one per salesperson and month (``key``).
SALES_TARGETS: Final = EntitySpec(
    "sales_target",
    SalesTarget,
    table="sales_targets",
    indexed=("owner_id", "month", "key"),
    scope=ScopeRule.owner("owner_id"),
    unique=("key",),
    newest_first=False,
)

# Receivables (应收款): seen by whoever sees their customer; numbered AR-2027-000001; never
# deleted (a correction is a new entry).
RECEIVABLES: Final = EntitySpec(
    "receivable",
    Receivable,
    table="receivables",
    indexed=("order_id", "owner_id", "status", "due", "balance"),
    scope=ScopeRule.via_customer("customer_id"),
    soft_delete=False,
    number="AR",
)

PAYMENTS: Final = EntitySpec(
    "payment",
    Payment,
    table="payments",
    indexed=(
        "owner_id",
        "received_on",
        "method",
        "category",
        "status",
        "amount",
        "unapplied",
    ),
    scope=ScopeRule.via_customer("customer_id"),
    soft_delete=False,
    number="RC",
    children=(
        ChildSpec(
            "allocations",
            PaymentAllocation,
            table="payment_allocations",
            indexed=("receivable_id",),
        ),
    ),
)

WRITE_OFFS: Final = EntitySpec(
    "write_off",
    WriteOff,
    table="write_offs",
    indexed=("receivable_id", "owner_id", "reverses", "amount"),
    scope=ScopeRule.via_customer("customer_id"),
    soft_delete=False,
    number="WO",
)

# Activities (联系记录): seen by whoever sees their customer; deleted to the recycle bin.
ACTIVITIES: Final = EntitySpec(
    "activity",
    Activity,
    table="activities",
    indexed=(
        "owner_id",
        "kind",
        "at",
        "next_follow_up",
        "followed_up",
        "contact_id",
        "opportunity_id",
    ),
    scope=ScopeRule.via_customer("customer_id"),
)

# Tasks (待办): seen by whoever does them (and their managers) and whoever assigned them.
TASKS: Final = EntitySpec(
    "task",
    Task,
    table="tasks",
    indexed=("status", "due_at", "remind_at", "customer_id", "created_by", "source"),
    scope=ScopeRule.owner("owner_id", co_owners=True),
    members="watchers",
    newest_first=False,
)

# Message templates (短信模板 / 邮件模板): everyone reads them, admins and managers keep them.
MESSAGE_TEMPLATES: Final = EntitySpec(
    "message_template",
    TemplateRecord,
    table="message_templates",
    indexed=("code", "name", "channel", "active"),
    unique=("code",),
    text=("name", "code"),
    newest_first=False,
)

# The message log: seen by whoever sees the customer; a message is never edited or deleted
# (what was sent was sent). ``outbox_key`` finds its delivery status.
MESSAGES: Final = EntitySpec(
    "message",
    Message,
    table="messages",
    indexed=("direction", "channel", "source", "recipient", "at", "batch_id", "outbox_key"),
    scope=ScopeRule.via_customer("customer_id"),
    soft_delete=False,
)

# Recipients who unsubscribed from marketing (退订): one row per address.
OPT_OUTS: Final = EntitySpec(
    "opt_out",
    OptOut,
    table="opt_outs",
    indexed=("recipient", "channel"),
    unique=("recipient",),
    text=("recipient",),  # the SMS centre finds a number by part of it
    soft_delete=False,
)

# SFA plans (SFA方案): shared by everyone (seed 004); steps are stored in the plan.
SFA_PLANS: Final = EntitySpec(
    "sfa_plan",
    SfaPlan,
    table="sfa_plans",
    indexed=("name", "kind", "enabled"),
    text=("name",),
    newest_first=False,
)

# A customer's enrolment in a plan (SFA执行序列): seen by whoever sees the customer.
SFA_ENROLMENTS: Final = EntitySpec(
    "sfa_enrolment",
    SfaEnrolment,
    table="sfa_enrolments",
    indexed=("plan_id", "status", "next_due_at"),
    scope=ScopeRule.via_customer("customer_id"),
    soft_delete=False,
)

# What each occurrence came to: ``key`` is unique, so an occurrence runs once.
SFA_RUNS: Final = EntitySpec(
    "sfa_run",
    SfaRun,
    table="sfa_runs",
    indexed=("key", "enrolment_id", "plan_id", "outcome", "due_at"),
    scope=ScopeRule.via_customer("customer_id"),
    soft_delete=False,
    unique=("key",),
)

# Service tickets (工单): seen by whoever sees their customer (service staff see every
# customer); numbered TK-2027-000001; the thread of service records is stored with them.
# The SLA due times have columns so that "breaching soon" and "breached" are index ranges.
TICKETS: Final = EntitySpec(
    "ticket",
    Ticket,
    table="tickets",
    indexed=(
        "subject",
        "contact_id",
        "type",
        "channel",
        "priority",
        "status",
        "assignee_id",
        "team",
        "opened_at",
        "response_due_at",
        "resolution_due_at",
        "resolved_at",
        "resolution_breached",
        "satisfaction",
    ),
    scope=ScopeRule.via_customer("customer_id"),
    children=(ChildSpec("records", ServiceRecord, table="ticket_records"),),
    number="TK",
    text=("subject",),
)

# SLA policies (服务时效): everyone reads them, admins and managers keep them.
SLA_POLICIES: Final = EntitySpec(
    "sla_policy",
    SlaPolicy,
    table="sla_policies",
    indexed=("name", "type", "priority", "active"),
    newest_first=False,
)

# Complaints (投诉单): seen by whoever sees the customer; corrective actions stored with them.
COMPLAINTS: Final = EntitySpec(
    "complaint",
    Complaint,
    table="complaints",
    indexed=("ticket_id", "owner_id", "severity", "status"),
    scope=ScopeRule.via_customer("customer_id"),
    children=(ChildSpec("actions", CorrectiveAction, table="complaint_actions"),),
    number="CP",
)

# Repair orders (维修单): seen by whoever sees the customer; parts stored with them, with
# the product indexed so that parts used can be counted per product.
REPAIRS: Final = EntitySpec(
    "repair",
    Repair,
    table="repairs",
    indexed=("ticket_id", "technician_id", "status", "product_id", "serial_number", "received_at"),
    scope=ScopeRule.via_customer("customer_id"),
    children=(ChildSpec("parts", RepairPart, table="repair_parts", indexed=("product_id",)),),
    number="RP",
    text=("serial_number",),
)

# The knowledge base (QA问答库): everyone reads it, service staff and managers write it.
KB_ARTICLES: Final = EntitySpec(
    "kb_article",
    Article,
    table="kb_articles",
    indexed=("title", "category", "status"),
    text=("title",),
    fulltext=("title", "body", "category", "tags"),  # repo.search: side table 0024
)

# Customers' questions and the answers given (客户提问与答复): in the customer's scope.
QA_RECORDS: Final = EntitySpec(
    "qa_record",
    QaRecord,
    table="qa_records",
    indexed=("ticket_id", "article_id", "asked_at", "answered_at"),
    scope=ScopeRule.via_customer("customer_id"),
)

BUILTIN_SPECS: Final[tuple[EntitySpec[Any], ...]] = (
    USERS,
    CONTACTS,
    PRODUCT_CATEGORIES,
    PRODUCT_GROUPS,
    PRODUCTS,
    CO_OWNERSHIP_REQUESTS,
    DICTIONARY_ENTRIES,
    APP_SETTINGS,
    OPPORTUNITIES,
    LEADS,
    QUOTES,
    ORDERS,
    APPROVALS,
    SALES_TARGETS,
    RECEIVABLES,
    PAYMENTS,
    WRITE_OFFS,
    ACTIVITIES,
    TASKS,
    MESSAGE_TEMPLATES,
    MESSAGES,
    OPT_OUTS,
    SFA_PLANS,
    SFA_ENROLMENTS,
    SFA_RUNS,
    TICKETS,
    SLA_POLICIES,
    COMPLAINTS,
    REPAIRS,
    KB_ARTICLES,
    QA_RECORDS,
)
