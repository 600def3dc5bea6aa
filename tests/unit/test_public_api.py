"""The public face: ``crmkit.__all__`` is exactly the list below and importable; doctests run."""

from __future__ import annotations

import doctest

import crmkit
import crmkit.testing.clocks

# crmkit's public face, exactly: adding or removing a public name is a change made on purpose,
# here and in ``__all__`` (httpx tests its ``__all__`` the same way). The order is ruff's
# RUF022 (isort-style: CONSTANTS, then Classes, then functions), which ``__all__`` keeps.
PUBLIC_NAMES = [
    "AUTO_ALLOCATE",
    "CRM",
    "EDITABLE_SETTINGS",
    "SCOPED_ROLES",
    "SYSTEM",
    "USCC",
    "Activity",
    "ActivityCount",
    "ActivityKind",
    "Actor",
    "AgingRow",
    "AllocationPreview",
    "Approval",
    "ApprovalPolicy",
    "ApprovalStatus",
    "AuditAction",
    "AuditEntry",
    "AuthenticationError",
    "BackupError",
    "Bucket",
    "CRMError",
    "Capability",
    "Category",
    "ChainRule",
    "ChannelType",
    "ClusterMember",
    "CoOwnershipRequest",
    "CollectionRow",
    "ConcurrencyError",
    "Contact",
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
    "DispatchReport",
    "DuplicateCluster",
    "DuplicateError",
    "DuplicateMatch",
    "DuplicatePolicy",
    "DuplicateRule",
    "DuplicateWarning",
    "Email",
    "EntityImportReport",
    "EntityService",
    "EntitySpec",
    "FieldError",
    "ForecastLine",
    "FreightRule",
    "ImportJob",
    "ImportOutcome",
    "ImportReport",
    "ImportStatus",
    "ImportedRow",
    "Job",
    "Lead",
    "LeadStatus",
    "MergeResult",
    "Money",
    "NotFound",
    "Notification",
    "Notifier",
    "NotifierError",
    "NotifierTimeout",
    "OnDuplicate",
    "Opportunity",
    "OpportunityStatus",
    "Order",
    "OrderLine",
    "OrderStatus",
    "OrderTotal",
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
    "PlannedAllocation",
    "ProbabilityBand",
    "Product",
    "ProductCategory",
    "ProductGroup",
    "Quote",
    "QuoteLine",
    "QuoteStatus",
    "RankBy",
    "Receivable",
    "ReceivableStatus",
    "ReferenceHandler",
    "Region",
    "RequestStatus",
    "RevertReport",
    "Role",
    "RowProblem",
    "RowResult",
    "RuleAction",
    "RuleEvent",
    "RunReport",
    "SalesTarget",
    "ScopeRule",
    "SendResult",
    "Session",
    "SettingRule",
    "Settings",
    "Settlement",
    "SheetColumn",
    "SkipReason",
    "Stage",
    "StageChange",
    "StageTotal",
    "Statement",
    "StatementEntry",
    "StatementLine",
    "Step",
    "TableError",
    "TargetProgress",
    "Task",
    "TaskStatus",
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
    "workdays_between",
    "write_table",
]


def test_all_is_exactly_the_public_face():
    assert crmkit.__all__ == PUBLIC_NAMES


def test_all_lists_each_public_name_once_and_every_name_exists():
    # Its order is ruff's (RUF022, isort-style), checked by the linter.
    assert len(set(crmkit.__all__)) == len(crmkit.__all__)
    public = {n for n in dir(crmkit) if not n.startswith("_") and n[0].isupper()}
    assert public <= set(crmkit.__all__)
    for name in crmkit.__all__:
        assert hasattr(crmkit, name), name


def test_every_error_class_is_exported():
    for name in (
        "CRMError",
        "ValidationError",
        "DuplicateError",
        "PermissionDenied",
        "NotFound",
        "ConcurrencyError",
        "WorkflowError",
        "TableError",
        "BackupError",
    ):
        assert issubclass(getattr(crmkit, name), crmkit.CRMError)


def test_docstring_examples_run():
    for module in (crmkit, crmkit.testing.clocks):
        result = doctest.testmod(module)
        assert result.attempted > 0
        assert result.failed == 0
