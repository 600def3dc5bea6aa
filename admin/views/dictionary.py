"""数据字典: the choice lists (来源, 行业, customer tags …) through ``session.dictionary``,
a declaration on :class:`admin.entity.EntityModelView`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from flask_babel import lazy_gettext as _l

from admin import context
from admin.entity import EntityModelView, choice, flag, number, text
from admin.i18n import current_lang


def list_choices() -> list[tuple[str, str]]:
    """The lists an entry may belong to: crmkit's known ones and any holding entries."""
    with context.work() as s:
        return s.dictionary.lists(current_lang())


class DictionaryView(EntityModelView):
    """数据字典: one row per choice; a list with choices holds its customer field to them."""

    service_name = "dictionary"
    permission = "dictionary_entry"
    searchable = True
    search_placeholder = _l("Choice")
    list_fields = ("list", "value", "aliases", "sort", "active", "updated_at")
    filter_fields = ("list", "active")
    field_labels: ClassVar[Mapping[str, Any]] = {"list": _l("List"), "value": _l("Choice")}
    form_fields = (
        choice("list", list_choices),
        text("value"),
        text("aliases", description=_l("Other spellings imports and people use, e.g. 网络、网推")),
        number("sort", description=_l("Smaller numbers come first")),
        flag("active", default=True),
    )

    def is_accessible(self) -> bool:
        # Everyone reads the lists through the forms that offer them; the screen that keeps
        # them (under 系统管理) is for those who may change them.
        return super().is_accessible() and context.can("dictionary_entry.write")

    def show_list(self, entry: Any) -> str:
        return dict(list_choices()).get(entry.list, entry.list)

    def show_aliases(self, entry: Any) -> str:
        return "、".join(entry.aliases)

    def form_data(self, model: Any) -> dict[str, Any]:
        data = super().form_data(model)
        data["aliases"] = "、".join(model.aliases)
        return data
