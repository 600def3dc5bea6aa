"""crmkit's one cattrs ``Converter``: every (un)structure hook lives here.

Value objects unstructure to their stored forms (E.164, normalised email, division code,
the whole identity number, decimal strings) so that audit diffs and storage agree on one
representation (people see them through ``crmkit.domain.display``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn

from crmkit.domain.regions import Region
from crmkit.domain.values import USCC, Email, IdNumber, IdType, Money, Phone


def _money_out(m: Money) -> dict[str, str]:
    return {"amount": str(m.amount), "currency": m.currency}


def _money_in(v: Mapping[str, Any], _: Any) -> Money:
    return Money(Decimal(v["amount"]), v["currency"])


def _id_number_in(v: Any, _: Any) -> IdNumber:
    """An identity number from its stored string. The string alone does not say its
    document: a resident card's shape is read as one, anything else as another document's
    (so that it shows masked as such); a customer's ``id_type`` then sets the kind."""
    if isinstance(v, IdNumber):
        return v
    text = str(v)
    resident = len(text) == 18 and text[:17].isdigit() and (text[17].isdigit() or text[17] == "X")
    return IdNumber(text, IdType.RESIDENT if resident else IdType.OTHER)


@cache
def converter() -> cattrs.Converter:
    """The shared converter (built on first use, never at import time)."""
    c = cattrs.Converter()
    # a time of day (an SFA step's ``at``) as "HH:MM[:SS]"
    c.register_unstructure_hook(time, lambda t: t.isoformat())
    c.register_structure_hook(
        time, lambda v, _: v if isinstance(v, time) else time.fromisoformat(v)
    )
    c.register_unstructure_hook(Phone, lambda p: p.stored)
    c.register_structure_hook(Phone, lambda v, _: Phone.from_stored(v))
    c.register_unstructure_hook(Email, lambda e: e.value)
    c.register_structure_hook(Email, lambda v, _: Email(v))
    c.register_unstructure_hook(USCC, lambda u: u.value)
    c.register_structure_hook(USCC, lambda v, _: USCC(v))
    c.register_unstructure_hook(IdNumber, lambda n: n.value)
    c.register_structure_hook(IdNumber, _id_number_in)
    c.register_unstructure_hook(Region, lambda r: r.code)
    c.register_structure_hook(Region, lambda v, _: Region.from_code(v))
    c.register_unstructure_hook(Money, _money_out)
    c.register_structure_hook(Money, _money_in)
    c.register_unstructure_hook(Decimal, str)
    c.register_structure_hook(Decimal, lambda v, _: Decimal(str(v)))
    c.register_unstructure_hook(datetime, lambda d: d.isoformat())
    c.register_structure_hook(datetime, lambda v, _: datetime.fromisoformat(v))
    c.register_unstructure_hook(date, lambda d: d.isoformat())
    c.register_structure_hook(date, lambda v, _: date.fromisoformat(v))
    _customers(c)
    return c


def _customers(c: cattrs.Converter) -> None:
    """A customer's stored ``id_number`` and ``id_type`` rebuild the number with its kind."""
    from crmkit.domain.customer import Customer  # the customer module uses this one

    plain = make_dict_structure_fn(Customer, c)

    def customer_in(v: Mapping[str, Any], t: Any) -> Customer:
        customer = plain(v, t)
        number, kind = customer.id_number, customer.id_type
        if number is None or kind is None or number.kind is kind:
            return customer
        return attrs.evolve(customer, id_number=IdNumber(number.value, kind))

    c.register_structure_hook(Customer, customer_in)


# JSON-ready already: returned as they are. Checked by exact type first because ``to_plain``
# runs for every field of every audit entry, and the ABC ``Mapping`` check is slow.
_PLAIN: frozenset[type] = frozenset({str, int, float, bool, type(None)})


def to_plain(value: Any) -> Any:
    """JSON-ready form of any crmkit value (used for audit diffs and custom fields)."""
    if type(value) in _PLAIN:
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict | Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list | frozenset | set):
        return [to_plain(v) for v in value]
    return converter().unstructure(value)


def custom_to_plain(values: Mapping[str, Any]) -> dict[str, Any]:
    """Custom-field values as JSON: decimals and dates tagged so they round-trip."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Decimal):
            out[key] = {"$decimal": str(value)}
        elif isinstance(value, date):
            out[key] = {"$date": value.isoformat()}
        else:
            out[key] = value
    return out


def custom_from_plain(values: Mapping[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`custom_to_plain`."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping) and "$decimal" in value:
            out[key] = Decimal(value["$decimal"])
        elif isinstance(value, Mapping) and "$date" in value:
            out[key] = date.fromisoformat(value["$date"])
        else:
            out[key] = value
    return out
