"""crmkit: a CRM domain library for Chinese SMEs.

>>> import crmkit
>>> crm = crmkit.open()                       # in-memory; "sqlite:///crm.db" for a file
>>> admin = crm.bootstrap_admin(name="管理员", password="correct horse")
>>> with crm.session(actor=admin) as s:
...     c = s.customers.create(name="青岛金智电子科技有限公司", mobile="+86 138-0013-8000")
>>> c.mobile.e164
'+8613800138000'
"""

from crmkit._crm import CRM, open
from crmkit.adapters.sms_callbacks import CallbackError
from crmkit.adapters.sqlite_backup import BackupError
from crmkit.adapters.tabular import TableError, write_table
from crmkit.domain.activity import Activity, ActivityKind, Task, TaskStatus
from crmkit.domain.approvals import (
    Approval,
    ApprovalPolicy,
    ApprovalStatus,
    ChainRule,
    Decision,
    Step,
)
from crmkit.domain.audit import AuditAction, AuditEntry
from crmkit.domain.complaint import (
    ActionStatus,
    Complaint,
    ComplaintStatus,
    CorrectiveAction,
    Severity,
)
from crmkit.domain.contact import Contact
from crmkit.domain.custom_fields import CustomField, CustomFieldSchema, CustomFieldType
from crmkit.domain.customer import (
    Category,
    ChannelType,
    CreditRating,
    Customer,
    CustomerKind,
    Settlement,
)
from crmkit.domain.dedup.rules import DuplicateRule, RuleAction, RuleEvent
from crmkit.domain.dictionary import DictionaryEntry
from crmkit.domain.errors import (
    AuthenticationError,
    ConcurrencyError,
    CRMError,
    DuplicateError,
    DuplicateMatch,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationError,
    WorkflowError,
)
from crmkit.domain.freight import FreightRule
from crmkit.domain.imports import (
    ImportJob,
    ImportReport,
    ImportStatus,
    OnDuplicate,
    Outcome,
    RowProblem,
    RowResult,
)
from crmkit.domain.kb import Article, ArticleStatus, QaRecord
from crmkit.domain.lead import Lead, LeadStatus
from crmkit.domain.messages import language, set_language
from crmkit.domain.messaging import (
    Channel,
    Direction,
    Message,
    MessageSource,
    OptOut,
    TemplateRecord,
)
from crmkit.domain.opportunity import (
    ForecastLine,
    Opportunity,
    OpportunityStatus,
    Pipeline,
    ProbabilityBand,
    Stage,
    StageChange,
    StageTotal,
    WinRate,
    WinRates,
)
from crmkit.domain.order import (
    Delivery,
    DeliveryState,
    Order,
    OrderLine,
    OrderStatus,
    OrderTotal,
    RankBy,
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
from crmkit.domain.quote import Quote, QuoteLine, QuoteStatus
from crmkit.domain.receivable import (
    AgingRow,
    CustomerBalance,
    OwnerBalance,
    Receivable,
    ReceivableStatus,
    Statement,
    StatementEntry,
    StatementLine,
    UnpaidOrder,
)
from crmkit.domain.receivables import Bucket
from crmkit.domain.regions import Region
from crmkit.domain.repair import Repair, RepairPart, RepairStatus
from crmkit.domain.settings import EDITABLE as EDITABLE_SETTINGS
from crmkit.domain.settings import SettingRule
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
from crmkit.domain.sheets import (
    DuplicatePolicy,
    EntityImportReport,
    ImportedRow,
    ImportOutcome,
    SkipReason,
)
from crmkit.domain.sla import ServiceHours
from crmkit.domain.target import SalesTarget
from crmkit.domain.templates import MessageTemplate, sms_segments
from crmkit.domain.ticket import (
    RecordKind,
    ServiceRecord,
    SlaPolicy,
    SlaTarget,
    Ticket,
    TicketChannel,
    TicketPriority,
    TicketStatus,
    TicketType,
)
from crmkit.domain.user import Role, User
from crmkit.domain.values import USCC, Email, IdNumber, IdType, Money, Phone
from crmkit.domain.workdays import WeekdayCalendar, WorkCalendar, add_workdays, workdays_between
from crmkit.storage.ports import Page
from crmkit.storage.queues import Job, OutboxMessage, OutboxStatus
from crmkit.storage.spec import EntitySpec, ScopeRule
from crmkit.workflows.activities import ActivityCount
from crmkit.workflows.context import (
    SCOPED_ROLES,
    SYSTEM,
    Actor,
    Capability,
    Permission,
    Permissions,
)
from crmkit.workflows.dedup.config import DedupConfig
from crmkit.workflows.dedup.scan import ClusterMember, DuplicateCluster
from crmkit.workflows.dispatch import DispatchReport
from crmkit.workflows.entity import EntityService
from crmkit.workflows.entity_io import SheetColumn
from crmkit.workflows.imports.revert import RevertReport
from crmkit.workflows.jobs import BatchJobHandler, RunReport
from crmkit.workflows.merge import MergeResult, ReferenceHandler
from crmkit.workflows.messages import GroupSendReport, Preview
from crmkit.workflows.notify import (
    BatchNotifier,
    DeliveryStatus,
    Notification,
    Notifier,
    NotifierError,
    NotifierTimeout,
    SendResult,
)
from crmkit.workflows.payments import AUTO as AUTO_ALLOCATE
from crmkit.workflows.payments import AllocationPreview, CollectionRow, PlannedAllocation
from crmkit.workflows.runtime import Settings
from crmkit.workflows.session import DuplicateWarning, Session
from crmkit.workflows.sfa import EnrolReport
from crmkit.workflows.targets import TargetProgress
from crmkit.workflows.tickets import CallerView, Compliance, Satisfaction, TicketCount

__version__ = "0.1.0"

__all__ = [
    "AUTO_ALLOCATE",
    "CRM",
    "EDITABLE_SETTINGS",
    "SCOPED_ROLES",
    "SYSTEM",
    "USCC",
    "ActionStatus",
    "Activity",
    "ActivityCount",
    "ActivityKind",
    "Actor",
    "AgingRow",
    "AllocationPreview",
    "Approval",
    "ApprovalPolicy",
    "ApprovalStatus",
    "Article",
    "ArticleStatus",
    "AuditAction",
    "AuditEntry",
    "AuthenticationError",
    "BackupError",
    "BatchJobHandler",
    "BatchNotifier",
    "Bucket",
    "CRMError",
    "CallbackError",
    "CallerView",
    "Capability",
    "Category",
    "ChainRule",
    "Channel",
    "ChannelType",
    "ClusterMember",
    "CoOwnershipRequest",
    "CollectionRow",
    "Complaint",
    "ComplaintStatus",
    "Compliance",
    "ConcurrencyError",
    "Contact",
    "CorrectiveAction",
    "CreditRating",
    "CustomField",
    "CustomFieldSchema",
    "CustomFieldType",
    "Customer",
    "CustomerBalance",
    "CustomerKind",
    "Decision",
    "DedupConfig",
    "Delivery",
    "DeliveryState",
    "DeliveryStatus",
    "DictionaryEntry",
    "Direction",
    "DispatchReport",
    "DuplicateCluster",
    "DuplicateError",
    "DuplicateMatch",
    "DuplicatePolicy",
    "DuplicateRule",
    "DuplicateWarning",
    "Email",
    "EnrolReport",
    "EnrolmentStatus",
    "EntityImportReport",
    "EntityService",
    "EntitySpec",
    "FieldError",
    "ForecastLine",
    "FreightRule",
    "GroupSendReport",
    "IdNumber",
    "IdType",
    "ImportJob",
    "ImportOutcome",
    "ImportReport",
    "ImportStatus",
    "ImportedRow",
    "Job",
    "Lead",
    "LeadStatus",
    "MergeResult",
    "Message",
    "MessageSource",
    "MessageTemplate",
    "Money",
    "NotFound",
    "Notification",
    "Notifier",
    "NotifierError",
    "NotifierTimeout",
    "OffsetUnit",
    "OnDuplicate",
    "Opportunity",
    "OpportunityStatus",
    "OptOut",
    "Order",
    "OrderLine",
    "OrderStatus",
    "OrderTotal",
    "OutboxMessage",
    "OutboxStatus",
    "Outcome",
    "OwnerBalance",
    "Page",
    "Payment",
    "PaymentAllocation",
    "PaymentCategory",
    "PaymentMethod",
    "PaymentStatus",
    "Permission",
    "PermissionDenied",
    "Permissions",
    "Phone",
    "Pipeline",
    "PlanKind",
    "PlannedAllocation",
    "Preview",
    "ProbabilityBand",
    "Product",
    "ProductCategory",
    "ProductGroup",
    "QaRecord",
    "Quote",
    "QuoteLine",
    "QuoteStatus",
    "RankBy",
    "Receivable",
    "ReceivableStatus",
    "RecordKind",
    "ReferenceHandler",
    "Region",
    "Repair",
    "RepairPart",
    "RepairStatus",
    "RequestStatus",
    "RevertReport",
    "Role",
    "RowProblem",
    "RowResult",
    "RuleAction",
    "RuleEvent",
    "RunOutcome",
    "RunReport",
    "SalesTarget",
    "Satisfaction",
    "ScopeRule",
    "SendResult",
    "ServiceHours",
    "ServiceRecord",
    "Session",
    "SettingRule",
    "Settings",
    "Settlement",
    "Severity",
    "SfaEnrolment",
    "SfaPlan",
    "SfaRun",
    "SfaStep",
    "SheetColumn",
    "SkipReason",
    "SlaPolicy",
    "SlaTarget",
    "Stage",
    "StageChange",
    "StageTotal",
    "Statement",
    "StatementEntry",
    "StatementLine",
    "Step",
    "StepAction",
    "TableError",
    "TargetProgress",
    "Task",
    "TaskStatus",
    "TemplateRecord",
    "Ticket",
    "TicketChannel",
    "TicketCount",
    "TicketPriority",
    "TicketStatus",
    "TicketType",
    "UnpaidOrder",
    "User",
    "ValidationError",
    "WeekdayCalendar",
    "WinRate",
    "WinRates",
    "WorkCalendar",
    "WorkflowError",
    "WriteOff",
    "__version__",
    "add_workdays",
    "language",
    "open",
    "set_language",
    "sms_segments",
    "workdays_between",
    "write_table",
]
