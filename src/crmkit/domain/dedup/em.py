"""Fellegi–Sunter weights estimated from unlabelled pairs by expectation–maximisation.

The person matcher weighs each field's comparison level by log2(m/u): m is how often a
duplicate pair falls on that level, u how often a non-duplicate candidate pair does. The
defaults (``defaults.PERSON_MATCH``) are stated estimates; a store's own data says more.
Given the comparison vectors of candidate pairs (``Matcher.levels``), EM alternates:

* E: each pair's probability of being a duplicate under the current m, u and prior,
  fields taken as independent given the class (what Fellegi and Sunter, recordlinkage's
  ECM and splink all assume);
* M: m and u per level as the duplicate-weighted and non-duplicate-weighted shares of the
  pairs on that level, the prior as the mean probability.

A missing field (None in the vector) counts for neither. The configuration's own m and u
act as a few pseudo-pairs (``strength``), so a level that no pair reaches keeps a sane
weight instead of an infinite one; and EM keeps the labels the defaults give (m and u are
swapped back if the classes trade places, which EM can do on data with few duplicates).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

import attrs

from crmkit.domain.dedup.matcher import FieldRule, Level, MatchConfig

__all__ = ["Estimate", "estimate"]

_TINY = 1e-6


@attrs.frozen
class Estimate:
    """EM's result.

    Attributes:
        config: the configuration with the estimated levels and prior.
        pairs: how many comparison vectors it learnt from.
        iterations: EM iterations run.
        duplicate_share: the estimated share of duplicates among the pairs.
    """

    config: MatchConfig
    pairs: int
    iterations: int
    duplicate_share: float

    def table(self) -> list[tuple[str, str, float, float, float]]:
        """``(field, level, m, u, bits)`` for every estimated level, as a report shows it."""
        return [
            (rule.code, level.name or f"{level.at_least:g}", level.m, level.u, level.bits)
            for rule in self.config.rules
            if rule.levels is not None
            for level in rule.levels
        ]


def _clip(p: float) -> float:
    return min(1.0 - _TINY, max(_TINY, p))


def estimate(
    config: MatchConfig,
    vectors: Iterable[Sequence[int | None]],
    *,
    iterations: int = 50,
    tolerance: float = 1e-6,
    strength: float = 2.0,
) -> Estimate:
    """Estimate a configuration's m/u probabilities and prior from unlabelled pairs.

    Args:
        config: the configuration; only rules with ``levels`` are estimated, in their order.
        vectors: one comparison vector per candidate pair (``Matcher.levels``): the level
            index of each rule with levels, or None where either record lacks the field.
        iterations: at most this many EM rounds.
        tolerance: stop when no probability moves more than this.
        strength: how many pseudo-pairs the configuration's own m and u count for.

    Returns:
        The :class:`Estimate`; with no vectors, the configuration unchanged.
    """
    counts = Counter(tuple(v) for v in vectors)
    rules = [r for r in config.rules if r.levels is not None]
    total = sum(counts.values())
    if total == 0 or not rules:
        return Estimate(config, 0, 0, 1.0 / (1.0 + 2.0**-config.prior))
    m0 = [[lv.m for lv in r.levels or ()] for r in rules]
    u0 = [[lv.u for lv in r.levels or ()] for r in rules]
    m = [list(x) for x in m0]
    u = [list(x) for x in u0]
    p0 = 1.0 / (1.0 + 2.0**-config.prior)
    p = p0
    rounds = 0
    for rounds in range(1, iterations + 1):  # noqa: B007 - the count is reported
        # E: the probability that each distinct vector is a duplicate pair.
        weights: dict[tuple[int | None, ...], float] = {}
        for vector in counts:
            log_m, log_u = math.log(p), math.log(1.0 - p)
            for k, level in enumerate(vector):
                if level is not None:
                    log_m += math.log(m[k][level])
                    log_u += math.log(u[k][level])
            weights[vector] = 1.0 / (1.0 + math.exp(min(700.0, log_u - log_m)))
        # M: shares per level, smoothed towards the configuration's own.
        moved = 0.0
        for k in range(len(rules)):
            on_m = [0.0] * len(m[k])
            on_u = [0.0] * len(u[k])
            for vector, n in counts.items():
                level = vector[k]
                if level is None:
                    continue
                w = weights[vector]
                on_m[level] += n * w
                on_u[level] += n * (1.0 - w)
            sum_m, sum_u = sum(on_m), sum(on_u)
            for level in range(len(on_m)):
                new_m = _clip((on_m[level] + strength * m0[k][level]) / (sum_m + strength))
                new_u = _clip((on_u[level] + strength * u0[k][level]) / (sum_u + strength))
                moved = max(moved, abs(new_m - m[k][level]), abs(new_u - u[k][level]))
                m[k][level], u[k][level] = new_m, new_u
        duplicates = sum(n * weights[v] for v, n in counts.items())
        new_p = _clip((duplicates + strength * p0) / (total + strength))
        moved = max(moved, abs(new_p - p))
        p = new_p
        if moved < tolerance:
            break
    estimated: dict[int, FieldRule] = {}
    for k, rule in enumerate(rules):
        levels = tuple(
            Level(lv.at_least, m[k][n], u[k][n], lv.name) for n, lv in enumerate(rule.levels or ())
        )
        estimated[id(rule)] = attrs.evolve(rule, levels=levels)
    new_rules = tuple(estimated.get(id(r), r) for r in config.rules)
    prior = math.log2(p / (1.0 - p))
    return Estimate(attrs.evolve(config, rules=new_rules, prior=prior), total, rounds, p)
