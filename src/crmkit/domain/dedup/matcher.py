"""A configurable duplicate matcher: field rules, hard rules, blocking and clustering.

Scoring follows the Fellegi–Sunter model of record linkage. Each :class:`FieldRule` adds
*evidence* in bits (log2 of a likelihood ratio): ``weight`` when its field agrees fully,
``disagree`` (≤ 0) when it clearly disagrees, a straight line in between, and nothing when
either record lacks the field — a missing value is no evidence either way. The sum, plus the
``prior`` (log2 odds that two candidates are duplicates before looking at them), is turned
into a probability::

    score = 1 / (1 + 2 ** -(prior + Σ evidence))

and a pair is a duplicate when ``score >= threshold`` (0.5: more likely than not). Because
each rule's evidence is at most its weight, and equal values give exactly that, a record
scores at least as high with itself as with any other; because comparators are symmetric, so
is the score.

Some facts override the arithmetic: *decisive* rules make a pair a duplicate (same USCC)
and *vetoes* rule it out (different USCCs; a branch and its parent; two known places that
contradict). Both show up in the reasons.

Blocking makes it scale: every record yields keys (its phones, e-mails, brand …) and only
records sharing a key are compared. A block larger than ``max_block_size`` is not compared
all-pairs — that is how one switchboard number shared by 5,000 companies would turn a scan
quadratic — but as a sorted neighbourhood: its members are sorted by ``sort_key`` and each
is compared with the next ``window`` ones. Pairs in small blocks are never missed.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence

import attrs

from crmkit.domain.dedup.cluster import link
from crmkit.domain.dedup.comparators import Comparator
from crmkit.domain.dedup.records import Record, is_individual

__all__ = [
    "BlockingKey",
    "Cluster",
    "FieldRule",
    "HardRule",
    "Level",
    "Match",
    "MatchConfig",
    "Matcher",
    "PlaceRule",
    "field_block",
]

BlockingKey = Callable[[Record], Iterable[str]]
"""``record -> keys``: records are compared only when they share a key."""
HardRule = Callable[[Record, Record], str | None]
"""``(a, b) -> reason | None``: a veto or a decisive rule, with its reason code."""

_MAX_BITS = 60.0  # beyond this the score is 0 or 1 in floating point anyway
# How far a bound must clear the bits a score needs before :meth:`Matcher.reaches` trusts it
# without finishing the sum: rounding then cannot put the exact score on the other side.
_MARGIN = 1e-9


def _bits_for(score: float) -> float:
    """The bits of evidence (log2 odds) at which a pair's score is ``score``."""
    if score >= 1.0:
        return math.inf
    return -math.inf if score <= 0.0 else math.log2(score / (1 - score))


def _score_of(bits: float) -> float:
    bits = min(_MAX_BITS, max(-_MAX_BITS, bits))
    return 1.0 / (1.0 + math.pow(2.0, -bits))


def _weight_is_nonnegative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, not {value}")


def _disagree_is_nonpositive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value > 0:
        raise ValueError(f"{attribute.name} must be <= 0, not {value}")


def _floor_in_range(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{attribute.name} must be in [0, 1), not {value}")


def _probability(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 < value <= 1.0:
        raise ValueError(f"{attribute.name} must be in (0, 1], not {value}")


@attrs.frozen
class Level:
    """One comparison level of a field (exact, close, partial, different …).

    Attributes:
        at_least: the least similarity that reaches this level.
        m: how often a duplicate pair's field falls on this level.
        u: how often a non-duplicate candidate pair's field does.
        name: a short name for reports (``exact``, ``typo``).
    """

    at_least: float
    m: float = attrs.field(validator=_probability)
    u: float = attrs.field(validator=_probability)
    name: str = ""
    bits: float = attrs.field(init=False, eq=False)
    """The level's evidence in bits: log2(m / u)."""

    def __attrs_post_init__(self) -> None:
        # Worked out once: the matcher reads it for every pair it compares.
        object.__setattr__(self, "bits", math.log2(self.m / self.u))


def _level_tuple(levels: Iterable[Level] | None) -> tuple[Level, ...] | None:
    if levels is None:
        return None
    out = tuple(levels)
    if not out or out[-1].at_least != 0.0:
        raise ValueError("the last level must start at similarity 0.0")
    if any(x.at_least <= y.at_least for x, y in itertools.pairwise(out)):
        raise ValueError("levels must be in descending order of at_least")
    return out


@attrs.frozen
class FieldRule:
    """How one field counts towards a match.

    Attributes:
        field: the record field (``name``, ``phones``, ``custom.contract_no`` …).
        comparator: ``(a, b) -> similarity in [0, 1] | None``.
        weight: bits of evidence when the similarity is 1 (log2 of how much likelier a
            duplicate pair agrees than a non-duplicate pair).
        disagree: bits (≤ 0) at or below ``floor``; 0 makes disagreement no evidence at all,
            which suits phones and e-mails (a company has many).
        floor: similarity at or below which the field counts as disagreeing.
        label: short code in a match's reasons (default: the field name).
        given: the code of an earlier rule that must find its field agreeing (above its
            ``floor``) for this one to count at all: evidence that is only independent of
            that field when it agrees (the same city says something about two similar
            names, nothing about two unrelated names sharing a local phone).
        levels: comparison levels, best first (the Fellegi–Sunter form that EM estimates,
            see ``em``): the evidence is the bits of the first level the similarity reaches,
            and ``weight``, ``disagree`` and ``floor`` are not used. A similarity at or
            above the second level counts as agreeing for ``given``.
    """

    field: str
    comparator: Comparator
    weight: float = attrs.field(validator=_weight_is_nonnegative)
    disagree: float = attrs.field(default=0.0, validator=_disagree_is_nonpositive, kw_only=True)
    floor: float = attrs.field(default=0.0, validator=_floor_in_range, kw_only=True)
    label: str | None = attrs.field(default=None, kw_only=True)
    given: str | None = attrs.field(default=None, kw_only=True)
    levels: tuple[Level, ...] | None = attrs.field(
        default=None, converter=_level_tuple, kw_only=True
    )

    @property
    def code(self) -> str:
        return self.label or self.field

    def level(self, similarity: float) -> int:
        """The index of the level a similarity falls on (rules with levels only)."""
        assert self.levels is not None
        for n, level in enumerate(self.levels):
            if similarity >= level.at_least:
                return n
        return len(self.levels) - 1

    def agrees(self, similarity: float) -> bool:
        """Whether the field agrees enough for rules ``given`` this one."""
        if self.levels is not None:
            return len(self.levels) > 1 and similarity >= self.levels[-2].at_least
        return similarity > self.floor

    def evidence(self, similarity: float) -> float:
        """Bits of evidence for a similarity: the level's bits with levels; else
        ``disagree`` at ``floor``, ``weight`` at 1 and a straight line between."""
        if self.levels is not None:
            for level in self.levels:
                if similarity >= level.at_least:
                    return level.bits
            return self.levels[-1].bits
        position = (similarity - self.floor) / (1.0 - self.floor)
        position = min(1.0, max(0.0, position))
        return self.disagree + (self.weight - self.disagree) * position


def field_block(field: str, prefix: str = "") -> BlockingKey:
    """A blocking key function yielding a field's value(s) as keys.

    Args:
        field: the record field; a collection yields one key per element.
        prefix: prepended to each key (readability of the keys only; functions are
            namespaced by the matcher anyway).

    Returns:
        ``record -> keys``.
    """
    return _FieldBlock(field, prefix)


@attrs.frozen
class _FieldBlock:
    # A class rather than a closure: matcher configurations must pickle (see _pool).
    field: str
    prefix: str = ""

    @property
    def __name__(self) -> str:
        return f"block_{self.field}"

    def __call__(self, record: Record) -> Iterable[str]:
        value = record.get(self.field)
        if value is None:
            return ()
        if isinstance(value, frozenset | set | tuple | list):
            return [f"{self.prefix}{v}" for v in value if v is not None and v != ""]
        return (f"{self.prefix}{value}",)


@attrs.frozen
class PlaceRule:
    """Where a record is, so that a bulk lookup can leave out, unread, the candidates that
    a veto rules out by place.

    A configuration whose vetoes make two records in contradicting places non-duplicates,
    unless they share some blocking keys (a phone, the USCC …), states that here. The
    duplicate index keeps each record's place beside its keys, and a bulk lookup skips a
    holder whose place contradicts the record's and that shares none of the ``exempt``
    keys with it (see :meth:`Matcher.exempt_keys`). The rule must never skip a pair the
    matcher would call a duplicate: a property test holds the default one to that.

    Attributes:
        field: the record field holding the place (a region code).
        compatible: ``(a, b) -> True`` when two places may be one place (a city and a
            district of it).
        exempt: ``(blocking key function, key) -> True`` for keys that keep a holder a
            candidate wherever it is (a shared phone lifts the place veto).
    """

    field: str
    compatible: Callable[[str, str], bool]
    exempt: Callable[[BlockingKey, str], bool]


def _rule_tuple(rules: Iterable[FieldRule]) -> tuple[FieldRule, ...]:
    out = tuple(rules)
    for n, rule in enumerate(out):
        if rule.given is not None and rule.given not in {r.code for r in out[:n]}:
            raise ValueError(f"rule {rule.code!r} is given {rule.given!r}, not an earlier rule")
    return out


def _block_tuple(keys: Iterable[BlockingKey]) -> tuple[BlockingKey, ...]:
    return tuple(keys)


def _hard_tuple(rules: Iterable[HardRule]) -> tuple[HardRule, ...]:
    return tuple(rules)


def _by_id(record: Record) -> str:
    return record.id


@attrs.frozen(kw_only=True)
class MatchConfig:
    """A duplicate-matching configuration.

    Attributes:
        rules: the field rules.
        threshold: score at or above which a pair is a duplicate (a probability).
        blocking_keys: ``record -> keys`` functions; only records sharing a key are compared.
        prior: log2 prior odds that two blocked candidates are duplicates.
        vetoes: hard rules that make a pair a non-duplicate (score 0), with a reason.
        decisive: hard rules that make a pair a duplicate (score 1), checked first.
        max_block_size: blocks up to this size are compared all-pairs.
        window: in larger blocks, each record is compared with this many sorted neighbours.
        sort_key: orders a large block's members (similar names next to each other).
        place: where a record is, for bulk lookups to skip what a place veto rules out
            (None: they skip nothing).
        persons: the configuration for two individuals (records whose ``kind`` is
            ``individual``), who are matched as people (name, birth date, identity number
            …) rather than as companies; their blocking keys are this one's (None: one
            configuration for all).
        cluster_floor: the linkage rule of :meth:`Matcher.clusters` and the scan: two
            groups join only when every pair across them scores at least this much, so no
            cluster holds a pair below it (complete linkage at the floor). Below the
            threshold, so that two duplicates of one record that share less with each other
            than with it still join.
    """

    rules: tuple[FieldRule, ...] = attrs.field(converter=_rule_tuple)
    threshold: float = 0.5
    blocking_keys: tuple[BlockingKey, ...] = attrs.field(default=(), converter=_block_tuple)
    prior: float = 0.0
    vetoes: tuple[HardRule, ...] = attrs.field(default=(), converter=_hard_tuple)
    decisive: tuple[HardRule, ...] = attrs.field(default=(), converter=_hard_tuple)
    max_block_size: int = 100
    window: int = 8
    sort_key: Callable[[Record], str] = _by_id
    place: PlaceRule | None = None
    persons: MatchConfig | None = None
    cluster_floor: float = attrs.field(default=0.1, validator=_floor_in_range)

    def with_rules(self, *rules: FieldRule) -> MatchConfig:
        """This configuration with more rules, e.g. a custom field's.

        Args:
            rules: rules to append (``FieldRule("custom.contract_no", exact, 8.0)``).

        Returns:
            A new configuration.
        """
        return attrs.evolve(self, rules=self.rules + rules)


@attrs.frozen
class Match:
    """The verdict on one pair, explained.

    Attributes:
        left: the first record's id.
        right: the second record's id.
        score: probability-like score in [0, 1] (1 / 0 when a hard rule decided).
        is_duplicate: ``score >= threshold``.
        reasons: short codes: ``uscc=``, ``name≈0.96``, ``phone=``, ``name≠0.41``,
            ``location≠``, ``branch≠parent`` … — a hard rule's reason first, then agreeing
            and disagreeing fields in rule order.
        evidence: total bits including the prior (±inf when a hard rule decided).
    """

    left: str
    right: str
    score: float
    is_duplicate: bool
    reasons: tuple[str, ...]
    evidence: float


@attrs.frozen
class Cluster:
    """Records that are one thing, as far as the matcher can tell.

    Attributes:
        members: indexes into the list given to :meth:`Matcher.clusters`, ascending.
        ids: the members' record ids, in the same order.
        matches: the pairwise matches that joined them (a spanning tree; empty for one record).
    """

    members: tuple[int, ...]
    ids: tuple[str, ...]
    matches: tuple[Match, ...] = ()

    def __len__(self) -> int:
        return len(self.members)


def _reason(rule: FieldRule, similarity: float, evidence: float) -> str | None:
    if evidence > 0:
        return f"{rule.code}=" if similarity >= 0.995 else f"{rule.code}≈{similarity:.2f}"
    if evidence < 0:
        return f"{rule.code}≠{similarity:.2f}"
    return None


@attrs.frozen
class Matcher:
    """Scores pairs, finds candidate pairs by blocking, and clusters duplicates.

    Attributes:
        config: the :class:`MatchConfig`.
    """

    config: MatchConfig
    _ceiling: dict[int, tuple[tuple[float, ...], tuple[float, ...]]] = attrs.field(
        init=False, factory=dict, eq=False, repr=False
    )

    def config_for(self, a: Record, b: Record | None = None) -> MatchConfig:
        """The configuration that compares ``a`` with ``b`` (or that blocks ``a``): the
        ``persons`` one for individuals, when there is one."""
        persons = self.config.persons
        if persons is not None and is_individual(a) and (b is None or is_individual(b)):
            return persons
        return self.config

    # -- one pair ---------------------------------------------------------------------
    def score(self, a: Record, b: Record) -> Match | None:
        """Compare two records.

        Args:
            a: one record.
            b: the other.

        Returns:
            The :class:`Match` (also below the threshold, so callers can rank), or None when
            no rule and no hard rule could compare anything.
        """
        return self._judge(a, b, only_duplicates=False)

    def levels(self, a: Record, b: Record) -> tuple[int | None, ...]:
        """The pair's comparison vector: for each rule with levels, the level its field
        falls on, or None when either record lacks it (what EM learns weights from)."""
        out: list[int | None] = []
        for rule in self.config_for(a, b).rules:
            if rule.levels is None:
                continue
            va, vb = a.values.get(rule.field), b.values.get(rule.field)
            similarity = None if va is None or vb is None else rule.comparator(va, vb)
            out.append(None if similarity is None else rule.level(similarity))
        return tuple(out)

    def _bounds(self, cfg: MatchConfig) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """For each rule position, the most evidence the rules from there on can add, and
        the most they can take away (both 0 past the last rule)."""
        found = self._ceiling.get(id(cfg))
        if found is None:
            most = [
                max(0.0, max(x.bits for x in r.levels) if r.levels else r.weight) for r in cfg.rules
            ]
            least = [
                min(0.0, min(x.bits for x in r.levels) if r.levels else r.disagree)
                for r in cfg.rules
            ]
            found = (
                tuple(sum(most[n:]) for n in range(len(most) + 1)),
                tuple(sum(least[n:]) for n in range(len(least) + 1)),
            )
            self._ceiling[id(cfg)] = found
        return found

    @staticmethod
    def _evidence(
        cfg: MatchConfig, a: Record, b: Record
    ) -> Iterator[tuple[int, FieldRule, float, float]]:
        """``(position, rule, similarity, evidence)`` of each rule that compares the pair."""
        agreed: set[str] = set()
        av, bv = a.values, b.values
        for n, rule in enumerate(cfg.rules):
            if rule.given is not None and rule.given not in agreed:
                continue
            va, vb = av.get(rule.field), bv.get(rule.field)
            if va is None or vb is None:
                continue
            similarity = rule.comparator(va, vb)
            if similarity is None:
                continue
            if rule.agrees(similarity):
                agreed.add(rule.code)
            yield n, rule, similarity, rule.evidence(similarity)

    def _judge(self, a: Record, b: Record, *, only_duplicates: bool) -> Match | None:
        # ``only_duplicates`` is the scan's question, asked of millions of pairs: it stops
        # comparing as soon as the remaining rules could not reach the threshold, and skips
        # the vetoes of a pair below it (a veto can only lower a score).
        cfg = self.config_for(a, b)
        if only_duplicates:
            if any(d(a, b) is not None for d in cfg.decisive):
                return self._judge(a, b, only_duplicates=False)
            ceilings = self._bounds(cfg)[0]
            needed = _bits_for(cfg.threshold)
        bits = cfg.prior
        compared = 0
        seen: list[tuple[FieldRule, float, float]] = []
        for n, rule, similarity, evidence in self._evidence(cfg, a, b):
            compared += 1
            bits += evidence
            seen.append((rule, similarity, evidence))
            if only_duplicates and bits + ceilings[n + 1] < needed:
                return None
        reasons = [r for r in (_reason(*x) for x in seen) if r is not None]
        for decisive in cfg.decisive:
            why = decisive(a, b)
            if why is not None:
                return Match(a.id, b.id, 1.0, True, (why, *reasons), math.inf)
        if compared == 0 and not cfg.vetoes:
            return None
        score = _score_of(bits)
        duplicate = compared > 0 and score >= cfg.threshold
        if only_duplicates and not duplicate:
            return None
        for veto in cfg.vetoes:
            why = veto(a, b)
            if why is not None:
                return Match(a.id, b.id, 0.0, False, (why, *reasons), -math.inf)
        if compared == 0:
            return None
        return Match(a.id, b.id, score, duplicate, tuple(reasons), bits)

    def vetoed(self, a: Record, b: Record) -> str | None:
        """The first veto's reason when the pair can never be duplicates (and no decisive
        rule says otherwise), else None."""
        cfg = self.config_for(a, b)
        if any(d(a, b) is not None for d in cfg.decisive):
            return None
        for veto in cfg.vetoes:
            why = veto(a, b)
            if why is not None:
                return why
        return None

    def rank(self, query: Record, pool: Iterable[Record], *, limit: int | None = 5) -> list[Match]:
        """The pool's records most similar to ``query``, best first (what find_similar shows).

        Args:
            query: the record being written or searched for.
            pool: candidates (typically those sharing a blocking key with ``query``).
            limit: how many to return (None: all with a positive score).

        Returns:
            Matches with ``left == query.id``, by descending score, then pool order.
        """
        found = [m for m in (self.score(query, r) for r in pool) if m is not None and m.score > 0.0]
        found.sort(key=lambda m: -m.score)
        return found if limit is None else found[:limit]

    # -- many records -----------------------------------------------------------------
    def _keyed(self, record: Record) -> tuple[str, MatchConfig]:
        # Individuals' keys live in a namespace of their own (``p0:`` …): a person's
        # birth date must not block them with a company founded that day.
        cfg = self.config_for(record)
        return ("p" if cfg is not self.config else ""), cfg

    def block_keys(self, record: Record) -> frozenset[str]:
        """The record's blocking keys, namespaced by key function (``0:+8613800138000``;
        an individual's ``p0:…`` when persons have a configuration of their own).

        Storage can index these to find a new record's candidates without a scan.

        Args:
            record: the record.

        Returns:
            The keys.
        """
        space, cfg = self._keyed(record)
        return frozenset(
            f"{space}{n}:{key}" for n, fn in enumerate(cfg.blocking_keys) for key in fn(record)
        )

    def exempt_keys(self, record: Record) -> frozenset[str]:
        """The record's blocking keys (as :meth:`block_keys` names them) that keep a
        candidate sharing one of them worth comparing wherever it is, by the
        configuration's :class:`PlaceRule` (empty without one)."""
        space, cfg = self._keyed(record)
        rule = cfg.place
        if rule is None:
            return frozenset()
        return frozenset(
            f"{space}{n}:{key}"
            for n, fn in enumerate(cfg.blocking_keys)
            for key in fn(record)
            if rule.exempt(fn, key)
        )

    def candidates(self, records: Sequence[Record]) -> Iterator[tuple[int, int]]:
        """Index pairs ``(i, j)``, ``i < j``, of records sharing a blocking key, each once.

        Blocks up to ``max_block_size`` records are compared all-pairs; a larger block is
        sorted by ``sort_key`` and each member paired with its next ``window`` neighbours.

        Args:
            records: the records.

        Yields:
            Candidate pairs (in no particular order; :meth:`clusters` does not depend on it).
        """
        blocks: dict[str, list[int]] = defaultdict(list)
        for i, record in enumerate(records):
            for key in self.block_keys(record):
                blocks[key].append(i)
        seen: set[tuple[int, int]] = set()
        for key, members in blocks.items():
            if len(members) < 2:
                continue
            persons = self.config.persons
            cfg = persons if persons is not None and key.startswith("p") else self.config
            if len(members) <= cfg.max_block_size:
                pairs: Iterable[tuple[int, int]] = (
                    (members[p], members[q])
                    for p in range(len(members))
                    for q in range(p + 1, len(members))
                )
            else:
                ordered = sorted(members, key=lambda i: (cfg.sort_key(records[i]), i))
                window = cfg.window
                pairs = (
                    (min(ordered[p], ordered[q]), max(ordered[p], ordered[q]))
                    for p in range(len(ordered))
                    for q in range(p + 1, min(p + 1 + window, len(ordered)))
                )
            for pair in pairs:
                if pair not in seen:
                    seen.add(pair)
                    yield pair

    def matches(self, records: Sequence[Record]) -> list[tuple[int, int, Match]]:
        """Candidate pairs that are duplicates, with their matches.

        Args:
            records: the records.

        Returns:
            ``(i, j, match)`` for every candidate pair at or above the threshold.
        """
        out: list[tuple[int, int, Match]] = []
        for i, j in self.candidates(records):
            match = self._judge(records[i], records[j], only_duplicates=True)
            if match is not None and match.is_duplicate:
                out.append((i, j, match))
        return out

    def pair_score(self, a: Record, b: Record) -> float:
        """The pair's score for the linkage rule: 0 when vetoed or not comparable."""
        match = self.score(a, b)
        return 0.0 if match is None else match.score

    def reaches(self, a: Record, b: Record, floor: float) -> bool:
        """Whether ``pair_score(a, b) >= floor``, the linkage rule's question about a pair
        no stored pair links.

        It stops comparing as soon as the rules still to come can no longer move the sum
        across the floor either way (a veto is still asked of a pair above it), so most
        pairs cost one or two comparisons instead of every field rule.
        """
        if floor <= 0.0:
            return True  # every score, a vetoed pair's 0 included
        cfg = self.config_for(a, b)
        if any(d(a, b) is not None for d in cfg.decisive):
            return True  # scores 1
        ceilings, bottoms = self._bounds(cfg)
        needed = _bits_for(floor)
        bits = cfg.prior
        compared = 0
        exact = True
        for n, _rule, _similarity, evidence in self._evidence(cfg, a, b):
            compared += 1
            bits += evidence
            if bits + ceilings[n + 1] < needed - _MARGIN:
                return False
            if bits + bottoms[n + 1] > needed + _MARGIN:
                exact = False
                break
        if compared == 0 or any(veto(a, b) is not None for veto in cfg.vetoes):
            return False  # scores 0
        return not exact or _score_of(bits) >= floor

    def clusters(self, records: Sequence[Record], *, singletons: bool = True) -> list[Cluster]:
        """Group duplicates by the linkage rule of :func:`~crmkit.domain.dedup.cluster.link`:
        duplicate pairs join their groups strongest first, and two groups join only when
        every pair across them scores at least ``cluster_floor`` (a vetoed pair scores 0).

        Plain transitive closure would chain 金智（青岛） ~ 金智 ~ 金智（北京） into one
        cluster, and people with three different birth dates through single weak links.

        Args:
            records: the records.
            singletons: include records that match nothing (then the clusters partition
                ``records``).

        Returns:
            Clusters ordered by their first member.
        """
        found = self.matches(records)
        edges = [(i, j, m.score) for i, j, m in found]
        by_pair = {(i, j): m for i, j, m in found}

        floor = self.config.cluster_floor

        def scores(pairs: Sequence[tuple[int, int]]) -> list[float]:
            return [float(self.reaches(records[i], records[j], floor)) for i, j in pairs]

        groups = link(edges, scores, floor=floor)
        out: list[Cluster] = []
        placed: set[int] = set()
        for tree in groups:
            members = tuple(sorted({i for i, j in tree for i in (i, j)}))
            placed.update(members)
            out.append(
                Cluster(
                    members,
                    tuple(records[i].id for i in members),
                    tuple(by_pair[(min(i, j), max(i, j))] for i, j in tree),
                )
            )
        if singletons:
            out.extend(
                Cluster((i,), (records[i].id,)) for i in range(len(records)) if i not in placed
            )
        out.sort(key=lambda c: c.members[0])
        return out
