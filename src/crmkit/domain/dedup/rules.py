"""Duplicate rules: what a write does when the matcher finds similar records.

As in Salesforce, a rule either *blocks* the write (``DuplicateError``) or *warns* (the
write goes ahead and the matches are handed back). Rules are checked in order and the first
one that applies to a match decides for it; a match no rule applies to is ignored.

The default customer rules are the seeds' anti-collision (防撞单): a customer that another
salesperson works blocks the write, so two salespeople never work one customer (the
salesperson may ask for co-ownership instead), and a similar customer of one's own is a
warning.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from typing import Final

import attrs

__all__ = [
    "CONTACT_RULES",
    "CUSTOMER_RULES",
    "DuplicateRule",
    "MatchedRecord",
    "RuleAction",
    "RuleEvent",
    "apply_rules",
]


class RuleAction(enum.StrEnum):
    BLOCK = "block"
    WARN = "warn"


class RuleEvent(enum.StrEnum):
    CREATE = "create"
    EDIT = "edit"


def _events(value: Iterable[RuleEvent | str]) -> frozenset[RuleEvent]:
    return frozenset(RuleEvent(v) for v in value)


@attrs.frozen
class DuplicateRule:
    """One duplicate rule.

    Attributes:
        name: a code shown with the matches (``anti_collision``).
        action: block or warn.
        on: the writes it runs on: create, edit or both.
        other_owner_only: apply only to matches that belong to someone else: owned by a
            user other than the record's owner, who is not among their co-owners either.
        min_score: the least score a match needs for this rule (default: the matcher's
            threshold, i.e. every duplicate).
    """

    name: str
    action: RuleAction = attrs.field(converter=RuleAction)
    on: frozenset[RuleEvent] = attrs.field(
        default=frozenset(RuleEvent), converter=_events, kw_only=True
    )
    other_owner_only: bool = attrs.field(default=False, kw_only=True)
    min_score: float | None = attrs.field(default=None, kw_only=True)


@attrs.frozen
class MatchedRecord:
    """What the rules need to know of one match: who owns it and how close it is."""

    id: str
    score: float
    owner_id: str | None
    co_owner_ids: tuple[str, ...] = ()


def _belongs_to_someone_else(match: MatchedRecord, owner_id: str | None) -> bool:
    if match.owner_id is None or match.owner_id == owner_id:
        return False
    return owner_id is None or owner_id not in match.co_owner_ids


def apply_rules(
    rules: Sequence[DuplicateRule],
    event: RuleEvent,
    owner_id: str | None,
    matches: Iterable[MatchedRecord],
) -> tuple[list[tuple[MatchedRecord, DuplicateRule]], list[tuple[MatchedRecord, DuplicateRule]]]:
    """Sort matches into blocking and warning ones.

    Args:
        rules: the rules, in order.
        event: create or edit.
        owner_id: the owner the record being written will have.
        matches: duplicates found by the matcher (already at or above its threshold).

    Returns:
        ``(blocking, warnings)``: each match with the rule that decided it.
    """
    blocking: list[tuple[MatchedRecord, DuplicateRule]] = []
    warnings: list[tuple[MatchedRecord, DuplicateRule]] = []
    for match in matches:
        for rule in rules:
            if event not in rule.on:
                continue
            if rule.min_score is not None and match.score < rule.min_score:
                continue
            if rule.other_owner_only and not _belongs_to_someone_else(match, owner_id):
                continue
            (blocking if rule.action is RuleAction.BLOCK else warnings).append((match, rule))
            break
    return blocking, warnings


CUSTOMER_RULES: Final = (
    DuplicateRule("anti_collision", RuleAction.BLOCK, other_owner_only=True),
    DuplicateRule("possible_duplicate", RuleAction.WARN),
)
"""Block a customer another salesperson works; warn about one's own similar customers."""

CONTACT_RULES: Final = (DuplicateRule("possible_duplicate", RuleAction.WARN),)
"""Contacts are warned about, never blocked: one person may well work for two customers."""
