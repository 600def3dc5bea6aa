"""State machines: a transition table per status enum, one way to refuse a move.

Every entity with a status (requests, opportunities, orders, tickets …) declares its table
once as a :class:`StateMachine`; :meth:`StateMachine.check` raises ``WorkflowError`` naming
the state, the move and both in Chinese, so a refused move reads the same everywhere.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Generic, TypeVar

import attrs

from crmkit.domain.errors import WorkflowError

S = TypeVar("S", bound=enum.Enum)


def _frozen(mapping: Mapping[Any, Any]) -> Mapping[Any, Any]:
    return MappingProxyType(dict(mapping))


@attrs.frozen
class StateMachine(Generic[S]):
    """Allowed moves between the members of one status enum.

    Args:
        entity: the entity type's code, for the error.
        moves: state -> the states it may move to (a state absent here is final).
        labels_zh: Chinese names of the states, for the error.
    """

    entity: str
    moves: Mapping[S, frozenset[S]] = attrs.field(converter=_frozen)
    labels_zh: Mapping[S, str] = attrs.field(factory=dict, converter=_frozen)

    def allows(self, state: S, target: S) -> bool:
        return target in self.moves.get(state, frozenset())

    def targets(self, state: S) -> frozenset[S]:
        """Where ``state`` may go next."""
        return self.moves.get(state, frozenset())

    def check(
        self, state: S, target: S, *, move: str | None = None, move_zh: str | None = None
    ) -> S:
        """``target`` if the move is allowed.

        Args:
            move / move_zh: how to name the move in the error (default: the target state).

        Raises:
            WorkflowError: the table has no move from ``state`` to ``target``.
        """
        if self.allows(state, target):
            return target
        raise WorkflowError(
            self.entity,
            str(state.value),
            move or str(target.value),
            state_zh=self.labels_zh.get(state),
            move_zh=move_zh or self.labels_zh.get(target),
        )

    def final(self, state: S) -> bool:
        return not self.targets(state)
