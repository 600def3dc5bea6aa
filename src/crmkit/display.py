"""One way to show a value to a person (public module): labels of codes, field and entity
names, money, regions, phones, yes/no, lists and local times, in 简体中文 or English.

Applications show crmkit's values through these, as crmkit's own admin, exports and
operation log do (see :mod:`crmkit.domain.display` for each function)::

    from crmkit import display
    display.label(crmkit.Category.FORMAL)          # '正式客户'
    display.show(customer.region)                  # '山东省/青岛市/市南区'
"""

from __future__ import annotations

from crmkit.domain.display import (
    DEFAULT_TIMEZONE,
    ENUM_LABELS,
    amount_in_words,
    choices,
    entity_label,
    field_name,
    label,
    local_time,
    money,
    note,
    percent,
    reason,
    reason_field,
    reasons,
    score,
    show,
    show_stored,
    step_label,
    system_actor,
    yes_no,
)

__all__ = [
    "DEFAULT_TIMEZONE",
    "ENUM_LABELS",
    "amount_in_words",
    "choices",
    "entity_label",
    "field_name",
    "label",
    "local_time",
    "money",
    "note",
    "percent",
    "reason",
    "reason_field",
    "reasons",
    "score",
    "show",
    "show_stored",
    "step_label",
    "system_actor",
    "yes_no",
]
