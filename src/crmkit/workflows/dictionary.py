"""The data dictionary on the kernel: ``session.dictionary`` (数据字典).

Admins keep the choice lists (来源, 行业, customer tags, lost reasons …); every form offers
them and every door (forms, code, imports) holds the fields they govern to them once a list
has entries. Everything else (permissions, validation, versions, audit, events, the recycle
bin, import and export of the lists themselves) comes from :class:`EntityService`.
"""

from __future__ import annotations

import builtins
from typing import ClassVar

from crmkit.domain.dictionary import (
    DICTIONARY_FIELDS,
    KNOWN_LISTS,
    DictionaryEntry,
    Vocabulary,
    check_entry,
)
from crmkit.domain.errors import FieldErrors
from crmkit.domain.fields import InputField
from crmkit.domain.messages import Language, active_language
from crmkit.storage.catalog import DICTIONARY_ENTRIES
from crmkit.storage.ports import EVERYTHING, EntityQuery
from crmkit.storage.spec import Filter, Op
from crmkit.workflows.entity import EntityService


class DictionaryService(EntityService[DictionaryEntry]):
    """``session.dictionary``: the choice lists, one entry per choice.

    ``list`` filters: ``list``, ``value``, ``active``; ``q``: text in the value.
    """

    spec = DICTIONARY_ENTRIES
    fields: ClassVar[tuple[InputField, ...]] = DICTIONARY_FIELDS
    sheet_headers: ClassVar[dict[str, tuple[str, ...]]] = {
        "list": ("字典", "字典名称", "类别"),
        "value": ("选项", "名称", "值"),
        "aliases": ("别名", "其他写法", "同义词"),
        "sort": ("排序", "顺序"),
        "active": ("启用", "是否启用"),
    }

    def check(
        self,
        entity: DictionaryEntry,
        current: DictionaryEntry | None,  # noqa: ARG002  (the hook's signature)
        errors: FieldErrors,
    ) -> None:
        others = self._entries(entity.list, include_inactive=True)
        check_entry(entity, others, errors)

    # The session checks customers against the vocabulary it read: a change is read again.
    def on_created(self, entity: DictionaryEntry) -> None:  # noqa: ARG002
        self._s._vocabulary = None

    def on_updated(self, before: DictionaryEntry, after: DictionaryEntry) -> None:  # noqa: ARG002
        self._s._vocabulary = None

    def on_deleting(self, entity: DictionaryEntry) -> None:  # noqa: ARG002
        self._s._vocabulary = None

    def choices(self, list_code: str) -> builtins.list[str]:
        """The active choices of a list, in order (empty: the list is open, any text goes)."""
        self.require("read")
        return list(self.vocabulary().values.get(list_code, ()))

    def vocabulary(self) -> Vocabulary:
        """Every closed list at once, for checking many values (an import's rows) without
        reading the store again. Not scoped: the dictionary is everyone's."""
        active = EntityQuery(filters=(Filter("active", Op.EQ, True),))
        return Vocabulary.of(self.every(active, EVERYTHING))

    def lists(self, lang: Language | None = None) -> builtins.list[tuple[str, str]]:
        """``(code, label)`` of the known lists and of any other list holding entries."""
        language = lang or active_language()
        codes = dict.fromkeys([*KNOWN_LISTS, *sorted(self.vocabulary().values)])
        return [
            (code, KNOWN_LISTS[code][0 if language == "en" else 1] if code in KNOWN_LISTS else code)
            for code in codes
        ]

    def _entries(self, list_code: str, *, include_inactive: bool) -> builtins.list[DictionaryEntry]:
        filters = [Filter("list", Op.EQ, list_code)]
        if not include_inactive:
            filters.append(Filter("active", Op.EQ, True))
        return list(
            self.repo.list(
                EntityQuery(filters=tuple(filters)), EVERYTHING, after=None, limit=1000
            ).items
        )
