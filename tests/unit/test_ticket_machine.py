"""The ticket state machine (crmkit.domain.ticket.TICKET_MACHINE).

A ticket goes new → assigned → in_progress ⇄ waiting → resolved → closed, may be resolved
from any open state, handed over (assigned → assigned) and reopened (resolved →
in_progress). Random moves are applied to it: a move is refused with a WorkflowError exactly
when the table lacks it, and the error names the ticket, the state and the move in English
and in Chinese. Every state is reachable from new, closed is final, and every other state
can still reach closed.
"""

from __future__ import annotations

from collections import deque

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from crmkit.domain.errors import WorkflowError
from crmkit.domain.messages import language
from crmkit.domain.ticket import TICKET_MACHINE, TicketStatus

S = TicketStatus

# The table as the ticket module documents it.
EXPECTED_MOVES = {
    S.NEW: {S.ASSIGNED, S.IN_PROGRESS, S.RESOLVED},
    S.ASSIGNED: {S.ASSIGNED, S.IN_PROGRESS, S.WAITING, S.RESOLVED},  # → assigned: hand-over
    S.IN_PROGRESS: {S.ASSIGNED, S.WAITING, S.RESOLVED},
    S.WAITING: {S.ASSIGNED, S.IN_PROGRESS, S.RESOLVED},
    S.RESOLVED: {S.IN_PROGRESS, S.CLOSED},  # → in_progress: reopen
    S.CLOSED: set(),
}
LABELS_ZH = {
    S.NEW: "新建",
    S.ASSIGNED: "已分派",
    S.IN_PROGRESS: "处理中",
    S.WAITING: "等待客户",
    S.RESOLVED: "已解决",
    S.CLOSED: "已关闭",
}


def _reachable(start: TicketStatus) -> set[TicketStatus]:
    seen, queue = {start}, deque([start])
    while queue:
        for target in TICKET_MACHINE.targets(queue.popleft()):
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def _assert_names_the_refusal(
    error: WorkflowError, state: TicketStatus, move: str, move_zh: str
) -> None:
    assert (error.entity, error.state, error.move) == ("ticket", state.value, move)
    assert (error.state_zh, error.move_zh) == (LABELS_ZH[state], move_zh)
    english, chinese = error.message("en"), error.message("zh")
    assert "ticket" in english and state.value in english and move in english
    assert "工单" in chinese and LABELS_ZH[state] in chinese and move_zh in chinese
    with language("zh"):
        assert str(error) == chinese
    with language("en"):
        assert str(error) == english


def test_the_table_is_the_documented_one() -> None:
    assert {s: set(TICKET_MACHINE.targets(s)) for s in S} == EXPECTED_MOVES
    assert dict(TICKET_MACHINE.labels_zh) == LABELS_ZH
    assert TICKET_MACHINE.entity == "ticket"


def test_every_state_is_reachable_from_new() -> None:
    assert _reachable(S.NEW) == set(S)


def test_closed_is_final_and_the_only_dead_end() -> None:
    assert TICKET_MACHINE.final(S.CLOSED)
    assert [s for s in S if TICKET_MACHINE.final(s)] == [S.CLOSED]


@pytest.mark.parametrize("state", list(S))
def test_every_state_can_still_be_closed(state: TicketStatus) -> None:
    assert S.CLOSED in _reachable(state)


def test_a_refused_move_can_be_named_by_its_verb() -> None:
    with pytest.raises(WorkflowError) as caught:
        TICKET_MACHINE.check(S.CLOSED, S.IN_PROGRESS, move="reopen", move_zh="重新打开")
    _assert_names_the_refusal(caught.value, S.CLOSED, "reopen", "重新打开")
    assert caught.value.message("en") == "cannot reopen a ticket that is closed"
    assert caught.value.message("zh") == "工单当前状态为“已关闭”，不能重新打开"


class TicketMoves(RuleBasedStateMachine):
    """A ticket pushed around at random: each move is allowed or refused as the table
    says, and a refused move leaves the ticket where it was."""

    def __init__(self) -> None:
        super().__init__()
        self.state = S.NEW
        self.visited = {S.NEW}

    @rule(to=st.sampled_from(S))
    def move(self, to: TicketStatus) -> None:
        self._move(to)

    def _move(self, target: TicketStatus) -> None:
        if target in EXPECTED_MOVES[self.state]:
            assert TICKET_MACHINE.allows(self.state, target)
            assert TICKET_MACHINE.check(self.state, target) is target
            self.state = target
            self.visited.add(target)
            return
        assert not TICKET_MACHINE.allows(self.state, target)
        with pytest.raises(WorkflowError) as caught:
            TICKET_MACHINE.check(self.state, target)
        _assert_names_the_refusal(caught.value, self.state, target.value, LABELS_ZH[target])

    @rule()
    def follow_the_table(self) -> None:
        # Take an allowed move when there is one, so that long walks get everywhere.
        targets = sorted(TICKET_MACHINE.targets(self.state))
        if targets:
            self._move(targets[len(self.visited) % len(targets)])

    @invariant()
    def only_closed_is_stuck(self) -> None:
        assert TICKET_MACHINE.final(self.state) == (self.state is S.CLOSED)


TicketMoves.TestCase.settings = settings(max_examples=200, stateful_step_count=30, deadline=None)
test_random_moves_follow_the_table = TicketMoves.TestCase
