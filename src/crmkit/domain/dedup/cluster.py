"""The linkage rule that turns duplicate pairs into clusters, without chains.

Transitive closure (union-find over every duplicate pair) chains records that no rule
would call one thing: A ~ B and B ~ C put A and C together however different they are
(three people with one name and three birth dates; 上海四马贸易 ~ 四马贸易 ~ 四通贸易 through
short street names). :func:`link` joins groups by **complete linkage at a floor**:

    Pairs are taken strongest first. A pair whose records are in two groups joins the
    groups only when every pair across them scores at least ``floor`` (and no pair across
    them was called distinct).

So no cluster ever holds two members whose pair scores below the floor, whatever order
the pairs come in; the floor sits below the duplicate threshold so that two copies of one
record that share less with each other than with it still join. Each cluster keeps the
pairs that joined it (a spanning tree): that is why each member is there.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, TypeVar

__all__ = ["link"]

N = TypeVar("N", bound=Hashable)


def _pair(a: Any, b: Any) -> tuple[Any, Any]:
    return (a, b) if a <= b else (b, a)


def link(
    edges: Iterable[tuple[N, N, float]],
    scores: Callable[[Sequence[tuple[N, N]]], Sequence[float]],
    *,
    floor: float,
    apart: Iterable[tuple[N, N]] = (),
) -> list[list[tuple[N, N]]]:
    """Cluster duplicate pairs by complete linkage at ``floor``.

    Args:
        edges: duplicate pairs ``(a, b, score)``; ids must be orderable (str or int).
        scores: ``pairs -> their scores`` (0 for a vetoed pair), asked in one call per
            attempted join about the cross pairs that are not among ``edges``; only which
            side of ``floor`` a score falls on matters, so a scorer may answer 1 or 0 as
            soon as it knows (:meth:`~crmkit.domain.dedup.Matcher.reaches`).
        floor: the least score every pair within a cluster has.
        apart: pairs that may never share a cluster (a reviewer's "not a duplicate").

    Returns:
        Each cluster of two or more as the edges that joined it, in joining order;
        clusters by their first (strongest) edge.
    """
    known: dict[tuple[N, N], float] = {}
    ordered = sorted(edges, key=lambda e: (-e[2], e[0], e[1]))
    for a, b, score in ordered:
        pair = _pair(a, b)
        known[pair] = max(known.get(pair, score), score)
    for a, b in apart:
        known[_pair(a, b)] = -1.0  # below any floor
    parent: dict[N, N] = {}
    members: dict[N, list[N]] = {}
    tree: dict[N, list[tuple[N, N]]] = {}

    def find(x: N) -> N:
        if x not in parent:
            parent[x] = x
            members[x] = [x]
            tree[x] = []
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b, score in ordered:
        if score < floor or known[_pair(a, b)] < floor:
            continue
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        cross = [_pair(x, y) for x in members[ra] for y in members[rb]]
        unknown = [p for p in cross if p not in known]
        if unknown:
            for p, s in zip(unknown, scores(unknown), strict=True):
                known[p] = s
        if any(known[p] < floor for p in cross):
            continue
        if len(members[ra]) < len(members[rb]):
            ra, rb = rb, ra
        parent[rb] = ra
        members[ra].extend(members.pop(rb))
        tree[ra] = [*tree[ra], *tree.pop(rb), (a, b)]
    return [tree[root] for root in members if tree[root]]
