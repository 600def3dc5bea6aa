"""The generic repository contract: what ``uow.repo(spec)`` must do, for every spec.

Subclass :class:`EntityRepositoryContract`, name the subclass ``Test…`` and implement
``make_store`` (a fresh, empty store; on SQL, :func:`crmkit.testing.entities.create_test_tables`
is called for you). Every test runs for each spec in ``specs`` (crmkit's own and the test
entities of :mod:`crmkit.testing.entities`); add yours with a strategy of valid objects::

    class TestMyBackend(EntityRepositoryContract):
        def make_store(self):
            return MyStore("my://test")

Semantics stated here and tested below (``aggregate``'s in
:mod:`crmkit.testing.contract.aggregates`):

- ``add`` of an existing id raises ``ConcurrencyError`` (expected version 0); of a value
  another *live* record holds in a ``unique`` field, ``ValidationError`` naming the field,
  at the latest from ``commit``; nothing of the failed write is kept.
- ``update`` is a compare-and-set on ``version`` (``ConcurrencyError`` when stale,
  ``NotFound`` when gone) and replaces children and member tokens wholesale.
- ``get`` returns deleted records; lists show what ``deleted`` asks for, newest first
  unless the spec says ``newest_first=False``, in keyset pages that never repeat or skip.
- Filters: ``eq``/``ne``/``in``/``null`` on any indexed field (a stored empty value is
  ``ne`` every value), ranges on ordered types, ``contains`` (any case) on text fields.
- Scope rules: see :class:`crmkit.storage.spec.ScopeRule`.
- Document numbers: distinct for concurrent units of work; a sequence starts at 1.
- Full text (specs with ``fulltext``): ``search`` finds exactly the live records in scope
  whose fields :func:`crmkit.storage.fulltext.matches` the query, best first, and follows
  updates, soft deletes, restores and purges.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from crmkit.domain.errors import ConcurrencyError, NotFound, ValidationError
from crmkit.domain.product import Product, ProductGroup
from crmkit.domain.user import Role
from crmkit.storage.catalog import BUILTIN_SPECS, PRODUCT_GROUPS, PRODUCTS
from crmkit.storage.fulltext import document, matches
from crmkit.storage.ports import EVERYTHING, Deleted, EntityQuery, Scope, Store
from crmkit.storage.spec import AggregateRow, EntitySpec, Filter, Group, Measure, Op, column_value
from crmkit.testing.builders import make_customer
from crmkit.testing.contract.aggregates import AggregateContract
from crmkit.testing.entities import (
    MEMO_NOTES,
    MEMOS,
    TEST_SPECS,
    VISITS,
    Memo,
    MemoLine,
    MemoNote,
    Visit,
    create_test_tables,
    entity_strategy,
)

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SPECS: tuple[EntitySpec[Any], ...] = (*BUILTIN_SPECS, MEMOS)
FULLTEXT_SPECS: tuple[EntitySpec[Any], ...] = tuple(s for s in SPECS if s.fulltext)

# Words that knowledge-base text is made of (and queries of them), joined below with and
# without separators so that bigrams cross words, plus model numbers and latin words.
_VOCAB = ("门锁", "智能", "复位", "指纹", "电池", "更换", "锁", "LK-100", "Reset", "密码", "门禁卡")
_SEPARATORS = ("", "", " ", "，", "\n", "-")


def _fulltext_text() -> st.SearchStrategy[str]:
    words = st.lists(st.sampled_from(_VOCAB), min_size=1, max_size=6)
    seps = st.lists(st.sampled_from(_SEPARATORS), min_size=6, max_size=6)
    return st.builds(lambda w, p: "".join(x + y for x, y in zip(w, p, strict=False)), words, seps)


def _fulltext_objects(spec: EntitySpec[Any]) -> st.SearchStrategy[Any]:
    """Valid objects of ``spec`` whose text fields are often made of :data:`_VOCAB`."""
    texts = [f for f in spec.fulltext if spec.value_types[f] is str]
    defaults = attrs.fields_dict(spec.type)
    base = entity_strategy(spec)
    if not texts:
        return base

    def vary(obj: Any, data: st.DataObject) -> Any:
        changes: dict[str, Any] = {}
        for name in texts:
            if data.draw(st.booleans()):
                changes[name] = data.draw(_fulltext_text())
        for name in spec.unique:  # examples must not collide
            changes[name] = None if defaults[name].default is None else f"{name}-{obj.id}"
        return attrs.evolve(obj, **changes)

    return st.builds(vary, base, st.data())


def _memo(**changes: Any) -> Memo:
    import uuid

    base: dict[str, Any] = {"id": str(uuid.uuid4()), "title": "t", "created_at": NOW}
    return Memo(**{**base, **changes})


def all_ids(
    store: Store, spec: EntitySpec[Any], query: EntityQuery, scope: Scope, size: int
) -> list[str]:
    """Every id a keyset walk with pages of ``size`` yields, in order."""
    out: list[str] = []
    after: str | None = None
    with store.unit_of_work() as uow:
        while True:
            page = uow.repo(spec).list(query, scope, after=after, limit=size)
            assert len(page.items) <= size
            out += [o.id for o in page.items]
            if page.next_after is None:
                return out
            assert page.items, "a page before the last one is never empty"
            after = page.next_after


def _model_unique_clash(spec: EntitySpec[Any], model: dict[str, Any], obj: Any) -> bool:
    if not spec.unique or (spec.soft_delete and obj.deleted_at is not None):
        return False
    for other in model.values():
        if other.id == obj.id or (spec.soft_delete and other.deleted_at is not None):
            continue
        for field in spec.unique:
            value = column_value(getattr(obj, field))
            if value is not None and column_value(getattr(other, field)) == value:
                return True
    return False


def make_entity_state_machine(
    make_store: Any, spec: EntitySpec[Any]
) -> type[RuleBasedStateMachine]:
    """A state machine that drives ``uow.repo(spec)`` against a dict model: adds (unique
    clashes included), updates with the right and a stale version, soft deletes and
    restores, purges, abandoned units of work, and filtered keyset walks of random size."""
    objects = entity_strategy(spec)

    class EntityMachine(RuleBasedStateMachine):
        ids = Bundle("ids")

        def __init__(self) -> None:
            super().__init__()
            self.store = make_store()
            self.model: dict[str, Any] = {}
            self.order: list[str] = []

        def teardown(self) -> None:
            self.store.close()

        def _write(self, action: Any) -> BaseException | None:
            with self.store.unit_of_work() as uow:
                try:
                    action(uow.repo(spec))
                    uow.commit()
                except (ValidationError, ConcurrencyError, NotFound) as exc:
                    return exc
            return None

        @rule(target=ids, obj=objects)
        def add(self, obj: Any) -> str:
            clash = _model_unique_clash(spec, self.model, obj)
            error = self._write(lambda r: r.add(obj))
            if clash:
                assert isinstance(error, ValidationError), error
                assert set(error.fields) <= set(spec.unique)
                return obj.id  # type: ignore[no-any-return]
            assert error is None, error
            self.model[obj.id] = obj
            self.order.append(obj.id)
            return obj.id  # type: ignore[no-any-return]

        @rule(id=ids, new=objects, stale=st.booleans())
        def update(self, id: str, new: Any, stale: bool) -> None:
            current = self.model.get(id)
            if current is None:
                ghost = attrs.evolve(new, id=id, version=2)
                assert isinstance(self._write(lambda r: r.update(ghost, 1)), NotFound)
                return
            changes: dict[str, Any] = {"id": id, "created_at": current.created_at}
            if spec.soft_delete:
                changes["deleted_at"] = current.deleted_at
            if stale and current.version > 1:
                old = attrs.evolve(new, **changes, version=current.version)
                error = self._write(lambda r: r.update(old, current.version - 1))
                assert isinstance(error, ConcurrencyError), error
                return
            updated = attrs.evolve(new, **changes, version=current.version + 1)
            clash = _model_unique_clash(spec, self.model, updated)
            error = self._write(lambda r: r.update(updated, current.version))
            if clash:
                assert isinstance(error, ValidationError), error
                return
            assert error is None, error
            self.model[id] = updated

        @rule(id=ids)
        def toggle_deleted(self, id: str) -> None:
            current = self.model.get(id)
            if current is None or not spec.soft_delete:
                return
            moved = attrs.evolve(
                current,
                deleted_at=None if current.deleted_at else NOW,
                version=current.version + 1,
            )
            clash = _model_unique_clash(spec, self.model, moved)
            error = self._write(lambda r: r.update(moved, current.version))
            if clash:
                assert isinstance(error, ValidationError), error
                return
            assert error is None, error
            self.model[id] = moved

        @rule(id=ids)
        def purge(self, id: str) -> None:
            assert self._write(lambda r: r.purge([id])) is None
            self.model.pop(id, None)

        @rule(obj=objects)
        def abandon(self, obj: Any) -> None:
            # Nothing is kept either way, whether the add fails or not.
            with (
                self.store.unit_of_work() as uow,
                contextlib.suppress(ValidationError, ConcurrencyError),
            ):
                uow.repo(spec).add(obj)
            with self.store.unit_of_work() as uow:
                found = uow.repo(spec).get(obj.id)
            assert found == self.model.get(obj.id)

        @rule(
            deleted=st.sampled_from(list(Deleted)),
            size=st.integers(1, 4),
            data=st.data(),
        )
        def walk(self, deleted: Deleted, size: int, data: st.DataObject) -> None:
            draw: Any = data.draw
            filters: tuple[Filter, ...] = ()
            live = list(self.model.values())
            if live and spec.indexed and draw(st.booleans()):  # a spec may index nothing
                name = draw(st.sampled_from(list(spec.indexed)))
                value = column_value(getattr(draw(st.sampled_from(live)), name))
                op = draw(st.sampled_from([Op.EQ, Op.NE, Op.NULL]))
                filters = (Filter(name, op, value is None if op is Op.NULL else value),)
                if value is None and op is not Op.NULL:
                    filters = ()
            query = EntityQuery(
                filters=filters, deleted=deleted if spec.soft_delete else Deleted.EXCLUDE
            )
            got = all_ids(self.store, spec, query, EVERYTHING, size)
            want = [i for i in self.order if i in self.model and self._wanted(self.model[i], query)]
            if spec.newest_first:
                want.reverse()
            assert got == want
            with self.store.unit_of_work() as uow:
                repo = uow.repo(spec)
                assert repo.count(query, EVERYTHING) == len(want)
                assert repo.count(query, EVERYTHING, cap=2) == min(2, len(want))
                # The same records, counted in groups by one indexed field.
                total = repo.aggregate(query, EVERYTHING, by=(), measures=(Measure.count(),))
                assert total == ([AggregateRow((), (len(want),))] if want else [])
                if spec.indexed:
                    name = draw(st.sampled_from(list(spec.indexed)))
                    rows = repo.aggregate(
                        query, EVERYTHING, by=(Group(name),), measures=(Measure.count(),)
                    )
                    expected = Counter(column_value(getattr(self.model[i], name)) for i in want)
                    assert {r.key[0]: r.values[0] for r in rows} == expected
                    assert len(rows) == len(expected)

        def _wanted(self, obj: Any, query: EntityQuery) -> bool:
            if spec.soft_delete:
                if query.deleted is Deleted.EXCLUDE and obj.deleted_at is not None:
                    return False
                if query.deleted is Deleted.ONLY and obj.deleted_at is None:
                    return False
            for f in query.filters:
                value = column_value(getattr(obj, f.field))
                if f.op is Op.EQ and value != f.value:
                    return False
                if f.op is Op.NE and value == f.value and value is not None:
                    return False
                if f.op is Op.NULL and (value is None) is not f.value:
                    return False
            return True

        @invariant()
        def every_record_reads_back_as_written(self) -> None:
            with self.store.unit_of_work() as uow:
                repo = uow.repo(spec)
                for id, obj in self.model.items():
                    assert repo.get(id) == obj
                gone = [i for i in self.order if i not in self.model]
                assert repo.get_many(gone) == []

    return EntityMachine


class _Fixture:
    state_machine_examples: ClassVar[int] = 20
    state_machine_steps: ClassVar[int] = 25

    def make_store(self) -> Store:
        raise NotImplementedError(f"{type(self).__name__} must implement make_store()")

    def _fresh(self) -> Store:
        store = self.make_store()
        create_test_tables(store)
        return store

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        store = self._fresh()
        try:
            yield store
        finally:
            store.close()


class EntityRepositoryContract(_Fixture, AggregateContract):
    """The generic repository's contract, for every spec in :data:`SPECS`, with its
    aggregates (:class:`crmkit.testing.contract.aggregates.AggregateContract`)."""

    @pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
    def test_the_repository_agrees_with_a_model(self, spec: EntitySpec[Any]) -> None:
        machine = make_entity_state_machine(self._fresh, spec)
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=self.state_machine_examples,
                stateful_step_count=self.state_machine_steps,
                deadline=None,
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )

    @pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
    def test_any_valid_object_round_trips(self, spec: EntitySpec[Any], store: Store) -> None:
        @given(obj=entity_strategy(spec))
        @settings(max_examples=15, deadline=None, database=None)
        def check(obj: Any) -> None:
            if spec.unique:
                # examples must not collide: an optional unique value is left out, a required
                # one made from the (fresh) id
                defaults = attrs.fields_dict(spec.type)
                obj = attrs.evolve(
                    obj,
                    **{
                        f: None if defaults[f].default is None else f"{f}-{obj.id}"
                        for f in spec.unique
                    },
                )
            with store.unit_of_work() as uow:
                uow.repo(spec).add(obj)
                uow.commit()
            with store.unit_of_work() as uow:
                assert uow.repo(spec).get(obj.id) == obj
                assert uow.repo(spec).get_many([obj.id, "missing"]) == [obj]

        check()

    fulltext_examples: ClassVar[int] = 10

    @pytest.mark.parametrize("spec", FULLTEXT_SPECS, ids=lambda s: s.name)
    def test_search_agrees_with_the_reference_reading(
        self, spec: EntitySpec[Any], store: Store
    ) -> None:
        @given(
            objs=st.lists(
                _fulltext_objects(spec), min_size=1, max_size=6, unique_by=lambda o: o.id
            ),
            data=st.data(),
        )
        @settings(
            max_examples=self.fulltext_examples,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        )
        def check(objs: list[Any], data: st.DataObject) -> None:
            draw: Any = data.draw
            left = all_ids(store, spec, EntityQuery(deleted=Deleted.INCLUDE), EVERYTHING, 100)
            with store.unit_of_work() as uow:  # what an earlier (failed) example left
                uow.repo(spec).purge(left)
                uow.repo(spec).add_many(objs)
                uow.commit()
            model = {o.id: o for o in objs}
            # a change, a soft delete and a restore follow the index
            moved = draw(st.sampled_from(objs))
            new = attrs.evolve(draw(_fulltext_objects(spec)), id=moved.id, version=2)
            if spec.soft_delete:
                new = attrs.evolve(new, deleted_at=draw(st.sampled_from([None, NOW])))
            with store.unit_of_work() as uow:
                uow.repo(spec).update(new, expected_version=moved.version)
                uow.commit()
            model[moved.id] = new
            docs = [document(o, spec.fulltext) for o in model.values()]
            queries = [
                draw(st.sampled_from(_VOCAB)),
                " ".join(draw(st.lists(st.sampled_from(_VOCAB), min_size=2, max_size=2))),
                draw(st.sampled_from(docs)),  # a whole document (its own text finds it)
            ]
            doc = draw(st.sampled_from(docs))
            if doc:
                start = draw(st.integers(0, len(doc) - 1))
                queries.append(doc[start : draw(st.integers(start + 1, len(doc)))])
            live = [
                o for o in model.values() if not (spec.soft_delete and o.deleted_at is not None)
            ]
            with store.unit_of_work() as uow:
                repo = uow.repo(spec)
                for q in queries:
                    hits = repo.search(q, EVERYTHING, limit=50)
                    want = {o.id for o in live if matches(document(o, spec.fulltext), q)}
                    assert {h.item.id for h in hits} == want, (q, [h.item for h in hits])
                    scores = [h.score for h in hits]
                    assert scores == sorted(scores, reverse=True)
                    assert all(h.item == model[h.item.id] for h in hits)
                    assert len(repo.search(q, EVERYTHING, limit=1)) == min(1, len(want))
                repo.purge(list(model))
                uow.commit()
            with store.unit_of_work() as uow:
                for q in queries:
                    assert uow.repo(spec).search(q, EVERYTHING, limit=50) == []

        check()

    def test_search_needs_fulltext_fields(self, store: Store) -> None:
        with store.unit_of_work() as uow, pytest.raises(ValueError, match="fulltext"):
            uow.repo(MEMOS).search("门锁", EVERYTHING, limit=5)

    def test_children_are_written_replaced_and_purged_with_their_parent(self, store: Store) -> None:
        memo = _memo(lines=(MemoLine(text="一", qty=2), MemoLine(text="二")))
        with store.unit_of_work() as uow:
            uow.repo(MEMOS).add(memo)
            uow.commit()
        fewer = attrs.evolve(memo, lines=(MemoLine(text="三", qty=3),), version=2)
        with store.unit_of_work() as uow:
            uow.repo(MEMOS).update(fewer, expected_version=1)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.repo(MEMOS).get(memo.id) == fewer
            uow.repo(MEMOS).purge([memo.id])
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.repo(MEMOS).get(memo.id) is None

    def test_a_failed_add_keeps_nothing_and_names_the_unique_field(self, store: Store) -> None:
        first, second = _memo(title="同名"), _memo(title="同名", lines=(MemoLine(text="x"),))
        with store.unit_of_work() as uow:
            uow.repo(MEMOS).add(first)
            uow.commit()
        with store.unit_of_work() as uow, pytest.raises(ValidationError) as caught:
            uow.repo(MEMOS).add(second)
            uow.commit()
        assert caught.value.fields == ("title",)
        with store.unit_of_work() as uow:
            assert uow.repo(MEMOS).get(second.id) is None
            # A deleted holder frees the value.
            uow.repo(MEMOS).update(attrs.evolve(first, deleted_at=NOW, version=2), 1)
            uow.repo(MEMOS).add(second)
            uow.commit()

    def test_filters_ranges_and_text(self, store: Store) -> None:
        memos = [
            _memo(title="Smart Lock", priority=1, due=NOW.date()),
            _memo(title="门锁配件", priority=2, due=(NOW + timedelta(days=1)).date()),
            _memo(title="service", priority=3),
        ]
        with store.unit_of_work() as uow:
            uow.repo(MEMOS).add_many(memos)
            uow.commit()

        def ids(*filters: Filter, text: str | None = None) -> set[str]:
            query = EntityQuery(filters=filters, text=text)
            with store.unit_of_work() as uow:
                return {m.id for m in uow.repo(MEMOS).list(query, EVERYTHING, after=None, limit=50)}

        a, b, c = (m.id for m in memos)
        assert ids(Filter("priority", Op.GE, 2)) == {b, c}
        assert ids(Filter("priority", Op.LT, 2)) == {a}
        assert ids(Filter("priority", Op.IN, (1, 3))) == {a, c}
        assert ids(Filter("priority", Op.IN, ())) == set()
        assert ids(Filter("due", Op.NULL, True)) == {c}
        assert ids(Filter("due", Op.NE, NOW.date())) == {b, c}
        assert ids(Filter("title", Op.CONTAINS, "lock")) == {a}
        assert ids(text="锁") == {b}
        assert ids(text="SMART") == {a}
        with pytest.raises(ValueError, match="no order"):
            ids(Filter("amount", Op.GE, 1))
        # a keyset walk under an IN filter, in small pages, in the spec's order
        many = [_memo(title=f"m{i}", priority=i % 4) for i in range(23)]
        with store.unit_of_work() as uow:
            uow.repo(MEMOS).add_many(many)
            uow.commit()
        chosen = EntityQuery(filters=(Filter("priority", Op.IN, (0, 3, 3)),))
        expected = [m.id for m in [*memos, *many] if m.priority in (0, 3)]
        walked = all_ids(store, MEMOS, chosen, EVERYTHING, 2)
        assert walked == (expected if not MEMOS.newest_first else expected[::-1])
        with store.unit_of_work() as uow:
            assert uow.repo(MEMOS).count(chosen, EVERYTHING) == len(expected)
            assert uow.repo(MEMOS).count(chosen, EVERYTHING, cap=3) == 3

    def test_owner_scope_sees_owners_and_co_owners(self, store: Store) -> None:
        mine, shared, other = (
            _memo(title="1", owner_id="u-1"),
            _memo(title="2", owner_id="u-2", shared_with=("u-1",)),
            _memo(title="3", owner_id="u-3"),
        )
        with store.unit_of_work() as uow:
            uow.repo(MEMOS).add_many([mine, shared, other])
            uow.commit()
        scope = Scope.of("u-1")
        with store.unit_of_work() as uow:
            repo = uow.repo(MEMOS)
            seen = repo.list(EntityQuery(), scope, after=None, limit=10)
            assert {m.id for m in seen} == {mine.id, shared.id}
            assert repo.get(other.id, scope) is None
            assert repo.count(EntityQuery(), scope) == 2
            # Sharing is taken back: the member table follows the update.
            repo.update(attrs.evolve(shared, shared_with=(), version=2), 1)
            assert repo.get(shared.id, scope) is None

    def test_parent_and_customer_scopes_follow_what_they_belong_to(self, store: Store) -> None:
        visible, hidden = make_customer(owner_id="u-1"), make_customer(owner_id="u-2")
        memo = _memo(owner_id="u-2")
        note = MemoNote(id="n-1", memo_id=memo.id, body="备注", created_at=NOW)
        visits = [
            Visit(id=f"v-{i}", customer_id=c.id, summary="拜访", created_at=NOW)
            for i, c in enumerate((visible, hidden))
        ]
        with store.unit_of_work() as uow:
            uow.customers.add_many([visible, hidden])
            uow.repo(MEMOS).add(memo)
            uow.repo(MEMO_NOTES).add(note)
            uow.repo(VISITS).add_many(visits)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.repo(MEMO_NOTES).get(note.id, Scope.of("u-1")) is None
            assert uow.repo(MEMO_NOTES).get(note.id, Scope.of("u-2")) == note
            page = uow.repo(VISITS).list(EntityQuery(), Scope.of("u-1"), after=None, limit=5)
            assert [v.customer_id for v in page] == [visible.id]

    def test_update_many_moves_every_record_or_names_the_stale_one(self, store: Store) -> None:
        memo = _memo(owner_id="u-1")
        notes = [
            MemoNote(id=f"n-{i}", memo_id=memo.id, body=f"备注{i}", created_at=NOW)
            for i in range(3)
        ]
        with store.unit_of_work() as uow:
            uow.repo(MEMOS).add(memo)
            uow.repo(MEMO_NOTES).add_many(notes)
            uow.commit()
        moved = [attrs.evolve(n, body=f"改{n.id}", version=2) for n in notes]
        with store.unit_of_work() as uow:
            uow.repo(MEMO_NOTES).update_many(moved, [1, 1, 1])
            uow.commit()
        with store.unit_of_work() as uow:
            assert (
                sorted(uow.repo(MEMO_NOTES).get_many([n.id for n in notes]), key=lambda n: n.id)
                == moved
            )
        again = [attrs.evolve(n, body="再改", version=3) for n in moved]
        with store.unit_of_work() as uow:
            with pytest.raises(ConcurrencyError) as stale:
                uow.repo(MEMO_NOTES).update_many(again, [2, 1, 2])  # n-1 is at version 2
            assert stale.value.id == "n-1"
        with store.unit_of_work() as uow:  # rolled back: nothing moved
            assert {n.body for n in uow.repo(MEMO_NOTES).get_many([n.id for n in notes])} == {
                f"改{n.id}" for n in notes
            }

    def test_group_scope_hides_restricted_groups_from_non_members(self, store: Store) -> None:
        stamp: dict[str, Any] = {"created_at": NOW, "updated_at": NOW, "created_by": "u-1"}
        open_group = ProductGroup(id="g-open", name="公开", **stamp)
        closed = ProductGroup(
            id="g-closed", name="高端", members=("role:manager", "user:u-9"), **stamp
        )
        items = [
            Product(id=f"p-{g}", name="门锁", group_id=g, **stamp)
            for g in (None, "g-open", "g-closed")
        ]
        with store.unit_of_work() as uow:
            uow.repo(PRODUCT_GROUPS).add_many([open_group, closed])
            uow.repo(PRODUCTS).add_many(items)
            uow.commit()

        def seen(principals: frozenset[str] | None) -> set[str]:
            scope = Scope(None, principals)
            with store.unit_of_work() as uow:
                return {
                    p.id
                    for p in uow.repo(PRODUCTS).list(EntityQuery(), scope, after=None, limit=10)
                }

        sales = frozenset({"user:u-1", f"role:{Role.SALES.value}"})
        assert seen(sales) == {"p-None", "p-g-open"}
        assert seen(frozenset({"user:u-9", "role:sales"})) == {"p-None", "p-g-open", "p-g-closed"}
        assert seen(None) == {"p-None", "p-g-open", "p-g-closed"}

    def test_a_sequence_counts_from_one_per_prefix_and_year(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            assert [uow.numbers.next("SO", 2026) for _ in range(3)] == [1, 2, 3]
            assert uow.numbers.next("SO", 2027) == 1
            assert uow.numbers.next("QT", 2026) == 1
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.numbers.next("SO", 2026) == 4

    def test_a_rolled_back_number_is_given_back(self, store: Store) -> None:
        with store.unit_of_work() as uow:
            assert uow.numbers.next("TK", 2026) == 1
            uow.rollback()
        with store.unit_of_work() as uow:
            assert uow.numbers.next("TK", 2026) == 1

    concurrent_creators: ClassVar[int] = 8

    def test_concurrent_units_of_work_get_distinct_numbers(self, store: Store) -> None:
        if getattr(store, "url", "") == "sqlite://":
            pytest.skip("one shared connection: units of work cannot run in parallel threads")
        got: list[int] = []
        lock = threading.Lock()
        errors: list[BaseException] = []
        start = threading.Barrier(self.concurrent_creators)

        def create() -> None:
            try:
                start.wait()
                for _ in range(5):
                    with store.unit_of_work() as uow:
                        number = uow.numbers.next("SO", 2026)
                        uow.commit()
                    with lock:
                        got.append(number)
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=create) for _ in range(self.concurrent_creators)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert sorted(got) == list(range(1, 5 * self.concurrent_creators + 1))


__all__ = [
    "FULLTEXT_SPECS",
    "SPECS",
    "TEST_SPECS",
    "EntityRepositoryContract",
    "all_ids",
    "make_entity_state_machine",
]
