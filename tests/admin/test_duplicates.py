"""Duplicate review through the Flask test client: clusters, compare, merge, unmerge."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import crmkit
from crmkit.domain.dedup.codec import RECORD_FORMAT
from crmkit.testing import ManualClock, open_test_crm, store_of
from tests.admin.conftest import PASSWORDS, Browser, admin_app, make_customer

HOSTILE = "<script>alert(1)</script>"
TWIN = "金智电子科技(青岛)有限公司"


@pytest.fixture
def as_boss(browser: Browser, users: dict[str, crmkit.User]) -> Browser:
    assert browser.login(users["boss"].login, PASSWORDS["boss"]).status_code == 302
    return browser


@pytest.fixture
def pair(crm: crmkit.CRM, users: dict[str, crmkit.User]) -> tuple[crmkit.Customer, ...]:
    """The same company entered twice by its salesperson, the second with an e-mail."""
    first = make_customer(
        crm, users["zhang"], mobile="13800138000", region="山东省/青岛市/市南区", source="展会"
    )
    second = make_customer(
        crm,
        users["zhang"],
        name=TWIN,
        mobile="13800138000",
        email="sales@jinzhi.cn",
        region="山东省/青岛市/市南区",
        source="官网",
    )
    return first, second


def merge_form(
    kind: str, winner: str, loser: str, action: str = "merge", **choices: str
) -> dict[str, Any]:
    form: dict[str, Any] = {
        "kind": kind,
        "members": [winner, loser],
        "ids": [winner, loser],
        "winner": winner,
        "action": action,
    }
    form.update({f"choice-{field}": source for field, source in choices.items()})
    return form


def customer(crm: crmkit.CRM, id: str) -> crmkit.Customer:
    with crm.session(actor=crmkit.SYSTEM) as s:
        found: crmkit.Customer = s.customers.get(id, include_deleted=True)
    return found


def clusters(crm: crmkit.CRM, actor: crmkit.User, kind: str = "customers") -> list[set[str]]:
    with crm.session(actor=actor) as s:
        return [set(c.ids) for c in s.dedup.scan(kind)]


def test_the_cluster_list_shows_a_duplicate_pair_with_its_reasons(
    as_boss: Browser, pair: tuple[crmkit.Customer, ...]
) -> None:
    page = as_boss.text("/duplicates/")
    assert "查重合并" in page  # the menu and the title
    assert "青岛金智电子科技有限公司" in page and "金智电子科技（青岛）有限公司" in page
    assert "名称相同" in page and "电话相同" in page  # the pair's reasons, in words
    assert "phone=<" not in page and "name=<" not in page  # no raw reason codes
    assert "sales@jinzhi.cn" in page and "张三" in page  # key fields and owner
    # Why each member is there: its link, in words, and the linkage rule.
    assert "归入本组的依据" in page and "↔ 青岛金智电子科技有限公司" in page
    assert "本组任意两条记录之间的相似度都不低于 10%" in page
    compare = re.search(r'href="(/duplicates/compare/[^"]+)"', page)
    assert compare is not None
    assert pair[0].id in compare.group(1) and pair[1].id in compare.group(1)


def test_the_compare_page_puts_the_records_side_by_side_and_marks_differences(
    as_boss: Browser, pair: tuple[crmkit.Customer, ...]
) -> None:
    first, second = pair
    page = as_boss.text(f"/duplicates/compare/?kind=customers&ids={first.id}&ids={second.id}")
    rows = dict(re.findall(r'<tr data-field="([\w.]+)" class="([^"]*)"', page))
    assert "differs" in rows["email"] and "differs" in rows["source"]
    assert "differs" not in rows["mobile"] and "differs" not in rows["region"]
    assert f'name="choice-email" value="{second.id}"' in page
    assert 'name="choice-mobile"' not in page  # nothing to choose where they agree
    assert f'name="winner" value="{first.id}" checked' in page


def test_merging_keeps_the_chosen_values_and_sends_the_other_to_the_recycle_bin(
    as_boss: Browser, crm: crmkit.CRM, pair: tuple[crmkit.Customer, ...]
) -> None:
    first, second = pair
    preview = as_boss.post(
        "/duplicates/merge/",
        merge_form("customers", first.id, second.id, "preview", source=second.id),
    ).get_data(as_text=True)
    assert 'id="merge-preview"' in preview and "官网" in preview
    assert customer(crm, second.id).deleted_at is None  # a preview writes nothing

    done = as_boss.post(
        "/duplicates/merge/",
        merge_form("customers", first.id, second.id, source=second.id, name=second.id),
    )
    assert done.status_code == 302 and done.location.endswith("/duplicates/history/")
    winner, loser = customer(crm, first.id), customer(crm, second.id)
    assert winner.source == "官网" and winner.name == second.name  # the choices
    assert winner.email is not None and winner.email.value == "sales@jinzhi.cn"  # filled in
    assert loser.deleted_at is not None and loser.merged_into == first.id
    history = as_boss.text("/duplicates/history/")
    assert "合并到" in history and second.name in history and "撤销合并" in history


def test_not_a_duplicate_keeps_the_pair_out_of_the_next_scan(
    as_boss: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User], pair: Any
) -> None:
    first, second = pair
    assert {first.id, second.id} in clusters(crm, users["boss"])
    response = as_boss.post(
        "/duplicates/distinct/", {"kind": "customers", "left": first.id, "right": second.id}
    )
    assert response.status_code == 302
    assert clusters(crm, users["boss"]) == []
    assert "不会再提示" in as_boss.text("/duplicates/")
    assert "青岛金智电子科技有限公司" not in as_boss.text("/duplicates/")


def test_unmerge_brings_the_merged_record_back(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User], pair: Any
) -> None:
    first, second = pair
    as_admin.post("/duplicates/merge/", merge_form("customers", first.id, second.id))
    history = as_admin.text("/duplicates/history/")
    merge_id = re.search(r'name="merge_id" value="([^"]+)"', history)
    assert merge_id is not None
    response = as_admin.post(
        "/duplicates/unmerge/", {"kind": "customers", "merge_id": merge_id.group(1)}
    )
    assert response.status_code == 302
    assert customer(crm, second.id).deleted_at is None
    assert customer(crm, first.id).email is None  # the merged-in value left again
    page = as_admin.text("/duplicates/history/")
    assert "已撤销" in page and 'name="merge_id"' not in page
    # undoing twice is refused with crmkit's message
    again = as_admin.post(
        "/duplicates/unmerge/", {"kind": "customers", "merge_id": merge_id.group(1)}
    )
    assert again.status_code == 302
    assert "alert-danger" in as_admin.text("/duplicates/history/")


def test_contact_duplicates_are_reviewed_and_merged_too(
    as_boss: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    company = make_customer(crm, users["zhang"])
    with crm.session(actor=users["zhang"]) as s:
        one = s.contacts.create(customer_id=company.id, name="王伟", mobile="13911112222")
        two = s.contacts.create(
            customer_id=company.id, name="王伟", mobile="13911112222", title="经理"
        )
    page = as_boss.text("/duplicates/?kind=contacts")
    assert "王伟" in page and "青岛金智电子科技有限公司" in page
    as_boss.post("/duplicates/merge/", merge_form("contacts", one.id, two.id, title=two.id))
    with crm.session(actor=users["boss"]) as s:
        assert s.contacts.get(one.id).title == "经理"
        assert s.contacts.get(two.id, include_deleted=True).deleted_at is not None


def test_a_merge_crmkit_refuses_shows_why_and_changes_nothing(
    as_boss: Browser, crm: crmkit.CRM, pair: tuple[crmkit.Customer, ...]
) -> None:
    first, second = pair
    page = as_boss.post(
        "/duplicates/merge/", merge_form("customers", first.id, second.id, bogus=second.id)
    ).get_data(as_text=True)
    assert "alert-danger" in page and 'id="compare"' in page  # back on the compare page
    assert customer(crm, second.id).deleted_at is None


def test_posts_without_the_csrf_token_are_refused_and_change_nothing(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User], pair: Any
) -> None:
    first, second = pair
    forms = {
        "/duplicates/merge/": merge_form("customers", first.id, second.id),
        "/duplicates/distinct/": {"kind": "customers", "left": first.id, "right": second.id},
        "/duplicates/unmerge/": {"kind": "customers", "merge_id": "x"},
    }
    for path, form in forms.items():
        assert as_admin.open(path, method="POST", data=form).status_code == 400, path
    assert customer(crm, second.id).deleted_at is None
    assert {first.id, second.id} in clusters(crm, users["admin"])


def test_salespeople_neither_see_nor_open_duplicate_review(
    as_zhang: Browser, pair: tuple[crmkit.Customer, ...]
) -> None:
    first, second = pair
    assert "查重合并" not in as_zhang.text("/")
    for path in (
        "/duplicates/",
        "/duplicates/history/",
        f"/duplicates/compare/?kind=customers&ids={first.id}&ids={second.id}",
    ):
        assert as_zhang.get(path).status_code == 403, path
    refused = as_zhang.post("/duplicates/merge/", merge_form("customers", first.id, second.id))
    assert refused.status_code == 403


def test_html_in_records_is_escaped_on_every_duplicate_page(
    as_admin: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User]
) -> None:
    # crmkit refuses markup in names ("&" is the one HTML character they may hold); the
    # free-text fields take anything
    hostile = {"source": HOSTILE, "remarks": HOSTILE, "address": HOSTILE}
    first = make_customer(
        crm, users["zhang"], name="Smith & Sons Trading Co., Ltd.", mobile="13700137000"
    )
    second = make_customer(
        crm, users["zhang"], name="Smith & Sons Trading Co. Ltd", mobile="13700137000", **hostile
    )
    compare = f"/duplicates/compare/?kind=customers&ids={first.id}&ids={second.id}"
    preview = as_admin.post(
        "/duplicates/merge/", merge_form("customers", first.id, second.id, "preview")
    ).get_data(as_text=True)
    as_admin.post("/duplicates/merge/", merge_form("customers", first.id, second.id))
    history = as_admin.text("/duplicates/history/")  # with the flashed message
    as_admin.open("/duplicates/")  # the list after the merge: the pair is gone
    for page in (preview, history):
        assert HOSTILE not in page
        assert "Smith &amp; Sons Trading" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in preview
    unmerge = re.search(r'name="merge_id" value="([^"]+)"', history)
    assert unmerge is not None
    as_admin.post("/duplicates/unmerge/", {"kind": "customers", "merge_id": unmerge.group(1)})
    for path in ("/duplicates/", compare):
        page = as_admin.text(path)
        assert HOSTILE not in page, path
        assert "Smith &amp; Sons Trading" in page, path
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in as_admin.text(compare)


def test_an_unknown_kind_is_not_found(as_admin: Browser) -> None:
    assert as_admin.get("/duplicates/?kind=users").status_code == 404


def test_a_manager_sees_only_merges_of_their_teams_records(
    as_boss: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User], pair: Any
) -> None:
    mine = make_customer(crm, users["admin"], name="上海华东建材有限公司", mobile="13600136000")
    twin = make_customer(crm, users["admin"], name="华东建材(上海)有限公司", mobile="13600136000")
    with crm.session(actor=users["admin"]) as s:
        s.customers.merge(mine.id, [twin.id])
        s.customers.merge(pair[0].id, [pair[1].id])
        assert len(s.dedup.merges().items) == 2
    with crm.session(actor=users["boss"]) as s:
        (seen,) = s.dedup.merges().items
    assert seen.changes["winner"][1]["id"] == pair[0].id
    page = as_boss.text("/duplicates/history/")
    assert "青岛金智电子科技有限公司" in page and "华东建材" not in page


def test_an_index_built_by_an_earlier_crmkit_is_rebuilt_from_the_screen(
    tmp_path: Path, clock: ManualClock
) -> None:
    # A store as the previous crmkit left it: two twins indexed, in an older format.
    url = f"sqlite:///{tmp_path / 'old.db'}"
    crm = open_test_crm(url, clock=clock)
    admin = crm.bootstrap_admin(name="管理员", password=PASSWORDS["admin"], login="admin")
    with crm.session(actor=admin) as s:
        boss = s.users.create(name="王经理", role="manager", password=PASSWORDS["boss"])
        twins = {
            s.customers.create(name=name, mobile="13800138000", owner_id=boss.id).id
            for name in ("青岛金智电子科技有限公司", TWIN)
        }
    with store_of(crm).unit_of_work() as uow:
        uow.dedup.set_record_format("customer", RECORD_FORMAT - 1)
        uow.commit()
    crm.close()
    with admin_app(tmp_path, clock, CRMKIT_URL=url) as app:
        page = Browser.signed_in(app, boss, PASSWORDS["boss"]).text("/duplicates/")
        assert 'id="index-stale"' in page and "查重索引由旧版 crmkit 建立" in page
        assert "请联系管理员重建" in page and 'id="rebuild-index"' not in page  # managers ask
        assert 'duplicate-cluster"' not in page and 'id="no-duplicates"' not in page
        as_admin = Browser.signed_in(app, admin, PASSWORDS["admin"])
        assert 'id="rebuild-index"' in as_admin.text("/duplicates/")
        assert as_admin.post("/duplicates/rebuild/", {"kind": "customers"}).status_code == 302
        page = as_admin.text("/duplicates/")
        assert "已为查重重建 2 条记录的索引" in page
        assert 'id="index-stale"' not in page and 'duplicate-cluster"' in page
        assert clusters(app.extensions["crmkit_admin"].crm, admin) == [twins]
