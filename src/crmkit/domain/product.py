"""The product catalogue (产品): products, their category tree and visibility groups.

Quotes and orders pick their lines from here. A product carries its list price and cost
(the gross margin a sale earns comes from them), its tax rate (价税分离 splits a
tax-inclusive price by it) and its unit. Product groups restrict who sees and manages their
products (seed 004, 产品分组权限): a group lists member tokens, ``user:<id>`` or
``role:<role>``; an empty list leaves the group open to everyone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

import attrs

from crmkit.domain import fields as f
from crmkit.domain.errors import FieldErrors
from crmkit.domain.user import Role
from crmkit.domain.values import Money

DEFAULT_TAX_RATE: Final = Decimal("0.13")  # 增值税 on goods, the common case for SMEs


@attrs.frozen(kw_only=True)
class ProductCategory:
    """A node of the category tree (``parent_id`` None: a top-level category)."""

    id: str
    name: str
    parent_id: str | None = None
    sort: int = 0
    version: int = 1
    created_at: datetime
    updated_at: datetime
    created_by: str
    deleted_at: datetime | None = None


@attrs.frozen(kw_only=True)
class ProductGroup:
    """A set of products only its members see and manage (empty ``members``: everyone)."""

    id: str
    name: str
    members: tuple[str, ...] = ()
    remarks: str | None = None
    version: int = 1
    created_at: datetime
    updated_at: datetime
    created_by: str
    deleted_at: datetime | None = None


@attrs.frozen(kw_only=True)
class Product:
    """A product or service sold.

    Attributes:
        code: the product code (货号/编码), unique among live products when given.
        specification: 规格型号.
        unit: 单位 (套, 台, 个, 小时 …).
        price: list price, tax included (the usual way Chinese price lists are written).
        cost: unit cost, for gross margin.
        tax_rate: VAT rate as a fraction (0.13 = 13%).
        weight: kg per unit, for freight charged by weight.
        active: inactive products stay on old documents but are not offered on new ones.
    """

    id: str
    name: str
    code: str | None = None
    specification: str | None = None
    unit: str | None = None
    category_id: str | None = None
    group_id: str | None = None
    price: Money | None = None
    cost: Money | None = None
    tax_rate: Decimal = DEFAULT_TAX_RATE
    weight: Decimal | None = None
    active: bool = True
    description: str | None = None
    custom: Mapping[str, Any] = attrs.field(factory=dict)
    version: int = 1
    created_at: datetime
    updated_at: datetime
    created_by: str
    deleted_at: datetime | None = None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def margin(self) -> Money | None:
        """List price less cost, both tax included as entered (None if either is unknown)."""
        if self.price is None or self.cost is None or self.price.currency != self.cost.currency:
            return None
        return self.price - self.cost


def _member_token(token: str) -> bool:
    kind, _, value = token.partition(":")
    if kind == "role":
        return value in {r.value for r in Role}
    return kind == "user" and bool(value)


PRODUCT_FIELDS: Final = (
    f.text("name", 100, required=True),
    f.text("code", 50),
    f.text("specification", 100),
    f.text("unit", 10),
    f.ref("category_id"),
    f.ref("group_id"),
    f.money("price"),
    f.money("cost"),
    f.rate("tax_rate", default=DEFAULT_TAX_RATE),
    f.boolean("active", default=True),
    f.multiline("description", 2000),
    f.quantity("weight"),
)
CATEGORY_FIELDS: Final = (
    f.text("name", 50, required=True),
    f.ref("parent_id"),
    f.integer("sort", default=0),
)
GROUP_FIELDS: Final = (
    f.text("name", 50, required=True),
    f.tokens("members", _member_token),
    f.multiline("remarks", 500),
)


def check_product(product: Product, errors: FieldErrors) -> None:
    """Rules across a product's fields."""
    if product.tax_rate is None:
        errors.add("tax_rate", "required", None)
    if (
        product.price is not None
        and product.cost is not None
        and product.price.currency != product.cost.currency
    ):
        errors.add("cost", "money.currency_mismatch", str(product.cost))
