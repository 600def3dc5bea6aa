"""Duplicate-detection quality and speed of ``Matcher(CUSTOMER_MATCH)`` on labelled data.

Builds ``--n`` rows with ``bench/dedup_data.py`` (about ``--dup-rate`` duplicates), turns
them into match records, clusters them and compares the clusters with the truth pairwise:
a pair of rows is predicted duplicate when both land in one cluster, truly duplicate when
both describe one company. Prints a markdown snippet, with the recall of the duplicate pairs
by the variants their rows were made with (``dedup_data.py``: ``typo``, ``traditional``,
``pinyin-name`` …) and the wrongly merged pairs by the kind of company involved (the hard
non-duplicates: same brand in another city, branches, same-sounding names in another city).

    python bench/bench_dedup_quality.py --n 20000 --seed 1
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from crmkit.domain.dedup import CUSTOMER_MATCH, Matcher, Record, record_from_fields
from dedup_data import LabelledRow, generate


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def evaluate(rows: list[LabelledRow], clusters: list[tuple[int, ...]]) -> dict[str, float]:
    """Pairwise precision, recall and F1 of ``clusters`` (row indexes) against the truth."""
    truth = Counter(r.entity for r in rows)
    true_pairs = sum(_pairs(c) for c in truth.values())
    predicted = 0
    correct = 0
    for members in clusters:
        predicted += _pairs(len(members))
        by_entity = Counter(rows[i].entity for i in members)
        correct += sum(_pairs(c) for c in by_entity.values())
    precision = correct / predicted if predicted else 1.0
    recall = correct / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "true_pairs": true_pairs,
        "predicted_pairs": predicted,
        "correct_pairs": correct,
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def recall_by_variant(
    rows: list[LabelledRow], clusters: list[tuple[int, ...]]
) -> dict[str, tuple[int, int]]:
    """For each variant: (true duplicate pairs with a row made with it, pairs found)."""
    where = {i: k for k, members in enumerate(clusters) for i in members}
    by_entity: dict[int, list[int]] = {}
    for i, r in enumerate(rows):
        by_entity.setdefault(r.entity, []).append(i)
    pairs: Counter[str] = Counter()
    found: Counter[str] = Counter()
    for members in by_entity.values():
        for p, i in enumerate(members):
            for j in members[p + 1 :]:
                names = set(rows[i].variants) | set(rows[j].variants)
                pairs.update(names)
                if where[i] == where[j]:
                    found.update(names)
    return {v: (pairs[v], found[v]) for v in sorted(pairs)}


def wrong_by_kind(rows: list[LabelledRow], clusters: list[tuple[int, ...]]) -> Counter[str]:
    """Wrongly merged pairs by the kind of company (role of its non-duplicate row) involved.

    A pair of two kinds counts under both; ``all`` counts every wrong pair once.
    """
    kind = {r.entity: r.role for r in rows if r.role != "duplicate"}
    wrong: Counter[str] = Counter()
    for members in clusters:
        counts = Counter(rows[i].entity for i in members)
        entities = list(counts)
        for p, e in enumerate(entities):
            for f in entities[p + 1 :]:
                n = counts[e] * counts[f]
                wrong["all"] += n
                for k in {kind[e], kind[f]}:
                    wrong[k] += n
    return wrong


def _explain(
    matcher: Matcher,
    rows: list[LabelledRow],
    records: list[Record],
    clusters: list[tuple[int, ...]],
    show: int,
) -> None:
    where = {i: k for k, members in enumerate(clusters) for i in members}
    by_entity: dict[int, list[int]] = {}
    for i, r in enumerate(rows):
        by_entity.setdefault(r.entity, []).append(i)
    missed: list[tuple[int, int]] = []
    for members in by_entity.values():
        for p in range(len(members)):
            for q in range(p + 1, len(members)):
                if where[members[p]] != where[members[q]]:
                    missed.append((members[p], members[q]))
    wrong: list[tuple[int, int]] = []
    for members in clusters:
        for p in range(len(members)):
            for q in range(p + 1, len(members)):
                if rows[members[p]].entity != rows[members[q]].entity:
                    wrong.append((members[p], members[q]))
    variants = Counter(v for i, j in missed for v in rows[i].variants + rows[j].variants)
    roles = Counter(tuple(sorted((rows[i].role, rows[j].role))) for i, j in wrong)
    print(f"\nmissed pairs by variant: {dict(variants.most_common())}")
    print(f"wrong pairs by roles: {dict(roles.most_common())}")
    for title, pairs in (("missed", missed), ("wrong", wrong)):
        print(f"\n{title} (first {show}):")
        for i, j in pairs[:show]:
            m = matcher.score(records[i], records[j])
            print(f"  {rows[i].row}\n  {rows[j].row}\n    -> {m}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--dup-rate", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--show", type=int, default=0, help="print this many errors of each kind")
    args = parser.parse_args()

    rows = generate(args.n, dup_rate=args.dup_rate, seed=args.seed)
    t0 = time.perf_counter()
    records = [record_from_fields(r.row, id=r.id) for r in rows]
    t1 = time.perf_counter()
    matcher = Matcher(CUSTOMER_MATCH)
    candidates = sum(1 for _ in matcher.candidates(records))
    t2 = time.perf_counter()
    clusters = [c.members for c in matcher.clusters(records, singletons=True)]
    t3 = time.perf_counter()
    q = evaluate(rows, clusters)
    roles = Counter(r.role for r in rows)

    print(f"## Duplicate detection quality (`Matcher(CUSTOMER_MATCH)`, seed {args.seed})\n")
    print(
        f"`python bench/bench_dedup_quality.py --n {args.n} --dup-rate {args.dup_rate} "
        f"--seed {args.seed}` — {args.n:,} rows ({roles['duplicate']:,} duplicates, "
        f"{roles['sibling']:,} same-brand-other-city, {roles['branch']:,} branches, "
        f"{roles['homophone-other']:,} same-sounding-other-city), "
        f"{q['true_pairs']:,} true duplicate pairs.\n"
    )
    print("| metric | value | goal |")
    print("|---|---|---|")
    print(f"| pairwise precision | {q['precision']:.4f} | |")
    print(f"| pairwise recall | {q['recall']:.4f} | |")
    print(f"| pairwise F1 | {q['f1']:.4f} | ≥ 0.97 |")
    print(f"| candidate pairs per record | {candidates / len(records):.2f} | ≤ 10 |")
    print(f"| build match records (normalise) | {t1 - t0:.2f} s | |")
    print(f"| blocking alone | {t2 - t1:.2f} s | |")
    print(f"| clusters (blocking + scoring + union-find) | {t3 - t2:.2f} s | |")
    print(f"| records per second, clusters | {len(records) / (t3 - t2):,.0f} | |")

    print("\n### Recall by duplicate variant\n")
    print("A pair counts under every variant either of its rows was made with.\n")
    print("| variant | duplicate pairs | found | recall |")
    print("|---|---|---|---|")
    for variant, (pairs, found) in recall_by_variant(rows, clusters).items():
        print(f"| {variant} | {pairs:,} | {found:,} | {found / pairs:.4f} |")

    wrong = wrong_by_kind(rows, clusters)
    companies = Counter(r.role for r in rows if r.role != "duplicate")
    print("\n### Wrongly merged pairs by kind of company involved\n")
    print("| company kind | companies | wrong pairs |")
    print("|---|---|---|")
    for kind in ("original", "sibling", "branch", "homophone-other"):
        print(f"| {kind} | {companies[kind]:,} | {wrong[kind]:,} |")
    print(f"| all | {sum(companies.values()):,} | {wrong['all']:,} |")
    if args.show:
        _explain(matcher, rows, records, clusters, args.show)


if __name__ == "__main__":
    main()
