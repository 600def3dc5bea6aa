"""Quotes (报价单) through the library, on every backend: numbering, lines filled from the
catalogue, totals from crmkit.domain.pricing, the moves, revisions, scope, errors, and lines
read from a spreadsheet."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crmkit
from crmkit.domain.pricing import PriceEntry, PriceLine, price_lines
from crmkit.testing import ManualClock, open_test_crm


def _customer(s: crmkit.Session, name: str = "青岛金智电子科技有限公司", **fields: object):
    base: dict[str, object] = {"name": name, "kind": "company"}
    return s.customers.create(**{**base, **fields})


def _lock(s: crmkit.Session, **fields: object) -> crmkit.Product:
    base: dict[str, object] = {
        "name": "智能门锁",
        "code": "LK-100",
        "unit": "套",
        "specification": "X1 指纹版",
        "price": "1999.00",
        "cost": "1200.00",
        "tax_rate": "0.13",
    }
    return s.products.create(**{**base, **fields})


def test_a_quote_is_numbered_filled_from_the_product_and_priced(crm, admin):
    with crm.session(actor=admin) as s:
        c = _customer(s)
        p = _lock(s)
        opp = s.opportunities.create(customer_id=c.id, title="门禁改造")
        q = s.quotes.create(
            customer_id=c.id,
            opportunity_id=opp.id,
            prices_include_tax=True,
            lines=[
                {"product_id": p.id, "quantity": 10, "unit_price": "1899.00"},
                {
                    "name": "安装调试",
                    "unit": "项",
                    "quantity": "1",
                    "unit_price": "500",
                    "tax_rate": "6%",
                    "discount": "10%",
                },
            ],
        )
    with crm.session(actor=admin) as s:
        got = s.quotes.get(q.id)
    assert got == q
    assert (got.number, got.quote_number, got.revision, got.label) == (
        "QT-2026-000001",
        "QT-2026-000001",
        1,
        "QT-2026-000001",
    )
    assert got.status is crmkit.QuoteStatus.DRAFT
    assert (got.owner_id, got.currency, got.valid_until) == (
        admin.id,
        "CNY",
        s.today() + timedelta(days=30),
    )
    lock, service = got.lines
    assert (lock.name, lock.specification, lock.unit, lock.tax_rate) == (
        "智能门锁",
        "X1 指纹版",
        "套",
        Decimal("0.13"),
    )
    assert lock.unit_cost == crmkit.Money(Decimal("1200.00"))
    assert (lock.gross, lock.net, lock.tax) == (
        crmkit.Money(Decimal("18990.00")),
        crmkit.Money(Decimal("16805.31")),
        crmkit.Money(Decimal("2184.69")),
    )
    assert service.gross == crmkit.Money(Decimal("450.00"))
    assert got.gross == crmkit.Money(Decimal("19440.00"))
    assert got.net + got.tax == got.gross
    assert got.margin == crmkit.Money(Decimal("4805.31"))  # the service line has no cost
    assert [t.tax_rate for t in got.totals().by_tax_rate] == [Decimal("0.13"), Decimal("0.06")]


def test_tax_exclusive_quotes_take_the_catalogue_price_without_vat(crm, admin):
    with crm.session(actor=admin) as s:
        c = _customer(s)
        p = _lock(s, price="1130.00")
        q = s.quotes.create(
            customer_id=c.id, prices_include_tax=False, lines=[{"product_id": p.id, "quantity": 2}]
        )
    assert q.lines[0].unit_price == crmkit.Money(Decimal("1000.00"))
    assert (q.net, q.tax, q.gross) == (
        crmkit.Money(Decimal("2000.00")),
        crmkit.Money(Decimal("260.00")),
        crmkit.Money(Decimal("2260.00")),
    )


def test_every_wrong_line_is_named_in_both_languages_and_nothing_is_written(crm, admin):
    with crm.session(actor=admin) as s:
        c = _customer(s)
        p = _lock(s)
        gone = _lock(s, code="LK-200", name="旧款门锁")
        s.products.delete(gone.id)
    with pytest.raises(crmkit.ValidationError) as caught, crm.session(actor=admin) as s:
        s.quotes.create(
            customer_id=c.id,
            valid_until="2025-12-31",
            lines=[
                {"product_id": p.id, "quantity": 1},
                {"product_id": "nope", "quantity": 1},
                {"product_id": p.id, "quantity": "-3"},
                {"product_id": p.id, "quantity": 1, "discount": "120%"},
                {"product_id": gone.id, "quantity": 1},
                {"name": "运费", "quantity": "1.00001", "unit_price": "-5", "tax_rate": "0.09"},
            ],
        )
    err = caught.value
    assert set(err.fields) == {
        "valid_until",
        "lines[1].product_id",
        "lines[2].quantity",
        "lines[3].discount",
        "lines[4].product_id",
        "lines[5].quantity",
        "lines[5].unit_price",
    }
    by = err.by_field()
    assert by["lines[2].quantity"][0].code == "number.positive"
    assert "必须大于零" in by["lines[2].quantity"][0].message("zh")
    assert "greater than zero" in by["lines[2].quantity"][0].message("en")
    assert "不是您可查看的产品" in by["lines[1].product_id"][0].message("zh")
    assert "折扣" in by["lines[3].discount"][0].describe("zh")
    assert "discount" in by["lines[3].discount"][0].describe("en")
    assert "不能早于今天" in by["valid_until"][0].message("zh")
    assert "有效期至" in err.message("zh") and "valid until" in err.message("en")
    with crm.session(actor=admin) as s:
        assert s.quotes.count() == 0
        # a failed create takes no number: the next quote is still the first
        assert s.quotes.create(customer_id=c.id).number == "QT-2026-000001"


def test_the_opportunity_must_be_the_customers_and_the_customer_visible(crm, team):
    zhang, other = team["zhang"], team["other"]
    with crm.session(actor=zhang) as s:
        mine = _customer(s, owner_id=zhang.id)
        theirs = _customer(s, name="上海远景贸易有限公司", owner_id=zhang.id)
        opp = s.opportunities.create(customer_id=theirs.id, title="仓库门锁")
    with pytest.raises(crmkit.ValidationError) as caught, crm.session(actor=zhang) as s:
        s.quotes.create(customer_id=mine.id, opportunity_id=opp.id)
    assert caught.value.by_field()["opportunity_id"][0].code == "quote.opportunity_customer"
    with pytest.raises(crmkit.ValidationError) as caught, crm.session(actor=other) as s:
        s.quotes.create(customer_id=mine.id)
    assert caught.value.by_field()["customer_id"][0].code == "quote.customer_unseen"


def test_a_quote_is_seen_by_whoever_sees_its_customer(crm, team):
    zhang, li, boss, other = team["zhang"], team["li"], team["boss"], team["other"]
    with crm.session(actor=zhang) as s:
        q = s.quotes.create(customer_id=_customer(s, owner_id=zhang.id).id)
    with crm.session(actor=li) as s:
        s.quotes.create(customer_id=_customer(s, name="上海远景贸易有限公司", owner_id=li.id).id)
    with crm.session(actor=boss) as s:
        assert s.quotes.count() == 2
    with crm.session(actor=zhang) as s:
        assert [x.id for x in s.quotes.list()] == [q.id]
        assert [x.id for x in s.quotes.revisions(q.number)] == [q.id]
    with crm.session(actor=other) as s, pytest.raises(crmkit.NotFound):
        s.quotes.get(q.id)


def test_a_draft_is_edited_and_priced_again_a_sent_quote_is_not(crm, admin):
    with crm.session(actor=admin) as s:
        c = _customer(s)
        p = _lock(s)
        q = s.quotes.create(customer_id=c.id, lines=[{"product_id": p.id, "quantity": 1}])
        assert q.gross == crmkit.Money(Decimal("1999.00"))
        q = s.quotes.update(q.id, version=q.version, lines=[{"product_id": p.id, "quantity": 3}])
        assert q.gross == crmkit.Money(Decimal("5997.00"))
        q = s.quotes.update(q.id, prices_include_tax=False)  # the same prices, now net
        assert q.net == crmkit.Money(Decimal("5997.00"))
        sent = s.quotes.send(q.id, version=q.version)
    assert sent.status is crmkit.QuoteStatus.SENT and sent.sent_at is not None
    with pytest.raises(crmkit.WorkflowError) as caught, crm.session(actor=admin) as s:
        s.quotes.update(q.id, remarks="改价")
    assert (caught.value.state, caught.value.move) == ("sent", "edit")
    assert "已发送" in caught.value.message("zh")


def test_sending_needs_lines_and_a_validity_date_still_ahead(crm, admin, clock: ManualClock):
    with crm.session(actor=admin) as s:
        c = _customer(s)
        empty = s.quotes.create(customer_id=c.id)
        late = s.quotes.create(
            customer_id=c.id,
            valid_until=s.today() + timedelta(days=2),
            lines=[{"name": "服务", "quantity": 1, "unit_price": "100", "tax_rate": "0.06"}],
        )
    with pytest.raises(crmkit.ValidationError) as caught, crm.session(actor=admin) as s:
        s.quotes.send(empty.id)
    assert caught.value.by_field()["lines"][0].code == "quote.no_lines"
    clock.advance(timedelta(days=5))
    with pytest.raises(crmkit.ValidationError) as caught, crm.session(actor=admin) as s:
        s.quotes.send(late.id)
    assert caught.value.fields == ("valid_until",)


def test_revising_a_sent_quote_keeps_the_earlier_revision_as_it_was(crm, admin):
    with crm.session(actor=admin) as s:
        c = _customer(s)
        p = _lock(s)
        first = s.quotes.create(customer_id=c.id, lines=[{"product_id": p.id, "quantity": 10}])
        first = s.quotes.send(first.id)
        second = s.quotes.revise(
            first.id,
            version=first.version,
            lines=[{"product_id": p.id, "quantity": 10, "unit_price": "1899.00"}],
        )
    assert (second.number, second.quote_number, second.revision, second.previous_id) == (
        "QT-2026-000001-V2",
        "QT-2026-000001",
        2,
        first.id,
    )
    assert second.label == "QT-2026-000001 第2版"
    assert second.status is crmkit.QuoteStatus.DRAFT
    assert second.gross == crmkit.Money(Decimal("18990.00"))
    with crm.session(actor=admin) as s:
        old = s.quotes.get(first.id)
        assert old.status is crmkit.QuoteStatus.SUPERSEDED
        assert (old.lines, old.gross) == (first.lines, first.gross)  # kept as it was
        assert [q.revision for q in s.quotes.revisions("QT-2026-000001")] == [1, 2]
        assert [q.id for q in s.quotes.revisions(second.number)] == [first.id, second.id]
        assert s.quotes.count(status="draft") == 1
        with pytest.raises(crmkit.WorkflowError):
            s.quotes.revise(first.id)  # superseded already
        with pytest.raises(crmkit.WorkflowError):
            s.quotes.revise(second.id)  # a draft is edited, not revised
        s.quotes.send(second.id)
        s.quotes.reject(second.id, reason="价格偏高")
        third = s.quotes.revise(second.id, remarks="让利 5%")
        assert third.label == "QT-2026-000001 第3版"
        s.quotes.send(third.id)
        won = s.quotes.accept(third.id)
        assert won.status is crmkit.QuoteStatus.ACCEPTED and won.decided_on == s.today()
        with pytest.raises(crmkit.WorkflowError):
            s.quotes.revise(third.id)
        # the next quote takes the next number
        assert s.quotes.create(customer_id=c.id).number == "QT-2026-000002"


def test_an_expired_quote_is_revised_with_a_new_validity_date(crm, admin, clock: ManualClock):
    with crm.session(actor=admin) as s:
        c = _customer(s)
        q = s.quotes.create(
            customer_id=c.id,
            valid_until=s.today() + timedelta(days=3),
            lines=[{"name": "服务", "quantity": 1, "unit_price": "100", "tax_rate": "0.06"}],
        )
        s.quotes.send(q.id)
    clock.advance(timedelta(days=10))
    with crm.session(actor=admin) as s:
        assert s.quotes.expire_overdue() == 1
        assert s.quotes.get(q.id).status is crmkit.QuoteStatus.EXPIRED
        with pytest.raises(crmkit.ValidationError) as caught:
            s.quotes.revise(q.id)  # the old date has passed
        assert caught.value.fields == ("valid_until",)
        again = s.quotes.revise(q.id, valid_until=s.today() + timedelta(days=15))
    assert again.revision == 2 and again.lines == q.lines


def test_lines_are_imported_from_a_spreadsheet_all_or_nothing(crm, admin):
    with crm.session(actor=admin) as s:
        c = _customer(s)
        _lock(s)
        q = s.quotes.create(customer_id=c.id)
    good = (
        "货号,名称,规格型号,数量,单价,折扣,税率\nLK-100,,,10,1899.00,,\n,安装调试,,1,500,10%,6%\n"
    )
    with crm.session(actor=admin) as s:
        q = s.quotes.import_lines(q.id, io.BytesIO(good.encode("utf-8")))
    assert [(x.name, x.quantity) for x in q.lines] == [("智能门锁", 10), ("安装调试", 1)]
    assert q.gross == crmkit.Money(Decimal("19440.00"))
    bad = "产品编码,数量,单价\nLK-999,1,10\nLK-100,-2,\n"
    with pytest.raises(crmkit.ValidationError) as caught, crm.session(actor=admin) as s:
        s.quotes.import_lines(q.id, io.BytesIO(bad.encode("utf-8")))
    assert set(caught.value.fields) == {"lines[2].product_id"}
    bad = "产品编码,数量,单价\nLK-100,-2,\n"
    with pytest.raises(crmkit.ValidationError) as caught, crm.session(actor=admin) as s:
        s.quotes.import_lines(q.id, io.BytesIO(bad.encode("utf-8")), replace=True)
    assert set(caught.value.fields) == {"lines[0].quantity"}
    with crm.session(actor=admin) as s:
        assert len(s.quotes.get(q.id).lines) == 2


def test_soft_delete_and_restore_keep_the_lines(crm, admin):
    with crm.session(actor=admin) as s:
        c = _customer(s)
        q = s.quotes.create(
            customer_id=c.id,
            lines=[{"name": "服务", "quantity": 2, "unit_price": "100", "tax_rate": "0.06"}],
        )
        s.quotes.delete(q.id)
    with crm.session(actor=admin) as s:
        assert s.quotes.count() == 0
        back = s.quotes.restore(q.id)
    assert back.lines == q.lines and back.gross == q.gross


# -- stored totals against pricing, on random lines (memory backend) -------------------------
_LINES = st.lists(
    st.tuples(
        st.decimals(Decimal("0.0001"), 1000, places=4),  # quantity
        st.decimals(0, 100_000, places=2),  # unit price
        st.decimals(0, 1, places=2),  # discount
        st.sampled_from([Decimal("0.13"), Decimal("0.09"), Decimal("0.06"), Decimal(0)]),
        st.none() | st.decimals(0, 50_000, places=2),  # unit cost
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_LINES, st.booleans())
def test_stored_totals_equal_pricings_totals(rows, include_tax):
    with open_test_crm(clock=ManualClock()) as crm:
        admin = crm.bootstrap_admin(name="管理员", password="admin-pass-1")
        with crm.session(actor=admin) as s:
            c = _customer(s)
            q = s.quotes.create(
                customer_id=c.id,
                prices_include_tax=include_tax,
                lines=[
                    {
                        "name": f"第{i}项",
                        "quantity": quantity,
                        "unit_price": price,
                        "discount": discount,
                        "tax_rate": rate,
                        "unit_cost": cost,
                    }
                    for i, (quantity, price, discount, rate, cost) in enumerate(rows)
                ],
            )
        with crm.session(actor=admin) as s:
            stored = s.quotes.get(q.id)
    expected = price_lines(
        [
            PriceLine(
                quantity=quantity,
                unit_price=crmkit.Money(price),
                discount=discount,
                tax_rate=rate,
                unit_cost=crmkit.Money(cost) if cost is not None else None,
            )
            for quantity, price, discount, rate, cost in rows
        ],
        entry=PriceEntry.TAX_INCLUDED if include_tax else PriceEntry.TAX_EXCLUDED,
    )
    assert (stored.net, stored.tax, stored.gross) == (expected.net, expected.tax, expected.gross)
    assert (stored.cost, stored.margin, stored.margin_rate) == (
        expected.cost,
        expected.margin,
        expected.margin_rate,
    )
    assert [(x.net, x.tax, x.gross) for x in stored.lines] == [
        (t.net, t.tax, t.gross) for t in expected.lines
    ]


def test_a_customer_merge_moves_its_quotes_and_unmerge_moves_them_back(crm, admin):
    with crm.session(actor=admin) as s:
        winner = _customer(s)
        loser = _customer(s, name="上海远景贸易有限公司")
        line = {"name": "智能门锁", "quantity": "2", "unit_price": "1999", "tax_rate": "13%"}
        quote = s.quotes.create(customer_id=loser.id, lines=[line])
        result = s.customers.merge(winner.id, [loser.id])
    with crm.session(actor=admin) as s:
        assert s.quotes.get(quote.id).customer_id == winner.id
        s.customers.unmerge(result.merge_id)
    with crm.session(actor=admin) as s:
        assert s.quotes.get(quote.id).customer_id == loser.id
