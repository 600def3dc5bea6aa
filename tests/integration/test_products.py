"""The product catalogue through the library, on every backend: the kernel's lifecycle
(permissions, scope, validation, versions, audit, events, recycle bin) proven on it."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest

import crmkit
from crmkit.domain import events as ev
from crmkit.testing import ManualClock


def _lock(s: crmkit.Session, **fields: object) -> crmkit.Product:
    base: dict[str, object] = {"name": "智能门锁", "code": "LK-100", "price": "1999.00"}
    return s.products.create(**{**base, **fields})


def test_a_product_is_stored_typed_and_its_margin_follows(crm, admin):
    with crm.session(actor=admin) as s:
        p = _lock(s, cost="1200", tax_rate="13%", unit=" 套 ", specification="指纹+密码")
    with crm.session(actor=admin) as s:
        got = s.products.get(p.id)
    assert got == p
    assert (got.price, got.tax_rate, got.unit) == (
        crmkit.Money(Decimal("1999.00")),
        Decimal("0.13"),
        "套",
    )
    assert str(got.margin) == "799.00 CNY"


def test_every_wrong_field_is_named_at_once_and_nothing_is_written(crm, admin):
    with crm.session(actor=admin) as s:
        _lock(s)
    with pytest.raises(crmkit.ValidationError) as caught, crm.session(actor=admin) as s:
        s.products.create(
            name="", code="LK-100", price="abc", tax_rate="1.3", category_id="nope", colour="红"
        )
    assert set(caught.value.fields) == {
        "name",
        "code",
        "price",
        "tax_rate",
        "category_id",
        "colour",
    }
    with crm.session(actor=admin) as s:
        assert s.products.count() == 1


def test_a_stale_version_changes_nothing(crm, admin):
    with crm.session(actor=admin) as s:
        p = _lock(s)
        s.products.update(p.id, version=p.version, price="1899")
    with pytest.raises(crmkit.ConcurrencyError), crm.session(actor=admin) as s:
        s.products.update(p.id, version=p.version, price="1")
    with crm.session(actor=admin) as s:
        assert s.products.get(p.id).price == crmkit.Money(Decimal("1899"))


def test_salespeople_read_the_catalogue_and_managers_keep_it(crm, team):
    with crm.session(actor=team["boss"]) as s:
        p = _lock(s)
    with crm.session(actor=team["zhang"]) as s:
        assert s.products.get(p.id) == p
        for write in (
            lambda: s.products.create(name="门铃"),
            lambda: s.products.update(p.id, price="1"),
            lambda: s.products.delete(p.id),
        ):
            with pytest.raises(crmkit.PermissionDenied):
                write()


def test_permissions_are_the_crms_own_and_can_be_granted(crm, team):
    crm.permissions.grant(crmkit.Role.SALES, "product.create")
    with crm.session(actor=team["zhang"]) as s:
        assert s.products.create(name="门铃").name == "门铃"
    assert "product.create" not in crmkit.Permissions.default().granted(crmkit.Role.SALES)


def test_a_restricted_groups_products_are_seen_only_by_its_members(crm, team):
    with crm.session(actor=team["admin"]) as s:
        group = s.product_groups.create(
            name="工程项目价", members=[f"user:{team['li'].id}", "role:manager"]
        )
        hidden = _lock(s, code="LK-900", group_id=group.id)
        shown = _lock(s, code="LK-100")
    with crm.session(actor=team["zhang"]) as s:
        assert [p.id for p in s.products.list()] == [shown.id]
        with pytest.raises(crmkit.NotFound):
            s.products.get(hidden.id)
        with pytest.raises(crmkit.NotFound):
            s.audit.history(hidden.id)
        assert s.audit.history(shown.id)[0].action is crmkit.AuditAction.CREATE
    for member in ("li", "boss"):
        with crm.session(actor=team[member]) as s:
            assert {p.id for p in s.products.list()} == {shown.id, hidden.id}


def test_a_code_freed_by_a_deleted_product_is_taken_until_it_is_restored(crm, admin):
    with crm.session(actor=admin) as s:
        old = _lock(s)
        s.products.delete(old.id)
        new = _lock(s)
        assert [p.id for p in s.products.list(deleted="only")] == [old.id]
        with pytest.raises(crmkit.ValidationError) as caught:
            s.products.restore(old.id)
        assert caught.value.fields == ("code",)
        s.products.update(new.id, code="LK-101")
        assert s.products.restore(old.id).deleted_at is None


def test_the_recycle_bin_is_purged_after_the_retention(crm, admin, clock: ManualClock):
    with crm.session(actor=admin) as s:
        p = _lock(s)
        s.products.delete(p.id)
    clock.advance(timedelta(days=29))
    with crm.session(actor=admin) as s:
        assert s.products.purge() == 0
    clock.advance(timedelta(days=2))
    with crm.session(actor=admin) as s:
        assert s.products.purge() == 1
        with pytest.raises(crmkit.NotFound):
            s.products.get(p.id, include_deleted=True)


def test_categories_form_a_tree_without_cycles_and_in_use_ones_stay(crm, admin):
    with crm.session(actor=admin) as s:
        top = s.product_categories.create(name="门锁")
        mid = s.product_categories.create(name="智能门锁", parent_id=top.id)
        leaf = s.product_categories.create(name="指纹锁", parent_id=mid.id)
        with pytest.raises(crmkit.ValidationError) as caught:
            s.product_categories.update(top.id, parent_id=leaf.id)
        assert caught.value.fields == ("parent_id",)
        assert [c.id for c in s.product_categories.children(None)] == [top.id]
        _lock(s, category_id=leaf.id)
        with pytest.raises(crmkit.WorkflowError):
            s.product_categories.delete(leaf.id)
        with pytest.raises(crmkit.WorkflowError):
            s.product_categories.delete(mid.id)


def test_custom_fields_are_validated_per_entity_type(crm, admin):
    crm.define_field("product", crmkit.CustomField("warranty", "number"))
    with pytest.raises(ValueError, match="takes no custom fields"):
        crm.define_field("product_group", crmkit.CustomField("x", "text"))
    with crm.session(actor=admin) as s:
        p = _lock(s, custom={"warranty": "2"})
        assert p.custom == {"warranty": Decimal("2")}
        with pytest.raises(crmkit.ValidationError) as caught:
            s.products.update(p.id, custom={"warranty": "二年"})
        assert caught.value.fields == ("custom.warranty",)
        with pytest.raises(crmkit.ValidationError):
            s.customers.create(name="青岛金智电子科技有限公司", custom={"warranty": "2"})


def test_filters_text_and_pages(crm, admin):
    with crm.session(actor=admin) as s:
        made = [_lock(s, code=f"LK-{i}", name=f"门锁{i}", active=i % 2 == 0) for i in range(7)]
        assert s.products.count(active=True) == 4
        assert [p.code for p in s.products.list(code__in=["LK-1", "LK-3"])] == ["LK-3", "LK-1"]
        assert s.products.count(q="lk-") == 7
        seen, after = [], None
        while True:
            page = s.products.list(after=after, limit=3)
            seen += [p.id for p in page]
            if page.next_after is None:
                break
            after = page.next_after
        assert seen == [p.id for p in reversed(made)]
        with pytest.raises(crmkit.ValidationError) as caught:
            s.products.list(price__ge=1, colour="红", active="maybe")
        assert set(caught.value.fields) == {"price__ge", "colour", "active"}


def test_changes_are_audited_field_by_field_and_published_after_commit(crm, admin):
    seen: list[ev.DomainEvent] = []
    crm.subscribe(ev.RecordUpdated, seen.append)
    with crm.session(actor=admin) as s:
        p = _lock(s)
        s.products.update(p.id, price="1899.00", unit="套")
        assert seen == []
        entry = s.audit.history(p.id)[-1]
    assert entry.changes == {
        "price": (
            {"amount": "1999.00", "currency": "CNY"},
            {"amount": "1899.00", "currency": "CNY"},
        ),
        "unit": (None, "套"),
    }
    assert [(e.entity_type, e.fields) for e in seen] == [("product", ("unit", "price"))]


def test_a_session_that_fails_keeps_no_product(crm, admin):
    def create_then_fail() -> None:
        with crm.session(actor=admin) as s:
            _lock(s)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        create_then_fail()
    with crm.session(actor=admin) as s:
        assert s.products.count() == 0


@pytest.mark.parametrize("backend_url", ["sqlite", "postgres"], indirect=True)
def test_two_sessions_racing_for_one_code_store_it_once(crm, admin):
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def create(name: str) -> None:
        try:
            with crm.session(actor=admin) as s:
                start.wait()
                _lock(s, name=name)
            outcomes.append("created")
        except crmkit.ValidationError as exc:
            outcomes.append(",".join(exc.fields))

    threads = [threading.Thread(target=create, args=(n,)) for n in ("甲", "乙")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["code", "created"]
    with crm.session(actor=admin) as s:
        assert s.products.count(code="LK-100") == 1
