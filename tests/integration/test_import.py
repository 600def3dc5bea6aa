"""Spreadsheet import: every row ends in exactly one outcome, and re-importing adds nothing."""

from __future__ import annotations

import io
import itertools

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from crmkit import DedupConfig
from crmkit.domain.dedup import CUSTOMER_MATCH
from crmkit.testing import open_test_crm
from crmkit.workflows.imports import BATCH, Outcome

SHEET = (
    "公司名称,手机号码,地区,负责人,联系人,联系人手机,备注\r\n"
    "青岛金智电子科技有限公司,138 0013 8000,山东省/青岛市/市南区,zhangsan,"
    "李四,13900001234,老客户\r\n"
    ",12345,,zhangsan,,,缺名称\r\n"
    "金智电子科技(青岛)有限公司,+86 138-0013-8000,,zhangsan,,,同手机\r\n"
    "\r\n"
    "上海华东建材有限公司,13700001111,上海市/浦东新区,lixm,王五,bad-mobile,\r\n"
    "北京华夏建材有限公司,13600002222,北京市/朝阳区,nobody,,,\r\n"
    "广州天河贸易有限公司,13500003333,广东省/广州市/天河区,李小明,,,\r\n"
)


def _file(text: str = SHEET, encoding: str = "utf-8") -> io.BytesIO:
    return io.BytesIO(text.encode(encoding))


def test_each_row_ends_in_one_outcome_that_names_the_column(crm, team):
    with crm.session(actor=team["admin"]) as s:
        report = s.imports.run(_file(encoding="gbk"))
    outcomes = [(r.row, r.outcome) for r in report.results]
    assert outcomes == [
        (2, Outcome.CREATED),
        (3, Outcome.FAILED),
        (4, Outcome.DUPLICATE),
        (5, Outcome.FAILED),
        (6, Outcome.FAILED),
        (7, Outcome.FAILED),
        (8, Outcome.CREATED),
    ]
    assert sum(report.counts.values()) == report.rows_read == 7
    by_row = {r.row: r for r in report.results}
    missing_name = {(p.column, p.code) for p in by_row[3].problems}
    assert missing_name == {("公司名称", "required"), ("手机号码", "phone.invalid")}
    assert by_row[4].duplicate_of == "row 2"
    assert [p.code for p in by_row[5].problems] == ["row.empty"]
    assert [(p.column, p.code) for p in by_row[6].problems] == [("联系人手机", "phone.invalid")]
    assert [(p.column, p.code) for p in by_row[7].problems] == [("负责人", "not_found_ref")]
    assert by_row[3].problems[0].message_zh and by_row[3].problems[0].message_en
    with crm.session(actor=team["zhang"]) as s:  # owners come from the 负责人 column
        mine = s.customers.list()
        assert [c.name for c in mine] == ["青岛金智电子科技有限公司"]
        contacts = s.contacts.list(customer_id=mine.items[0].id)
        assert [c.name for c in contacts] == ["李四"]
    with crm.session(actor=team["li"]) as s:
        assert [c.name for c in s.customers.list()] == ["广州天河贸易有限公司"]


def test_a_row_can_duplicate_an_earlier_duplicate_row(crm, team):
    # Row 4 has a typo in the trade name (金知) and row 3's e-mail: it is row 3's company,
    # though it shares nothing but a similar name with row 2, which row 3 duplicates.
    sheet = (
        "公司名称,手机号码,邮箱\r\n"
        "青岛金智电子科技有限公司,13800138000,\r\n"
        "金智电子科技（青岛）有限公司,,sales@jinzhi.cn\r\n"
        "青岛金知电子科技有限公司,,SALES@JINZHI.CN\r\n"
    )
    with crm.session(actor=team["admin"]) as s:
        report = s.imports.run(_file(sheet))
    assert [(r.row, r.outcome, r.duplicate_of) for r in report.results] == [
        (2, Outcome.CREATED, None),
        (3, Outcome.DUPLICATE, "row 2"),
        (4, Outcome.DUPLICATE, "row 3"),
    ]


def test_reimporting_the_same_file_creates_nothing_new(crm, team):
    with crm.session(actor=team["admin"]) as s:
        first = s.imports.run(_file())
    with crm.session(actor=team["admin"]) as s:
        again = s.imports.run(_file())
        total = s.customers.count()
    assert first.count(Outcome.CREATED) == 2
    assert again.count(Outcome.CREATED) == 0
    assert again.count(Outcome.DUPLICATE) == 3  # two in the store, one inside the file
    assert total == 2


def test_reimporting_a_file_whose_rows_updated_one_customer_creates_nothing(crm, team):
    # Both rows update the stored customer; the second moves it to 上海, so the first row
    # (青岛) no longer matches it. Importing the file again must still create nothing.
    sheet = (
        "公司名称,地区\r\n"
        "金智电子科技有限公司,山东省/青岛市/市南区\r\n"
        "金智电子科技有限公司,上海市/浦东新区\r\n"
    )
    with crm.session(actor=team["admin"]) as s:
        stored = s.customers.create(name="金智电子科技有限公司")
        first = s.imports.run(_file(sheet), on_duplicate="update")
    assert [(r.outcome, r.customer_id) for r in first.results] == [
        (Outcome.UPDATED, stored.id),
        (Outcome.UPDATED, stored.id),
    ]
    with crm.session(actor=team["admin"]) as s:
        again = s.imports.run(_file(sheet), on_duplicate="update")
        assert s.customers.count() == 1
    assert [(r.outcome, r.duplicate_of) for r in again.results] == [
        (Outcome.DUPLICATE, stored.id),
        (Outcome.DUPLICATE, stored.id),
    ]


def test_a_dry_run_reports_the_same_outcomes_and_writes_nothing(crm, team):
    with crm.session(actor=team["admin"]) as s:
        preview = s.imports.preview(_file())
        assert s.customers.count() == 0
        assert s.audit.list(entity_type="customer").items == ()
        real = s.imports.run(_file())
    assert [r.outcome for r in preview.results] == [r.outcome for r in real.results]


def test_a_dry_run_agrees_with_the_run_when_blocks_outgrow_their_cap(backend_url, clock):
    # With blocks capped at two records, rows 2 and 3 (a duplicate) fill the file's slots
    # for the key t:金智, so row 4 is not filed under it; the store holds rows 2 and 4
    # under it. Row 5, a batch later, shares only that key with row 4 (a typo in the
    # industry word, the same contact person). The dry run, which has only the file's
    # index, creates it; so must the run, though the store could now show it row 4.
    capped = DedupConfig(customer_match=attrs.evolve(CUSTOMER_MATCH, max_block_size=2))
    crm = open_test_crm(backend_url, clock=clock, dedup=capped)
    filler = "".join(
        f"{a}{b}商贸有限公司,,\r\n"
        for a, b in itertools.islice(
            itertools.permutations("甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥春夏秋冬", 2), BATCH
        )
    )
    sheet = (
        "公司名称,手机号码,联系人\r\n"
        "金智贸易有限公司,13800138001,\r\n"
        "金智贸易有限公司,13800138001,\r\n"
        "金智电子科技有限公司,13800138002,李四\r\n"
        f"{filler}"
        "金智电子科枝有限公司,13800138003,李四\r\n"
    )
    try:
        admin = crm.bootstrap_admin(name="管理员", password="admin-pass-1")
        with crm.session(actor=admin) as s:
            preview = s.imports.preview(_file(sheet))
            real = s.imports.run(_file(sheet))
    finally:
        crm.close()
    assert [(r.outcome, r.duplicate_of) for r in preview.results[:3]] == [
        (Outcome.CREATED, None),
        (Outcome.DUPLICATE, "row 2"),
        (Outcome.CREATED, None),
    ]
    assert [r.outcome for r in real.results] == [r.outcome for r in preview.results]
    assert real.results[-1].outcome is Outcome.CREATED


def test_a_contact_mobile_without_a_contact_name_is_kept_on_the_customer_or_reported(crm, team):
    sheet = (
        "公司名称,手机,电话,联系人,联系人手机,职务\r\n"
        "青岛金智电子科技有限公司,,,,13900001234,\r\n"  # becomes the customer's mobile
        "上海华东建材有限公司,13700001111,,,13900005678,\r\n"  # its phone
        "北京华夏建材有限公司,13600002222,0532-88886666,,13900009999,\r\n"  # no room
        "广州天河贸易有限公司,,,,12345,\r\n"  # not a mobile
        "深圳南山科技有限公司,,,,,经理\r\n"  # a title of nobody
        "杭州西湖茶叶有限公司,,,王五,13900001111,经理\r\n"  # a contact
        "南京秦淮商贸有限公司,13700002222,0532-88887777,,137 0000 2222,\r\n"  # its own number
    )
    with crm.session(actor=team["admin"]) as s:
        report = s.imports.run(_file(sheet))
        by_row = {r.row: r for r in report.results}
        first = s.customers.get(by_row[2].customer_id)
        second = s.customers.get(by_row[3].customer_id)
        assert s.contacts.list(customer_id=first.id).items == ()
        (wang,) = s.contacts.list(customer_id=by_row[7].customer_id).items
        own = s.customers.get(by_row[8].customer_id)
    assert [r.outcome for r in report.results] == [Outcome.CREATED] * 2 + [Outcome.FAILED] * 3 + [
        Outcome.CREATED
    ] * 2
    assert first.mobile.e164 == "+8613900001234"
    assert (second.mobile.e164, second.phone.e164) == ("+8613700001111", "+8613900005678")
    assert (wang.name, wang.mobile.e164, wang.title) == ("王五", "+8613900001111", "经理")
    assert (own.mobile.e164, own.phone.e164) == ("+8613700002222", "+8653288887777")
    problems = {n: [(p.column, p.code) for p in by_row[n].problems] for n in (4, 5, 6)}
    assert problems == {
        4: [("联系人", "required_with")],
        5: [("联系人手机", "phone.invalid"), ("联系人", "required_with")],
        6: [("联系人", "required_with")],
    }
    assert "联系人手机" in by_row[4].problems[0].message_zh
    assert "职务" in by_row[6].problems[0].message_en


def test_a_switchboard_extension_is_kept_through_import_export_and_edits(crm, team):
    # Chinese lists write 转 or 分机 after a switchboard number: such a row used to fail.
    sheet = (
        "公司名称,电话\r\n"
        "青岛金智电子科技有限公司,0532-88886666转8001\r\n"
        "金智电子,0532-88886666\r\n"  # the same switchboard: the same company
    )
    with crm.session(actor=team["admin"]) as s:
        report = s.imports.run(_file(sheet))
        assert [r.outcome for r in report.results] == [Outcome.CREATED, Outcome.DUPLICATE]
        jinzhi = s.customers.get(report.results[0].customer_id)
        assert (jinzhi.phone.e164, jinzhi.phone.extension) == ("+8653288886666", "8001")
        edited = s.customers.update(jinzhi.id, phone="0532-88886666 分机 8002")
        assert edited.phone.extension == "8002"
        before = s.audit.history(jinzhi.id)[-1].changes["phone"]
        buffer = io.BytesIO()
        s.customers.export(buffer, format="csv")
    assert before == ("+8653288886666;ext=8001", "+8653288886666;ext=8002")
    assert "0532 8888 6666 ext. 8002" in buffer.getvalue().decode("utf-8-sig")


def test_update_policy_fills_the_matching_customer(crm, team):
    with crm.session(actor=team["admin"]) as s:
        s.imports.run(_file())
        sheet = "公司名称,行业,来源\r\n青岛金智电子科技有限公司,制造业,展会\r\n"
        report = s.imports.run(_file(sheet), on_duplicate="update")
        (updated,) = report.results
        assert updated.outcome is Outcome.UPDATED
        customer = s.customers.get(updated.customer_id)
    assert (customer.industry, customer.source) == ("制造业", "展会")


def test_a_salesperson_cannot_import_customers_for_someone_else(crm, team):
    with crm.session(actor=team["zhang"]) as s:
        report = s.imports.run(_file("公司名称,负责人\r\n青岛某某贸易有限公司,lixm\r\n"))
    (row,) = report.results
    assert row.outcome is Outcome.FAILED
    assert row.problems[0].column == "负责人"


CELLS = st.sampled_from(
    [
        "",
        "青岛金智电子科技有限公司",
        "上海华东建材有限公司",
        "!!!",
        "13800138000",
        "12345",
        "Acme Co., Ltd.",
        "=1+1",
        "金" * 120,
        "北京市/朝阳区",
        "火星",
        "zhangsan",
        "nobody",
    ]
)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(CELLS, min_size=0, max_size=5), min_size=1, max_size=25))
def test_the_counts_always_add_up_to_the_rows_read(rows: list[list[str]]):
    crm = open_test_crm()
    admin = crm.bootstrap_admin(name="管理员", password="admin-secret")
    with crm.session(actor=admin) as s:
        s.users.create(name="张三", role="sales", password="sales-secret")
    header = "公司名称,手机,地区,负责人,备注"
    body = "".join(",".join(f'"{c}"' for c in r) + "\r\n" for r in rows)
    with crm.session(actor=admin) as s:
        report = s.imports.run(io.BytesIO((header + "\r\n" + body).encode()))
        stored = s.customers.count()
    assert report.rows_read == len(rows)
    assert sum(report.counts.values()) == len(rows)
    assert report.count(Outcome.CREATED) == stored
    assert len({r.row for r in report.results}) == len(rows)
    crm.close()


def test_a_customer_someone_else_works_is_reported_by_name_and_owner_only(crm, team):
    with crm.session(actor=team["li"]) as s:
        theirs = s.customers.create(name="青岛金智电子科技有限公司", mobile="13800138000")
    sheet = "公司名称,手机\r\n金智电子科技（青岛）有限公司,13800138000\r\n"
    for policy in ("skip", "update", "create"):
        with crm.session(actor=team["zhang"]) as s:
            (row,) = s.imports.run(_file(sheet), on_duplicate=policy).results
            assert s.customers.count() == 0
        assert row.outcome is Outcome.DUPLICATE
        assert row.customer_id is None
        assert row.duplicate_of == "青岛金智电子科技有限公司 (李小明)"
        assert theirs.id not in (row.duplicate_of or "")


def test_an_update_the_lifecycle_forbids_fails_its_row_with_the_reason(crm, team):
    with crm.session(actor=team["admin"]) as s:
        s.customers.create(name="青岛金智电子科技有限公司")
        sheet = "公司名称,客户类别\r\n青岛金智电子科技有限公司,签约\r\n"
        (row,) = s.imports.run(_file(sheet), on_duplicate="update").results
    assert row.outcome is Outcome.FAILED
    assert row.problems[0].code == "WorkflowError"
    assert "潜在客户" in row.problems[0].message_zh


def test_inspect_shows_the_headers_and_the_proposed_mapping_without_reading_rows(crm, team):
    with crm.session(actor=team["admin"]) as s:
        headers, mapping = s.imports.inspect(_file(), mapping={"备注": ""})
        assert "name" in s.imports.fields() and "contact_mobile" in s.imports.fields()
        assert s.customers.count() == 0
    assert headers[0] == "公司名称"
    assert mapping.columns[0] == "name" and mapping.columns[5] == "contact_mobile"
    assert 6 not in mapping.columns  # 备注 ignored on request
