"""Clustering stored pairs: vetoes and verdicts hold, order does not matter, rules decide."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from crmkit.domain.dedup.rules import (
    CUSTOMER_RULES,
    DuplicateRule,
    MatchedRecord,
    RuleAction,
    RuleEvent,
    apply_rules,
)
from crmkit.storage.ports import StoredPair
from crmkit.workflows.dedup.scan import cluster_pairs

IDS = "abcdefgh"


@st.composite
def pair_sets(draw: st.DrawFn) -> list[StoredPair]:
    combos = list(itertools.combinations(IDS, 2))
    chosen = draw(st.lists(st.sampled_from(combos), unique=True, max_size=14))
    return [
        StoredPair(
            a,
            b,
            draw(st.sampled_from([0.5, 0.6, 0.75, 0.9, 1.0])),
            vetoed=draw(st.sampled_from([False, False, False, True])),
        )
        for a, b in chosen
    ]


def _members(clusters: list[list[StoredPair]]) -> list[frozenset[str]]:
    return sorted(
        (frozenset(i for p in c for i in (p.left, p.right)) for c in clusters), key=sorted
    )


@settings(max_examples=200, deadline=None)
@given(pairs=pair_sets(), distinct=st.lists(st.sampled_from(list(itertools.combinations(IDS, 2)))))
def test_no_cluster_holds_a_vetoed_pair_or_a_pair_called_distinct(pairs, distinct):
    clusters = _members(cluster_pairs(pairs, distinct))
    apart = {frozenset((p.left, p.right)) for p in pairs if p.vetoed}
    apart |= {frozenset(d) for d in distinct}
    for members in clusters:
        assert len(members) >= 2
        for a, b in itertools.combinations(members, 2):
            assert frozenset((a, b)) not in apart


FLOOR = 0.3


@settings(max_examples=300, deadline=None)
@given(
    pairs=pair_sets(),
    cross=st.dictionaries(
        st.sampled_from([frozenset(c) for c in itertools.combinations(IDS, 2)]),
        st.sampled_from([0.0, 0.1, 0.29, 0.3, 0.45, 0.8]),
    ),
)
def test_no_cluster_holds_a_pair_scoring_below_the_floor(pairs, cross):
    # As the scan runs it: stored duplicate pairs, and a scorer asked about the records of
    # two groups that no stored pair links (a vetoed pair scores 0).
    links = [StoredPair(p.left, p.right, p.score) for p in pairs]
    stored = {frozenset((p.left, p.right)): p.score for p in links}
    asked: list[frozenset[str]] = []

    def score(pairs: list[tuple[str, str]]) -> list[float]:
        asked.extend(frozenset(pair) for pair in pairs)
        return [cross.get(frozenset(pair), 0.0) for pair in pairs]

    for tree in cluster_pairs(links, score=score, floor=FLOOR):
        members = {i for p in tree for i in (p.left, p.right)}
        for a, b in itertools.combinations(members, 2):
            pair = frozenset((a, b))
            assert max(stored.get(pair, 0.0), cross.get(pair, 0.0)) >= FLOOR
    # A stored pair is never asked about: it was scored when stored.
    assert not set(asked) & set(stored)


@settings(max_examples=200, deadline=None)
@given(pairs=pair_sets())
def test_clusters_partition_the_records_and_are_joined_by_their_own_pairs(pairs):
    clusters = cluster_pairs(pairs)
    seen: set[str] = set()
    for tree in clusters:
        members = {i for p in tree for i in (p.left, p.right)}
        assert not members & seen
        seen |= members
        assert len(tree) == len(members) - 1  # a spanning tree
        assert all(not p.vetoed for p in tree)


@settings(max_examples=200, deadline=None)
@given(pairs=pair_sets(), order=st.randoms(use_true_random=False))
def test_the_order_pairs_arrive_in_does_not_change_the_clusters(pairs, order):
    shuffled = list(pairs)
    order.shuffle(shuffled)
    assert _members(cluster_pairs(shuffled)) == _members(cluster_pairs(pairs))
    assert _members(cluster_pairs(pairs + pairs)) == _members(cluster_pairs(pairs))


def test_a_record_without_a_place_joins_its_best_match_not_both_cities():
    # 金智（青岛） ~ 金智 ~ 金智（北京）: the two cities are vetoed, the bare name goes with
    # the stronger of its two matches.
    pairs = [
        StoredPair("bare", "qd", 0.9),
        StoredPair("bare", "bj", 0.8),
        StoredPair("bj", "qd", 0.0, ("location≠",), vetoed=True),
    ]
    assert _members(cluster_pairs(pairs)) == [frozenset({"bare", "qd"})]
    # As the scan has it today: no vetoed pair stored, the scorer says 0 across the cities.
    links = [p for p in pairs if not p.vetoed]
    assert _members(cluster_pairs(links, score=lambda cross: [0.0] * len(cross))) == [
        frozenset({"bare", "qd"})
    ]


def test_two_copies_of_one_record_join_when_they_share_enough_with_each_other():
    pairs = [StoredPair("a", "b", 0.95), StoredPair("a", "c", 0.9)]
    weak = cluster_pairs(pairs, score=lambda cross: [0.05] * len(cross), floor=0.1)
    assert _members(weak) == [frozenset({"a", "b"})]
    fair = cluster_pairs(pairs, score=lambda cross: [0.2] * len(cross), floor=0.1)
    assert _members(fair) == [frozenset({"a", "b", "c"})]


# -- rules -------------------------------------------------------------------------------------
def _match(id: str, owner: str | None, score: float = 0.9, co: tuple[str, ...] = ()):
    return MatchedRecord(id, score, owner, co)


def test_anti_collision_blocks_someone_elses_customer_and_warns_about_ones_own():
    blocking, warnings = apply_rules(
        CUSTOMER_RULES,
        RuleEvent.CREATE,
        "me",
        [
            _match("x", "other"),
            _match("y", "me"),
            _match("z", "other", co=("me",)),
            _match("p", None),
        ],
    )
    assert [(m.id, r.name) for m, r in blocking] == [("x", "anti_collision")]
    assert [m.id for m, _ in warnings] == ["y", "z", "p"]


def test_a_rule_applies_only_on_its_events_and_above_its_score():
    rules = (
        DuplicateRule("strict", RuleAction.BLOCK, on=["edit"], min_score=0.95),
        DuplicateRule("loose", "warn"),
    )
    matches = [_match("a", "me", 0.99), _match("b", "me", 0.6)]
    blocking, warnings = apply_rules(rules, RuleEvent.EDIT, "me", matches)
    assert [m.id for m, _ in blocking] == ["a"] and [m.id for m, _ in warnings] == ["b"]
    blocking, warnings = apply_rules(rules, RuleEvent.CREATE, "me", matches)
    assert blocking == [] and [m.id for m, _ in warnings] == ["a", "b"]
