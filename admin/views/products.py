"""The product catalogue: products, their category tree and visibility groups, each screen
a declaration on :class:`admin.entity.EntityModelView`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from flask import g
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import Form

import crmkit
from admin import context
from admin.base import user_name, user_names
from admin.entity import (
    EntityModelView,
    Lookup,
    choice,
    choices,
    flag,
    long_text,
    money,
    number,
    rate,
    text,
)
from admin.entity_io import EntityIOView
from admin.i18n import enum_label

# A category tree deeper than this is a data error; paths stop there rather than loop.
MAX_DEPTH = 20


def category_path(category: Any, categories: Mapping[str, Any]) -> str:
    """The category's place in the tree: ``门锁 / 智能门锁``."""
    names: list[str] = []
    node = category
    while node is not None and len(names) < MAX_DEPTH:
        names.append(node.name)
        node = categories.get(node.parent_id) if node.parent_id else None
    return " / ".join(reversed(names))


CATEGORIES = Lookup("product_categories", category_path)
GROUPS = Lookup("product_groups")


def subtree(category_id: str, categories: Mapping[str, Any]) -> list[str]:
    """The category and every category below it."""
    below: dict[str | None, list[str]] = {}
    for c in categories.values():
        below.setdefault(c.parent_id, []).append(c.id)
    found: list[str] = []
    todo = [category_id]
    while todo:
        current = todo.pop()
        if current not in found:  # a cycle in bad data must not loop
            found.append(current)
            todo += below.get(current, [])
    return found


class ProductView(EntityIOView):
    """产品: the catalogue through ``session.products``; 导入 and 导出 Excel on its list
    (``products.import_file`` and ``products.export``)."""

    service_name = "products"
    permission = "product"
    searchable = True
    search_placeholder = _l("Name, code or specification")
    list_fields = (
        "code", "name", "specification", "unit", "price", "cost", "margin", "tax_rate",
        "active", "category_id", "group_id", "description", "created_at", "updated_at",
    )  # fmt: skip
    default_columns = list_fields[:11]
    filter_fields = ("category_id", "group_id", "active")
    form_fields = (
        text("code"),
        text("name"),
        text("specification"),
        text("unit", description=_l("e.g. 套, 台, 个")),
        choice("category_id", CATEGORIES),
        choice(
            "group_id",
            GROUPS,
            description=_l("A restricted group's products are seen by its members only"),
        ),
        money("price"),
        money("cost"),
        rate("tax_rate"),
        flag("active", default=True),
        long_text("description"),
    )

    def service_filters(self, s: crmkit.Session, filters: Mapping[str, str]) -> dict[str, Any]:
        """A category filter takes in its sub-categories (门锁 lists the 智能门锁 too)."""
        out: dict[str, Any] = dict(filters)
        if "category_id" in out:
            out["category_id__in"] = subtree(out.pop("category_id"), CATEGORIES.records(s))
        return out


class ProductCategoryView(EntityModelView):
    """产品类别: the category tree through ``session.product_categories``."""

    service_name = "product_categories"
    permission = "product_category"
    list_fields = ("path", "name", "parent_id", "sort", "created_at")
    field_labels: ClassVar[Mapping[str, Any]] = {
        "path": _l("Category path"),
        "parent_id": _l("Parent category"),
    }
    form_fields = (
        text("name"),
        choice("parent_id", CATEGORIES),
        number("sort", description=_l("Smaller numbers come first among siblings")),
    )

    def show_path(self, category: Any) -> str:
        return CATEGORIES.label(category.id)

    def edit_form(self, obj: Any = None) -> Form:
        """A category's parent is never itself or below it (crmkit refuses the cycle too)."""
        form = super().edit_form(obj)
        if obj is not None:
            below = set(subtree(obj.id, CATEGORIES.records()))
            form.parent_id.choices = [c for c in form.parent_id.choices if c.value not in below]
        return form


def member_choices() -> list[tuple[str, str]]:
    """Who can be a group's member: every role, and every active user, by name."""
    roles = [(f"role:{r.value}", member_label(f"role:{r.value}")) for r in crmkit.Role]
    if g.get("all_users") is None:
        with context.work() as s:
            user_names(s)  # reads every user into g.all_users
    users: tuple[crmkit.User, ...] = g.all_users  # the deleted too: left out here
    people = [u for u in users if u.active and not u.is_deleted]
    return roles + [(f"user:{u.id}", f"{u.name} ({u.login})") for u in people]


def member_label(token: str) -> str:
    """A member token as people read it: ``role:sales`` → 角色：销售员, ``user:<id>`` → a name."""
    kind, _sep, value = token.partition(":")
    if kind == "role":
        return _("Role: %(role)s", role=enum_label(value))
    return user_name(value) if kind == "user" else token


class ProductGroupView(EntityModelView):
    """产品分组: who sees which products (empty members: everyone)."""

    service_name = "product_groups"
    permission = "product_group"
    list_fields = ("name", "members", "remarks", "created_at")
    form_fields = (
        text("name"),
        choices(
            "members",
            member_choices,
            name_of=member_label,
            description=_l("Leave empty: everyone sees the group's products"),
        ),
        long_text("remarks"),
    )

    def show_members(self, group: Any) -> str:
        if not group.members:
            return _("Everyone")
        return ", ".join(member_label(t) for t in group.members)
