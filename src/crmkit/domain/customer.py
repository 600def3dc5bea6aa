"""Customers: the aggregate every other object in a CRM hangs from.

A ``Customer`` is frozen; workflows change it by validating input with
:func:`parse_customer_input`, building a new version with ``attrs.evolve`` and checking the
cross-field rules with :func:`check_customer_rules`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, Final

import attrs

from crmkit.domain.common import (
    GENDER_WORDS,
    Gender,
    is_blank,
    parse_date,
    parse_enum,
    parse_id,
    parse_ids,
    parse_multiline,
    parse_reachability,
    parse_tags,
    parse_text,
    parse_value,
)
from crmkit.domain.custom_fields import CustomFieldSchema
from crmkit.domain.dictionary import CUSTOMER_LISTS, Vocabulary
from crmkit.domain.errors import FieldErrors, WorkflowError
from crmkit.domain.regions import Region
from crmkit.domain.states import StateMachine
from crmkit.domain.values import (
    USCC,
    Email,
    IdNumber,
    IdType,
    Money,
    Phone,
    id_number_params,
    normalize_company_name,
    normalize_person_name,
)


class CustomerKind(enum.StrEnum):
    COMPANY = "company"
    INDIVIDUAL = "individual"


class Category(enum.StrEnum):
    """The customer lifecycle: 潜在 → 正式 → 签约, or 放弃."""

    POTENTIAL = "potential"
    FORMAL = "formal"
    SIGNED = "signed"
    ABANDONED = "abandoned"

    @property
    def label_zh(self) -> str:
        return CATEGORY_LABELS_ZH[self]


CATEGORY_LABELS_ZH: Final = MappingProxyType(
    {
        Category.POTENTIAL: "潜在客户",
        Category.FORMAL: "正式客户",
        Category.SIGNED: "签约客户",
        Category.ABANDONED: "放弃客户",
    }
)

# Which category may follow which. Abandoned customers can be revived as potential.
CATEGORY_TRANSITIONS: Final[Mapping[Category, frozenset[Category]]] = MappingProxyType(
    {
        Category.POTENTIAL: frozenset({Category.FORMAL, Category.ABANDONED}),
        Category.FORMAL: frozenset({Category.SIGNED, Category.ABANDONED}),
        Category.SIGNED: frozenset({Category.FORMAL, Category.ABANDONED}),
        Category.ABANDONED: frozenset({Category.POTENTIAL}),
    }
)


# The lifecycle as a state machine (labels read from the enum when an error is raised).
CATEGORY_MOVES: Final[StateMachine[Category]] = StateMachine(
    "customer", CATEGORY_TRANSITIONS, labels_zh={c: c.label_zh for c in Category}
)


class ChannelType(enum.StrEnum):
    """渠道客户 (a reseller) or 终端客户 (the end customer)."""

    TERMINAL = "terminal"
    CHANNEL = "channel"


class Settlement(enum.StrEnum):
    """现金 (cash) or 赊销 (credit) terms."""

    CASH = "cash"
    CREDIT = "credit"


class CreditRating(enum.StrEnum):
    """信誉度: A (excellent) to D (poor)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


KIND_ALIASES: Final = {
    "企业": CustomerKind.COMPANY,
    "公司": CustomerKind.COMPANY,
    "个人": CustomerKind.INDIVIDUAL,
}
CATEGORY_ALIASES: Final = {
    "潜在": Category.POTENTIAL,
    "潜在客户": Category.POTENTIAL,
    "正式": Category.FORMAL,
    "正式客户": Category.FORMAL,
    "签约": Category.SIGNED,
    "签约客户": Category.SIGNED,
    "放弃": Category.ABANDONED,
    "放弃客户": Category.ABANDONED,
}
CHANNEL_ALIASES: Final = {
    "渠道": ChannelType.CHANNEL,
    "渠道客户": ChannelType.CHANNEL,
    "终端": ChannelType.TERMINAL,
    "终端客户": ChannelType.TERMINAL,
}
SETTLEMENT_ALIASES: Final = {
    "现金": Settlement.CASH,
    "现款": Settlement.CASH,
    "赊销": Settlement.CREDIT,
    "信用": Settlement.CREDIT,
}
ID_TYPE_ALIASES: Final = {
    "身份证": IdType.RESIDENT,
    "居民身份证": IdType.RESIDENT,
    "港澳通行证": IdType.HK_MACAO,
    "回乡证": IdType.HK_MACAO,
    "台胞证": IdType.TAIWAN,
    "台湾通行证": IdType.TAIWAN,
    "外国人永久居留证": IdType.FOREIGN_PERMANENT,
    "永久居留身份证": IdType.FOREIGN_PERMANENT,
    "其他": IdType.OTHER,
}
RATING_ALIASES: Final = {
    "优": CreditRating.A,
    "良": CreditRating.B,
    "中": CreditRating.C,
    "差": CreditRating.D,
}


@attrs.frozen(kw_only=True)
class Customer:
    """A company or individual customer. Read-only: change it through the customers service."""

    id: str
    kind: CustomerKind
    name: str
    category: Category = Category.POTENTIAL
    channel_type: ChannelType = ChannelType.TERMINAL
    related_customer_ids: tuple[str, ...] = ()
    source: str | None = None
    industry: str | None = None
    region: Region | None = None
    address: str | None = None
    tags: tuple[str, ...] = ()
    credit_rating: CreditRating | None = None
    settlement: Settlement = Settlement.CASH
    credit_limit: Money | None = None
    owner_id: str | None = None
    co_owner_ids: tuple[str, ...] = ()
    parent_id: str | None = None
    uscc: USCC | None = None
    gender: Gender | None = None
    birthday: date | None = None
    # An individual's identity document number, whole (shown masked: see IdNumber), and
    # its document type (the number's ``kind``; RESIDENT, 居民身份证, unless told).
    id_number: IdNumber | None = None
    id_type: IdType | None = None
    mobile: Phone | None = None
    phone: Phone | None = None
    email: Email | None = None
    remarks: str | None = None
    custom: Mapping[str, Any] = attrs.field(factory=dict)
    version: int = 1
    created_at: datetime
    updated_at: datetime
    created_by: str
    deleted_at: datetime | None = None
    # Set on a customer merged into another (it is then in the recycle bin): the winner.
    merged_into: str | None = None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def owned_by(self, user_id: str) -> bool:
        """True if ``user_id`` owns or co-owns this customer."""
        return self.owner_id == user_id or user_id in self.co_owner_ids


# Fields a caller may set on create/update, in form order (ValidationError keeps this order).
CUSTOMER_FIELDS: Final[tuple[str, ...]] = (
    "kind",
    "name",
    "category",
    "channel_type",
    "related_customer_ids",
    "source",
    "industry",
    "region",
    "address",
    "tags",
    "credit_rating",
    "settlement",
    "credit_limit",
    "owner_id",
    "co_owner_ids",
    "parent_id",
    "uscc",
    "gender",
    "birthday",
    "id_number",
    "id_type",
    "mobile",
    "phone",
    "email",
    "remarks",
    "custom",
)
REQUIRED_CUSTOMER_FIELDS: Final = frozenset({"kind", "name"})


def parse_customer_input(
    raw: Mapping[str, Any],
    errors: FieldErrors,
    *,
    kind: CustomerKind | None,
    phone_region: str,
    custom_schema: CustomFieldSchema,
    base_custom: Mapping[str, Any] | None = None,
    partial: bool = False,
    strict_names: bool = False,
    vocabulary: Vocabulary | None = None,
    id_number: IdNumber | None = None,
) -> dict[str, Any]:
    """Turn caller input (strings, lists, value objects) into typed customer fields.

    Args:
        raw: field name -> value, as a form, an import row or code passes it.
        errors: every problem is added here; nothing is raised.
        kind: the customer kind, when known before parsing (on update: the stored kind).
        phone_region: region for numbers written without a country code.
        custom_schema: the application's custom fields.
        base_custom: stored custom values that ``raw["custom"]`` updates.
        partial: True for an update (missing fields mean "unchanged").
        strict_names: seed 002's one-script rule for the name (``Settings.strict_name_script``).
        vocabulary: the data dictionary's closed lists: source, industry and tags must be
            among their choices (an alias is stored as its choice).
        id_number: the stored identity number (on update): a new ``id_type`` alone
            re-checks it as that document's number.

    Returns:
        Only the fields present in ``raw`` (plus required defaults on create), typed.
    """
    out: dict[str, Any] = {}
    for key in raw:
        if key not in CUSTOMER_FIELDS:
            errors.add(key, "unknown_field", raw[key])

    def has(key: str) -> bool:
        return key in raw

    if has("kind"):
        out["kind"] = parse_enum(CustomerKind, raw["kind"], errors, "kind", KIND_ALIASES)
    elif not partial:
        out["kind"] = CustomerKind.COMPANY
    effective_kind = out.get("kind") or kind or CustomerKind.COMPANY

    if has("name") or not partial:
        name_raw = raw.get("name")
        if is_blank(name_raw):
            errors.add("name", "required", name_raw)
        elif effective_kind is CustomerKind.COMPANY:
            out["name"] = parse_value(
                normalize_company_name, name_raw, errors, "name", strict=strict_names
            )
        else:
            out["name"] = parse_value(
                normalize_person_name, name_raw, errors, "name", strict=strict_names
            )

    simple_enums: tuple[tuple[str, type[enum.Enum], Mapping[str, Any]], ...] = (
        ("category", Category, CATEGORY_ALIASES),
        ("channel_type", ChannelType, CHANNEL_ALIASES),
        ("settlement", Settlement, SETTLEMENT_ALIASES),
        ("credit_rating", CreditRating, RATING_ALIASES),
        ("gender", Gender, GENDER_WORDS),
    )
    for key, enum_type, aliases in simple_enums:
        if has(key):
            out[key] = parse_enum(enum_type, raw[key], errors, key, dict(aliases))
    for key, limit in (("source", 50), ("industry", 50), ("address", 200)):
        if has(key):
            out[key] = parse_text(raw[key], errors, key, limit)
    if has("remarks"):
        out["remarks"] = parse_multiline(raw["remarks"], errors, "remarks", 2000)
    if has("tags"):
        out["tags"] = parse_tags(raw["tags"], errors, "tags")
    if vocabulary is not None:
        _from_dictionary(out, vocabulary, errors)
    for key in ("related_customer_ids", "co_owner_ids"):
        if has(key):
            out[key] = parse_ids(raw[key], errors, key)
    for key in ("owner_id", "parent_id"):
        if has(key):
            out[key] = parse_id(raw[key], errors, key)
    if has("region"):
        value = raw["region"]
        out["region"] = (
            value
            if isinstance(value, Region)
            else parse_value(Region.parse, value, errors, "region")
        )
    if has("credit_limit"):
        value = raw["credit_limit"]
        out["credit_limit"] = (
            value
            if isinstance(value, Money)
            else parse_value(Money.parse, value, errors, "credit_limit", allow_negative=False)
        )
    if has("uscc"):
        value = raw["uscc"]
        out["uscc"] = (
            value if isinstance(value, USCC) else parse_value(USCC.parse, value, errors, "uscc")
        )
    if has("birthday"):
        out["birthday"] = parse_date(raw["birthday"], errors, "birthday")
    if has("id_number") or has("id_type"):
        _parse_id_document(raw, errors, out, id_number)
    parse_reachability(raw, errors, out, phone_region=phone_region)
    if has("custom") or not partial:
        custom_raw = raw.get("custom") or {}
        if not isinstance(custom_raw, Mapping):
            errors.add("custom", "invalid_type", custom_raw, expected="mapping")
        else:
            out["custom"] = custom_schema.validate(custom_raw, errors, base=base_custom)
    # Enum and id parsers return None for blanks; on create, fall back to the defaults.
    if not partial:
        for key in ("category", "channel_type", "settlement"):
            if out.get(key) is None:
                out.pop(key, None)
    else:
        for key in ("category", "channel_type", "settlement", "kind"):
            if key in out and out[key] is None and key in raw and is_blank(raw[key]):
                errors.add(key, "required", raw[key])
                out.pop(key)
    for key in ("related_customer_ids", "co_owner_ids", "tags"):
        if key in out and out[key] is None:
            out[key] = ()
    return out


def _parse_id_document(
    raw: Mapping[str, Any],
    errors: FieldErrors,
    out: dict[str, Any],
    stored: IdNumber | None,
) -> None:
    """``id_type`` and ``id_number`` together: the number is checked as its type's (the
    type given, else the stored number's, else 居民身份证), and ``id_type`` follows the
    number (a number without a type is a resident card's; no number, no type)."""
    kind: IdType | None = None
    if "id_type" in raw:
        kind = parse_enum(IdType, raw["id_type"], errors, "id_type", dict(ID_TYPE_ALIASES))
        if kind is None and not is_blank(raw["id_type"]):
            return  # refused: the number cannot be checked against it
        out["id_type"] = kind
    if "id_number" in raw:
        value = raw["id_number"]
        if isinstance(value, IdNumber):
            if kind is not None and value.kind is not kind:
                value = parse_value(IdNumber.parse, value.value, errors, "id_number", kind=kind)
            number = value
        elif IdNumber.is_masked(value):
            # The masked form crmkit shows and exports (an export read back): it holds no
            # number, so it changes nothing (on create: no number); a type alone re-checks
            # the stored number.
            if stored is None:
                out.pop("id_type", None)
                return
            if "id_type" not in raw:
                return
            number = parse_value(
                IdNumber.parse, stored.value, errors, "id_number", kind=kind or IdType.RESIDENT
            )
            if number is None:
                return
        else:
            if kind is None and "id_type" not in raw and stored is not None:
                kind = stored.kind
            number = parse_value(
                IdNumber.parse, value, errors, "id_number", kind=kind or IdType.RESIDENT
            )
            if number is None and not is_blank(value):
                return  # refused
    elif stored is not None:
        number = parse_value(
            IdNumber.parse, stored.value, errors, "id_number", kind=kind or IdType.RESIDENT
        )
        if number is None:
            return  # the stored number is not one of that type's
    else:
        return  # a type alone, with no number: check_customer_rules refuses it
    out["id_number"] = number
    if number is not None:
        out["id_type"] = number.kind
    elif "id_type" not in raw:
        out["id_type"] = None  # the number cleared: its type goes with it


def check_customer_rules(customer: Customer, errors: FieldErrors, *, today: date) -> None:
    """Cross-field rules that hold for every stored customer."""
    if customer.kind is CustomerKind.INDIVIDUAL and customer.uscc is not None:
        errors.add("uscc", "customer.uscc_individual", customer.uscc.value)
    if customer.kind is CustomerKind.COMPANY and customer.birthday is not None:
        errors.add("birthday", "customer.birthday_company", customer.birthday.isoformat())
    if customer.birthday is not None and customer.birthday > today:
        errors.add("birthday", "date.future", customer.birthday.isoformat())
    if customer.id_number is not None:
        _check_id_number(customer, customer.id_number, errors, today)
    if customer.id_type is not None and customer.id_number is None:
        # (with a number, the number's own errors say it all)
        if customer.kind is CustomerKind.COMPANY:
            errors.add("id_type", "customer.id_type_company", customer.id_type.value)
        else:
            errors.add("id_type", "customer.id_type_without_number", customer.id_type.value)
    if customer.credit_limit is not None and customer.settlement is not Settlement.CREDIT:
        errors.add("credit_limit", "customer.credit_limit_cash", str(customer.credit_limit.amount))
    if customer.owner_id is not None and customer.owner_id in customer.co_owner_ids:
        errors.add("co_owner_ids", "customer.owner_in_co_owners", customer.owner_id)
    if customer.parent_id is not None and customer.parent_id == customer.id:
        errors.add("parent_id", "customer.parent_self", customer.parent_id)
    if customer.id in customer.related_customer_ids:
        errors.add("related_customer_ids", "customer.parent_self", customer.id)


def _check_id_number(
    customer: Customer, number: IdNumber, errors: FieldErrors, today: date
) -> None:
    """An identity number is an individual's, and a resident card's agrees with their
    birthday (the birthday is never taken from it: a customer may keep theirs
    unrecorded)."""
    if customer.kind is CustomerKind.COMPANY:
        errors.add("id_number", "customer.id_number_company", number.masked)
    born = number.birth_date
    if born is None:
        return  # another document's number: it encodes no birth date
    if born > today:
        errors.add(
            "id_number",
            "id_number.invalid",
            number.masked,
            **id_number_params(number.kind, "birth_future"),
        )
    if customer.birthday is not None and customer.birthday != born:
        errors.add("birthday", "customer.birthday_id_number", customer.birthday.isoformat())


def check_category_move(customer: Customer, target: Category) -> None:
    """Raise ``WorkflowError`` unless ``customer`` may move to ``target``."""
    current = customer.category
    if target is current:
        return
    CATEGORY_MOVES.check(
        current, target, move=f"move to {target.value}", move_zh=f"转为{target.label_zh}"
    )
    check_formal_requirements(customer, target)


def check_formal_requirements(customer: Customer, target: Category) -> None:
    """A channel customer needs a related (terminal) customer before it becomes formal."""
    if (
        target is Category.FORMAL
        and customer.channel_type is ChannelType.CHANNEL
        and not customer.related_customer_ids
    ):
        raise WorkflowError(
            "customer",
            customer.category.value,
            f"move to {target.value}",
            state_zh=customer.category.label_zh,
            move_zh=f"转为{target.label_zh}",
            reason="a channel customer needs at least one related customer",
            reason_zh="渠道客户必须至少关联一个客户",
        )


def _from_dictionary(out: dict[str, Any], vocabulary: Vocabulary, errors: FieldErrors) -> None:
    """Hold source, industry and tags to the dictionary's closed lists (数据字典)."""
    for list_code, field in CUSTOMER_LISTS.items():
        value = out.get(field)
        if not value or not vocabulary.closed(list_code):
            continue
        if field == "tags":
            found = [vocabulary.resolve(list_code, tag, errors, "tags") for tag in value]
            out["tags"] = tuple(sorted({t for t in found if t is not None}))
        else:
            out[field] = vocabulary.resolve(list_code, value, errors, field)
