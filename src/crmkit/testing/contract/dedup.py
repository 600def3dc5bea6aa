"""The duplicate index's contract: entries, candidates, pairs, decisions and key locks."""

from __future__ import annotations

import threading
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from crmkit.storage.ports import Decision, IndexEntry, KeyHolder, Store, StoredPair, Verdict
from crmkit.testing.builders import BASE_TIME
from crmkit.testing.contract._fixture import StoreFixture

KIND = "customer"


def _entry(id: str, *keys: int, record: str = '{"x":1}', place: str | None = None) -> IndexEntry:
    return IndexEntry(id, record, frozenset(keys), place)


def _put(store: Store, *entries: IndexEntry, kind: str = KIND) -> None:
    with store.unit_of_work() as uow:
        uow.dedup.put(kind, list(entries))
        uow.commit()


def _candidates(store: Store, *keys: int, limit: int = 10, exclude: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    with store.unit_of_work() as uow:
        return uow.dedup.candidates(KIND, keys, limit=limit, exclude=exclude)


def _all_pairs(store: Store, size: int = 2) -> list[StoredPair]:
    out: list[StoredPair] = []
    with store.unit_of_work() as uow:
        after = None
        while True:
            page = uow.dedup.pairs(KIND, after=after, limit=size)
            assert len(page.items) <= size
            out.extend(page.items)
            if page.next_after is None:
                return out
            after = page.next_after


class DedupRepositoryContract(StoreFixture):
    """``DedupRepository``: index entries, candidate lookup, pairs, decisions and key locks.

    A backend whose units of work cannot be open in two threads at once (SQLite in memory
    shares one connection) cannot run the lock test: set
    ``test_a_second_unit_of_work_locking_a_shared_key_waits_for_the_first = None`` on its
    test class, and say so in its documentation.
    """

    def test_candidates_share_keys_most_shared_first_and_honour_limit_and_exclude(
        self, store: Store
    ) -> None:
        _put(store, _entry("a", 1, 2, 3), _entry("b", 2, 3), _entry("c", 3), _entry("d", 9))
        found = _candidates(store, 1, 2, 3)
        assert [(c.entity_id, c.shared) for c in found] == [("a", 3), ("b", 2), ("c", 1)]
        assert found[0].record == '{"x":1}'
        assert [c.entity_id for c in _candidates(store, 1, 2, 3, limit=2)] == ["a", "b"]
        assert [c.entity_id for c in _candidates(store, 3, exclude=("a",))] == ["b", "c"]
        assert _candidates(store, 42) == []
        assert _candidates(store) == []

    def test_lookup_lists_the_holders_of_each_key_and_their_places_up_to_a_cap(
        self, store: Store
    ) -> None:
        _put(
            store,
            _entry("a", 1, 2),
            _entry("b", 2, place="370202"),
            _entry("c", 2, 3, place="110000"),
        )
        with store.unit_of_work() as uow:
            uow.dedup.put(KIND, [_entry("d", 3, place="3702")])
            uow.dedup.remove(KIND, ["a"])
            got = uow.dedup.lookup([1, 2, 3, 4], per_key=10)
            assert {k: sorted(v) for k, v in got.items()} == {
                2: [("b", "370202"), ("c", "110000")],
                3: [("c", "110000"), ("d", "3702")],
            }
            assert all(isinstance(h, KeyHolder) for hs in got.values() for h in hs)
            capped = uow.dedup.lookup([2, 3], per_key=1)
            assert {k: len(v) for k, v in capped.items()} == {2: 1, 3: 1}
            assert {h.entity_id for h in capped[2]} <= {"b", "c"}

    def test_a_put_again_replaces_the_place_of_every_key(self, store: Store) -> None:
        _put(store, _entry("a", 1, 2, place="370202"))
        _put(store, _entry("a", 1, 2, place="110000"))
        with store.unit_of_work() as uow:
            got = uow.dedup.lookup([1, 2], per_key=10)
        assert got == {1: [("a", "110000")], 2: [("a", "110000")]}

    def test_kinds_are_kept_apart(self, store: Store) -> None:
        _put(store, _entry("a", 1))
        _put(store, _entry("p", 1), kind="contact")
        assert [c.entity_id for c in _candidates(store, 1)] == ["a"]
        with store.unit_of_work() as uow:
            assert uow.dedup.count(KIND) == 1
            assert uow.dedup.count("contact") == 1
            assert uow.dedup.records("contact", ["p", "a"]) == {"p": '{"x":1}'}

    def test_put_replaces_an_entry_and_drops_its_pairs(self, store: Store) -> None:
        _put(store, _entry("a", 1, 2), _entry("b", 2), _entry("c", 2))
        with store.unit_of_work() as uow:
            uow.dedup.put_pairs(
                KIND, [StoredPair("a", "b", 0.9, ("name=",)), StoredPair("b", "c", 0.8)]
            )
            uow.commit()
        _put(store, _entry("a", 5, record='{"y":2}'))
        assert _candidates(store, 1, 2) == _candidates(store, 2)
        assert [c.entity_id for c in _candidates(store, 5)] == ["a"]
        with store.unit_of_work() as uow:
            assert uow.dedup.records(KIND, ["a"]) == {"a": '{"y":2}'}
        assert _all_pairs(store) == [StoredPair("b", "c", 0.8)]

    def test_remove_forgets_entries_keys_and_pairs_but_not_decisions(self, store: Store) -> None:
        _put(store, _entry("a", 1), _entry("b", 1))
        decision = Decision(
            left="a", right="b", verdict=Verdict.DISTINCT, actor_id="u", at=BASE_TIME
        )
        with store.unit_of_work() as uow:
            uow.dedup.put_pairs(KIND, [StoredPair("a", "b", 0.7, ("phone=",), vetoed=False)])
            uow.dedup.decide(KIND, decision)
            uow.commit()
        with store.unit_of_work() as uow:
            uow.dedup.remove(KIND, ["a"])
            uow.commit()
        assert [c.entity_id for c in _candidates(store, 1)] == ["b"]
        assert _all_pairs(store) == []
        with store.unit_of_work() as uow:
            assert uow.dedup.count(KIND) == 1
            assert uow.dedup.decisions(KIND, ["a"]) == [decision]

    def test_the_record_format_is_kept_per_kind_and_rolled_back_with_the_unit_of_work(
        self, store: Store
    ) -> None:
        with store.unit_of_work() as uow:
            assert uow.dedup.record_format(KIND) is None
            uow.dedup.set_record_format(KIND, 2)
            assert uow.dedup.record_format(KIND) == 2
            uow.commit()
        with store.unit_of_work() as uow:
            uow.dedup.set_record_format(KIND, 3)
            assert uow.dedup.record_format(KIND) == 3
            assert uow.dedup.record_format("contact") is None
            uow.rollback()
        with store.unit_of_work() as uow:
            assert uow.dedup.record_format(KIND) == 2
            uow.dedup.set_record_format(KIND, 3)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.dedup.record_format(KIND) == 3

    def test_a_unit_of_work_sees_its_own_index_writes_and_a_rollback_keeps_none(
        self, store: Store
    ) -> None:
        with store.unit_of_work() as uow:
            uow.dedup.put(KIND, [_entry("a", 1)])
            uow.dedup.put_pairs(KIND, [StoredPair("a", "z", 1.0)])
            assert [c.entity_id for c in uow.dedup.candidates(KIND, [1], limit=5)] == ["a"]
            assert uow.dedup.pairs_of(KIND, ["z"]) == [StoredPair("a", "z", 1.0)]
            uow.rollback()
        assert _candidates(store, 1) == []
        assert _all_pairs(store) == []

    def test_pairs_round_trip_are_replaced_and_page_in_order(self, store: Store) -> None:
        pairs = [
            StoredPair("a", "b", 0.5, ("name≈0.91", "phone=")),
            StoredPair("a", "c", 0.0, ("location≠",), vetoed=True),
            StoredPair("b", "c", 1.0, ("uscc=",)),
            StoredPair("c", "d", 0.75),
            StoredPair("c", "e", 0.25),
        ]
        with store.unit_of_work() as uow:
            uow.dedup.put_pairs(KIND, list(reversed(pairs)))
            uow.commit()
        assert _all_pairs(store) == pairs
        with store.unit_of_work() as uow:
            uow.dedup.put_pairs(KIND, [StoredPair("c", "d", 0.95, ("email=",))])
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.dedup.pairs_of(KIND, ["d", "b"]) == [
                pairs[0],
                pairs[2],
                StoredPair("c", "d", 0.95, ("email=",)),
            ]
            assert uow.dedup.pairs("contact", after=None, limit=10).items == ()

    def test_a_decision_is_replaced_by_a_later_one_on_the_same_pair(self, store: Store) -> None:
        first = Decision(left="a", right="b", verdict=Verdict.DISTINCT, actor_id="u1", at=BASE_TIME)
        later = Decision(
            left="a",
            right="b",
            verdict=Verdict.DISTINCT,
            actor_id="u2",
            at=BASE_TIME + timedelta(days=1),
        )
        other = Decision(left="c", right="d", verdict=Verdict.DISTINCT, actor_id="u1", at=BASE_TIME)
        with store.unit_of_work() as uow:
            uow.dedup.decide(KIND, first)
            uow.dedup.decide(KIND, other)
            uow.commit()
        with store.unit_of_work() as uow:
            uow.dedup.decide(KIND, later)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.dedup.decisions(KIND) == [later, other]
            assert uow.dedup.decisions(KIND, ["d"]) == [other]
            assert uow.dedup.decisions("contact") == []

    def test_candidates_agree_with_a_model(self) -> None:
        @self._settings()
        @given(
            entries=st.dictionaries(
                st.sampled_from("abcdefgh"),
                st.frozensets(st.integers(-(2**63), 2**63 - 1) | st.integers(0, 5), max_size=4),
                max_size=6,
            ),
            probe=st.frozensets(st.integers(0, 5), max_size=4),
        )
        def check(entries: dict[str, frozenset[int]], probe: frozenset[int]) -> None:
            store = self.make_store()
            try:
                _put(store, *(_entry(id, *keys) for id, keys in entries.items()))
                got = {(c.entity_id, c.shared) for c in _candidates(store, *probe, limit=100)}
                want = {(id, len(keys & probe)) for id, keys in entries.items() if keys & probe}
                assert got == want
            finally:
                store.close()

        check()

    def test_a_second_unit_of_work_locking_a_shared_key_waits_for_the_first(
        self, store: Store
    ) -> None:
        order: list[str] = []
        locked = threading.Event()
        release = threading.Event()
        errors: list[BaseException] = []

        def first() -> None:
            try:
                with store.unit_of_work() as uow:
                    uow.dedup.lock([7, 8])
                    uow.dedup.put(KIND, [_entry("a", 7)])
                    locked.set()
                    release.wait(10)
                    order.append("first commits")
                    uow.commit()
            except BaseException as exc:  # reported below
                errors.append(exc)
                locked.set()

        def second() -> None:
            try:
                with store.unit_of_work() as uow:
                    uow.dedup.lock([8, 9])
                    order.append("second holds the lock")
                    seen = [c.entity_id for c in uow.dedup.candidates(KIND, [7], limit=5)]
                    order.append(f"second sees {seen}")
                    uow.commit()
            except BaseException as exc:
                errors.append(exc)

        a = threading.Thread(target=first)
        a.start()
        assert locked.wait(10)
        b = threading.Thread(target=second)
        b.start()
        b.join(0.3)  # give a broken lock the chance to let the second one through
        release.set()
        a.join(20)
        b.join(20)
        assert not errors, errors
        assert order == ["first commits", "second holds the lock", "second sees ['a']"]
