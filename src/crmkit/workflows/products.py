"""The product catalogue on the kernel: ``session.products``, ``session.product_categories``
and ``session.product_groups``.

Everything but the catalogue's own rules comes from :class:`EntityService`: permissions,
scope (a product in a restricted group is invisible to non-members, see
:class:`~crmkit.domain.product.ProductGroup`), validation, versions, audit, events, the
recycle bin.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from crmkit.domain.errors import FieldErrors, WorkflowError
from crmkit.domain.fields import InputField
from crmkit.domain.headers import PRODUCT_HEADER_SYNONYMS
from crmkit.domain.product import (
    CATEGORY_FIELDS,
    GROUP_FIELDS,
    PRODUCT_FIELDS,
    Product,
    ProductCategory,
    ProductGroup,
    check_product,
)
from crmkit.storage.catalog import PRODUCT_CATEGORIES, PRODUCT_GROUPS, PRODUCTS
from crmkit.storage.ports import EVERYTHING, EntityQuery
from crmkit.storage.spec import EntitySpec, Filter, Op
from crmkit.workflows.entity import EntityService

# A category tree deeper than this is a data error, not a catalogue.
MAX_CATEGORY_DEPTH = 20


class ProductService(EntityService[Product]):
    """``session.products``: the catalogue quotes and orders pick from.

    ``list`` filters: ``code``, ``name``, ``specification``, ``category_id``,
    ``group_id``, ``active`` (with ``__in``, ``__contains`` … suffixes) and ``q`` (text in
    the name, code or specification).

    ``import_file`` and ``export`` read and write price lists (CSV/XLSX) with the
    headers in :data:`~crmkit.domain.headers.PRODUCT_HEADER_SYNONYMS`: a row's code finds
    the product it repeats, its 类别 names a category (``门锁/智能门锁``) and its 分组 a
    group.
    """

    spec = PRODUCTS
    fields: ClassVar[tuple[InputField, ...]] = PRODUCT_FIELDS
    references: ClassVar[Mapping[str, EntitySpec[Any]]] = {
        "category_id": PRODUCT_CATEGORIES,
        "group_id": PRODUCT_GROUPS,
    }
    custom = True
    sheet_headers: ClassVar[Mapping[str, tuple[str, ...]]] = PRODUCT_HEADER_SYNONYMS

    def check(self, entity: Product, current: Product | None, errors: FieldErrors) -> None:
        check_product(entity, errors)
        group = entity.group_id
        # Putting a product in a group one cannot see would hide it from oneself.
        if (
            group is not None
            and group != getattr(current, "group_id", None)
            and self._s._uow.repo(PRODUCT_GROUPS).get(group, self._s.actor.scope) is None
        ):
            errors.add("group_id", "not_found_ref", group)

    def by_code(self, code: str) -> Product | None:
        """The live product with this code, if the actor may see it."""
        page = self.list(code=code.strip(), limit=1)
        return page.items[0] if page.items else None


class ProductCategoryService(EntityService[ProductCategory]):
    """``session.product_categories``: the category tree (``parent_id``)."""

    spec = PRODUCT_CATEGORIES
    fields: ClassVar[tuple[InputField, ...]] = CATEGORY_FIELDS
    references: ClassVar[Mapping[str, EntitySpec[Any]]] = {"parent_id": PRODUCT_CATEGORIES}
    sheet_headers: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "parent": ("上级类别", "上级分类", "父类别", "parent category")
    }
    sheet_labels: ClassVar[Mapping[str, tuple[str, str]]] = {
        "parent": ("Parent category", "上级类别")
    }

    def check(
        self, entity: ProductCategory, current: ProductCategory | None, errors: FieldErrors
    ) -> None:
        parent = entity.parent_id
        if current is None or parent is None or parent == current.parent_id:
            return
        repo = self.repo
        seen = {entity.id}
        for _ in range(MAX_CATEGORY_DEPTH):
            if parent in seen:
                errors.add("parent_id", "ref_cycle", entity.parent_id)
                return
            seen.add(parent)
            node = repo.get(parent)
            if node is None or node.parent_id is None:
                return
            parent = node.parent_id
        errors.add("parent_id", "ref_cycle", entity.parent_id)

    def children(self, parent_id: str | None) -> list[ProductCategory]:
        """The categories directly under ``parent_id`` (None: the top level), in order."""
        found: list[ProductCategory] = []
        after: str | None = None
        while True:
            where = {"parent_id__null": True} if parent_id is None else {"parent_id": parent_id}
            page = self.list(after=after, limit=500, **where)
            found += page.items
            if page.next_after is None:
                return sorted(found, key=lambda c: (c.sort, c.name))
            after = page.next_after

    def on_deleting(self, entity: ProductCategory) -> None:
        if self.children(entity.id) or self._s.products.count(category_id=entity.id, cap=1):
            raise WorkflowError(
                "product_category",
                "in_use",
                "delete",
                state_zh="仍有下级类别或产品",
                move_zh="删除",
                reason="move its sub-categories and products first",
                reason_zh="请先移走其下级类别和产品",
            )


class ProductGroupService(EntityService[ProductGroup]):
    """``session.product_groups``: who sees which products (产品分组权限)."""

    spec = PRODUCT_GROUPS
    fields: ClassVar[tuple[InputField, ...]] = GROUP_FIELDS

    def on_deleting(self, entity: ProductGroup) -> None:
        # Counted in every scope: a product the admin cannot see still sits in the group.
        in_group = EntityQuery(filters=(Filter("group_id", Op.EQ, entity.id),))
        if self._s._uow.repo(PRODUCTS).count(in_group, EVERYTHING, cap=1):
            raise WorkflowError(
                "product_group",
                "in_use",
                "delete",
                state_zh="分组中仍有产品",
                move_zh="删除",
                reason="move its products to another group first",
                reason_zh="请先把分组中的产品移到其他分组",
            )
