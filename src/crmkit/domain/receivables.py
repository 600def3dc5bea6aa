"""Money in (回款), the arithmetic: payment plans, allocation, 抹零 write-offs and aging.

Pure functions on :class:`~crmkit.domain.values.Money`, to the fen, with one stated
rounding rule each, so that the receivables workflows (issue 18) store only what these
return:

- :func:`plan` splits an order's total into instalments (回款计划) given as percentages
  and/or amounts. **The rounding rule:** every share but the last is rounded *down* to
  the fen and **the last instalment absorbs the rounding** (3 × ⅓ of ¥100.00 is 33.33,
  33.33, 33.34): each earlier instalment is within a fen below its share (one worth a fen
  is never rounded away), the last is at most a fen per share above its own, and the
  instalments always sum exactly to the total.
- :func:`allocate` spreads a payment over open receivables, oldest due first (then in the
  order given); what is left over is a prepayment (预收).
- :func:`write_off_limit` is the largest remainder a 抹零 may close: the smaller of an
  amount and a share of the receivable, whichever of the two is configured.
- :func:`aging` puts balances into buckets by days overdue at a date (账龄): not due,
  1–30, 31–60, 61–90, over 90; the buckets sum to the total.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import ROUND_DOWN, Decimal
from typing import Any, Final

import attrs

from crmkit.domain.common import is_blank, parse_date
from crmkit.domain.errors import FieldErrors, ValidationError
from crmkit.domain.fields import parse_fraction
from crmkit.domain.values import Money

FEN: Final = Decimal("0.01")


@attrs.frozen
class Instalment:
    """One instalment of a payment plan: due on ``due``, ``amount`` (the share asked, if it
    was asked as one)."""

    due: date
    amount: Money
    share: Decimal | None = None


def plan(
    total: Money, parts: Sequence[tuple[Any, Any]], *, path: str = "instalments"
) -> tuple[Instalment, ...]:
    """Instalments of ``total`` from ``(due date, share or amount)`` pairs: ``"30%"`` (or a
    ``Decimal`` below 1) is a share of the total, ``"35000.00"`` or a ``Money`` an amount.

    Amounts are taken as they are; shares are of the total, rounded down to the fen but
    for the last share, which takes what is left so that the instalments sum exactly to
    ``total``. Without any share, the amounts must sum to the total themselves.

    Raises:
        ValidationError: naming every wrong part (``instalments[1].due`` …): a date that is
            not one, dates not rising, a share or amount that is not one, not positive, or
            more than what is left; shares and amounts that do not make up the total.
    """
    errors = FieldErrors()
    if total.amount <= 0:
        errors.add("total", "number.positive", str(total.amount))
    if not parts:
        errors.add(path, "required", None)
    dues: list[date | None] = []
    shares: list[Decimal | None] = []
    amounts: list[Money | None] = []
    for i, (raw_due, raw_part) in enumerate(parts):
        at = f"{path}[{i}]"
        due = parse_date(raw_due, errors, f"{at}.due")
        if due is None and is_blank(raw_due):
            errors.add(f"{at}.due", "required", None)
        if isinstance(due, date) and dues and isinstance(dues[-1], date) and due < dues[-1]:
            errors.add(f"{at}.due", "receivable.due_order", due.isoformat())
        dues.append(due if isinstance(due, date) else None)
        share, amount = _part(raw_part, total.currency, errors, f"{at}.amount")
        shares.append(share)
        amounts.append(amount)
    errors.raise_if_any("receivable")
    fixed = sum((a.amount for a in amounts if a is not None), Decimal(0))
    counted = [i for i, share in enumerate(shares) if share is not None]
    out: list[Instalment] = []
    left = total.amount - fixed
    given = Decimal(0)  # Σ share instalments so far
    for i, (due, share, amount) in enumerate(zip(dues, shares, amounts, strict=True)):
        assert due is not None
        if share is None:
            assert amount is not None
            out.append(Instalment(due, amount.quantize()))
            continue
        if i == counted[-1]:
            # the last share takes what is left: its own share plus what the earlier ones
            # were rounded down by (under a fen each), unless the parts miss the total
            value = left - given
            over = value - total.amount * share
            if not -FEN < over < FEN * len(counted):  # (shares given to 28 digits)
                made = str((total.amount - over).quantize(FEN))
                errors.add(path, "receivable.plan_total", made, made=made, total=str(total.amount))
        else:
            value = (total.amount * share).quantize(FEN, ROUND_DOWN)
        given += value
        out.append(Instalment(due, Money(value, total.currency).quantize(), share))
    if not counted and left != 0:
        made = str(fixed)
        errors.add(path, "receivable.plan_total", made, made=made, total=str(total.amount))
    _check_positive(out, errors, path)
    errors.raise_if_any("receivable")
    return tuple(out)


def _part(
    raw: Any, currency: str, errors: FieldErrors, path: str
) -> tuple[Decimal | None, Money | None]:
    """A share (``"30%"``, a fraction as a ``Decimal`` below 1) or an amount."""
    if is_blank(raw):
        errors.add(path, "required", None)
        return None, None
    if isinstance(raw, Money):
        if raw.amount <= 0:
            errors.add(path, "number.positive", str(raw.amount))
            return None, None
        return None, raw
    text = str(raw).strip()
    if text.endswith("%") or (isinstance(raw, Decimal) and 0 < raw < 1):
        share = parse_fraction(raw, errors, path, code="receivable.share", upto_one=True)
        if share is not None and share <= 0:
            errors.add(path, "receivable.share", raw)
            return None, None
        return share, None
    try:
        amount = Money.parse(text, currency)
    except ValidationError:  # its field is Money's own; ours is the part's
        errors.add(path, "money.invalid", raw)
        return None, None
    if amount.amount <= 0:
        errors.add(path, "number.positive", raw)
        return None, None
    if amount.amount != amount.amount.quantize(FEN):
        errors.add(path, "number.places", raw, places=2)
        return None, None
    return None, amount


def _check_positive(out: Sequence[Instalment], errors: FieldErrors, path: str) -> None:
    for i, instalment in enumerate(out):
        if instalment.amount.amount <= 0:
            errors.add(f"{path}[{i}].amount", "number.positive", str(instalment.amount.amount))


@attrs.frozen
class OpenItem:
    """A receivable as allocation sees it: its id, due date and open balance."""

    id: str
    due: date
    balance: Money


@attrs.frozen
class Allocation:
    """So much of a payment applied to receivable ``receivable_id``."""

    receivable_id: str
    amount: Money


def allocate(payment: Money, items: Iterable[OpenItem]) -> tuple[tuple[Allocation, ...], Money]:
    """Apply ``payment`` to ``items``, the oldest due first (ties in the order given),
    each up to its balance; returns the allocations and the remainder (a prepayment).

    Raises:
        ValueError: a payment that is not positive, or an item in another currency.
    """
    if payment.amount <= 0:
        raise ValueError("a payment to allocate must be positive")
    left = payment.amount
    out: list[Allocation] = []
    ordered = sorted(enumerate(items), key=lambda pair: (pair[1].due, pair[0]))
    for _index, item in ordered:
        if item.balance.currency != payment.currency:
            raise ValueError("an open item in another currency than the payment")
        if left <= 0:
            break
        take = min(left, item.balance.amount)
        if take > 0:
            out.append(Allocation(item.id, Money(take, payment.currency)))
            left -= take
    return tuple(out), Money(left, payment.currency)


def write_off_limit(
    amount: Money, *, limit: Money | None = None, rate: Decimal | None = None
) -> Money:
    """The largest remainder of a receivable of ``amount`` that a 抹零 may close: ``limit``,
    ``rate`` × ``amount`` (rounded down to the fen), or the smaller of the two when both
    are set; zero when neither is."""
    caps: list[Decimal] = []
    if limit is not None:
        caps.append(limit.amount)
    if rate is not None:
        caps.append((amount.amount * rate).quantize(FEN, rounding=ROUND_DOWN))
    return Money(min(caps) if caps else Decimal("0.00"), amount.currency)


class Bucket(enum.StrEnum):
    """账龄 buckets: by days past the due date at the as-of date."""

    NOT_DUE = "not_due"
    DAYS_1_30 = "1_30"
    DAYS_31_60 = "31_60"
    DAYS_61_90 = "61_90"
    OVER_90 = "over_90"


def bucket_of(due: date, as_of: date) -> Bucket:
    """The bucket of a balance due on ``due`` at ``as_of`` (due today: not due yet)."""
    late = (as_of - due).days
    if late <= 0:
        return Bucket.NOT_DUE
    if late <= 30:
        return Bucket.DAYS_1_30
    if late <= 60:
        return Bucket.DAYS_31_60
    if late <= 90:
        return Bucket.DAYS_61_90
    return Bucket.OVER_90


def aging(
    balances: Iterable[tuple[date, Money]], as_of: date, currency: str = "CNY"
) -> Mapping[Bucket, Money]:
    """Σ balance per :class:`Bucket` at ``as_of`` (every bucket present, zero when empty);
    the buckets sum exactly to the balances' total.

    Raises:
        ValueError: a balance in another currency.
    """
    sums = dict.fromkeys(Bucket, Decimal(0))
    for due, balance in balances:
        if balance.currency != currency:
            raise ValueError("a balance in another currency than the aging's")
        sums[bucket_of(due, as_of)] += balance.amount
    return {b: Money(v, currency).quantize() for b, v in sums.items()}
