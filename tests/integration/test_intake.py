"""Intake on every backend: similar customers, anti-collision, co-ownership, merge, scan."""

from __future__ import annotations

import io
import threading

import pytest

import crmkit
from crmkit import DuplicateError, NotFound, PermissionDenied, WorkflowError
from crmkit.domain.audit import AuditAction
from crmkit.domain.events import RecordsMerged

COMPANY = "青岛金智电子科技有限公司"
VARIANT = "金智电子科技（青岛）有限公司"


def _create(crm, actor, **fields):
    with crm.session(actor=actor) as s:
        return s.customers.create(**fields)


def test_find_similar_ranks_a_bracketed_city_variant_first_with_its_owner(crm, team):
    zhang = team["zhang"]
    mine = _create(crm, zhang, name=COMPANY, mobile="13800138000")
    _create(crm, zhang, name="青岛华美服装有限公司")
    with crm.session(actor=zhang) as s:
        found = s.customers.find_similar(name=VARIANT, limit=5)
    assert [m.id for m in found][:1] == [mine.id]
    best = found[0]
    assert best.owner_name == "张三" and best.owner_id == zhang.id
    assert best.score >= 0.5 and any(r.startswith("name") for r in best.reasons)
    assert best.visible and best.record == mine


def test_find_similar_tells_another_salesperson_only_the_name_owner_and_score(crm, team):
    mine = _create(crm, team["zhang"], name=COMPANY)
    with crm.session(actor=team["other"]) as s:
        (match,) = s.customers.find_similar(name=VARIANT)
        with pytest.raises(NotFound):
            s.customers.get(mine.id)
    assert match.name == COMPANY and match.owner_name == "张三"
    assert match.visible is False and match.record is None


def test_a_phone_of_a_contact_makes_its_customer_findable(crm, team):
    zhang = team["zhang"]
    c = _create(crm, zhang, name=COMPANY)
    with crm.session(actor=zhang) as s:
        s.contacts.create(customer_id=c.id, name="李四", mobile="139 0000 1234")
    with crm.session(actor=zhang) as s:
        found = s.customers.find_similar(name="金智电子", mobile="+86 139-0000-1234")
    assert found and found[0].id == c.id and "phone=" in found[0].reasons


def test_anti_collision_blocks_a_second_salesperson_and_names_the_owner(crm, team):
    _create(crm, team["zhang"], name=COMPANY, mobile="13800138000")
    with crm.session(actor=team["other"]) as s:
        with pytest.raises(DuplicateError) as caught:
            s.customers.create(name=VARIANT)
    err = caught.value
    assert err.entity == "customer"
    assert err.owners == ("张三",)
    assert err.matches[0].rule == "anti_collision" and not err.matches[0].visible
    with crmkit.language("zh"):
        assert "张三" in str(err)
    with crm.session(actor=team["admin"]) as s:
        assert s.customers.count() == 1


def test_a_similar_customer_of_ones_own_is_a_warning_and_the_create_goes_ahead(crm, team):
    zhang = team["zhang"]
    first = _create(crm, zhang, name=COMPANY)
    with crm.session(actor=zhang) as s:
        second = s.customers.create(name=VARIANT)
        (warning,) = s.warnings
    assert warning.entity_id == second.id
    assert [m.id for m in warning.matches] == [first.id]
    assert warning.matches[0].rule == "possible_duplicate"


def test_the_same_brand_in_another_city_is_not_a_duplicate(crm, team):
    _create(crm, team["zhang"], name=COMPANY, mobile="13800138000")
    other = _create(crm, team["other"], name="北京金智电子科技有限公司", mobile="13900139000")
    assert other.name.startswith("北京")


def test_bulk_lookups_leave_out_unread_what_the_place_veto_rules_out(crm, team):
    # 金智商贸 shares only the trade-name key with the 青岛 row, from another city: never
    # its duplicate, so not even read. The one in 北京 sharing the row's phone stays a
    # candidate (a shared phone lifts the place veto), and so does the one with no place.
    with crm.session(actor=team["admin"]) as s:
        far = s.customers.create(name="北京金智商贸有限公司")
        shared_phone = s.customers.create(name="北京华东建材有限公司", mobile="13800138000")
        nowhere = s.customers.create(name="金智商贸有限公司")
        index = s.dedup_index
        row = index.record_from_fields(
            "customer", {"name": "青岛金智电子科技有限公司", "mobile": "13800138000"}
        )
        keys = [index.keys("customer", row)]
        plain = {r.id for r in index.batch_candidates("customer", keys)[0]}
        placed = {r.id for r in index.batch_candidates("customer", keys, records=[row])[0]}
    assert plain == {far.id, shared_phone.id, nowhere.id}
    assert placed == {shared_phone.id, nowhere.id}


def test_an_admin_creating_for_one_salesperson_a_customer_another_works_is_blocked(crm, team):
    _create(crm, team["zhang"], name=COMPANY)
    with crm.session(actor=team["admin"]) as s, pytest.raises(DuplicateError):
        s.customers.create(name=VARIANT, owner_id=team["other"].id)


def test_renaming_onto_a_customer_someone_else_works_is_blocked(crm, team):
    _create(crm, team["zhang"], name=COMPANY)
    theirs = _create(crm, team["other"], name="上海远景贸易有限公司")
    with crm.session(actor=team["other"]) as s:
        with pytest.raises(DuplicateError):
            s.customers.update(theirs.id, name=VARIANT)
    with crm.session(actor=team["other"]) as s:
        assert s.customers.get(theirs.id).name == "上海远景贸易有限公司"


def test_check_reports_what_a_create_would_do_without_writing(crm, team):
    _create(crm, team["zhang"], name=COMPANY)
    with crm.session(actor=team["zhang"]) as s:
        assert [m.name for m in s.customers.check(name=VARIANT)] == [COMPANY]
    with crm.session(actor=team["other"]) as s, pytest.raises(DuplicateError):
        s.customers.check(name=VARIANT)
    with crm.session(actor=team["admin"]) as s:
        assert s.customers.count() == 1


# -- co-ownership ------------------------------------------------------------------------------
def test_a_blocked_salesperson_asks_to_co_own_and_the_owners_manager_grants_it(crm, team):
    zhang, li, boss = team["zhang"], team["li"], team["boss"]
    c = _create(crm, zhang, name=COMPANY)
    with crm.session(actor=li) as s:
        with pytest.raises(DuplicateError) as caught:
            s.customers.create(name=VARIANT)
        # li's manager is boss too, but li sees only her own customers
        req = s.customers.request_co_ownership(caught.value.matches[0].id, note="我在跟进")
        assert s.customers.request_co_ownership(c.id).id == req.id  # asked already
        with pytest.raises(PermissionDenied):
            s.customers.grant_co_ownership(req.id)
    with crm.session(actor=boss) as s:
        (pending,) = s.customers.co_ownership_requests(status="pending").items
        assert pending.id == req.id and pending.requester_id == li.id
        granted = s.customers.grant_co_ownership(req.id, note="同意")
    assert granted.status.value == "granted" and granted.decided_by == boss.id
    with crm.session(actor=li) as s:
        assert li.id in s.customers.get(c.id).co_owner_ids
        history = s.audit.history(c.id)
        with pytest.raises(WorkflowError):
            s.customers.withdraw_co_ownership(req.id)
    assert history[-1].changes["co_owner_ids"] == ([], [li.id])


def test_a_refused_request_shares_nothing_and_cannot_be_decided_twice(crm, team):
    c = _create(crm, team["zhang"], name=COMPANY)
    with crm.session(actor=team["other"]) as s:
        req = s.customers.request_co_ownership(c.id)
    with crm.session(actor=team["other"]) as s, pytest.raises(PermissionDenied):
        s.customers.refuse_co_ownership(req.id)
    with crm.session(actor=team["admin"]) as s:
        s.customers.refuse_co_ownership(req.id, note="已有负责人")
        with pytest.raises(WorkflowError):
            s.customers.grant_co_ownership(req.id)
    with crm.session(actor=team["other"]) as s:
        with pytest.raises(NotFound):
            s.customers.get(c.id)
        (mine,) = s.customers.co_ownership_requests(mine=True).items
    assert mine.status.value == "refused" and mine.decision_note == "已有负责人"


def test_the_owner_cannot_grant_and_a_manager_of_another_team_sees_no_request(crm, team):
    c = _create(crm, team["junior"], name=COMPANY)
    with crm.session(actor=team["other"]) as s:
        req = s.customers.request_co_ownership(c.id)
    with crm.session(actor=team["junior"]) as s, pytest.raises(PermissionDenied):
        s.customers.grant_co_ownership(req.id)
    with crm.session(actor=team["lead"]) as s:  # junior's manager
        assert [r.id for r in s.customers.co_ownership_requests().items] == [req.id]
    with crm.session(actor=team["boss"]) as s:  # junior's manager's manager
        s.customers.grant_co_ownership(req.id)


def test_asking_for_ones_own_customer_is_refused(crm, team):
    c = _create(crm, team["zhang"], name=COMPANY)
    with crm.session(actor=team["zhang"]) as s, pytest.raises(WorkflowError):
        s.customers.request_co_ownership(c.id)


# -- merge ---------------------------------------------------------------------------------------
def _duplicates(crm, admin, zhang):
    with crm.session(actor=admin) as s:
        winner = s.customers.create(name=COMPANY, owner_id=zhang.id, tags=["重点"])
        loser = s.customers.create(
            name=VARIANT,
            owner_id=zhang.id,
            mobile="13800138000",
            email="info@jinzhi.cn",
            tags=["华东"],
        )
        contact = s.contacts.create(customer_id=loser.id, name="李四", mobile="13900001234")
        child = s.customers.create(name="金智青岛销售部", owner_id=zhang.id, parent_id=loser.id)
    return winner, loser, contact, child


def test_a_merge_fills_the_winners_gaps_moves_references_and_bins_the_loser(crm, team):
    admin, zhang = team["admin"], team["zhang"]
    winner, loser, contact, child = _duplicates(crm, admin, zhang)
    seen: list[RecordsMerged] = []
    crm.subscribe(RecordsMerged, seen.append)
    with crm.session(actor=admin) as s:
        result = s.customers.merge(winner.id, [loser.id])
    merged = result.winner
    assert merged.mobile is not None and merged.mobile.e164 == "+8613800138000"
    assert merged.email is not None and merged.email.value == "info@jinzhi.cn"
    assert merged.tags == ("重点", "华东") and merged.name == COMPANY
    assert {m.handler for m in result.moved} == {"customer.contacts", "customer.links"}
    with crm.session(actor=admin) as s:
        assert s.contacts.get(contact.id).customer_id == winner.id
        assert s.customers.get(child.id).parent_id == winner.id
        gone = s.customers.get(loser.id, include_deleted=True)
        assert gone.is_deleted and gone.merged_into == winner.id
        entry = s.audit.history(result.merge_id)[0]
        assert entry.action is AuditAction.MERGE and entry.entity_type == "merge"
        assert s.audit.history(winner.id)[-1].action is AuditAction.MERGE
        assert s.dedup.scan() == []
    assert [e.entity_id for e in seen] == [result.merge_id]


def test_choices_pick_a_field_from_a_loser_and_a_dry_run_writes_nothing(crm, team):
    admin, zhang = team["admin"], team["zhang"]
    winner, loser, _, _ = _duplicates(crm, admin, zhang)
    with crm.session(actor=admin) as s:
        plan = s.customers.merge(winner.id, [loser.id], choices={"name": loser.id}, dry_run=True)
        assert plan.dry_run and plan.merge_id is None and plan.winner.name == VARIANT
        assert plan.changes["name"] == (COMPANY, VARIANT)
    with crm.session(actor=admin) as s:
        assert s.customers.get(winner.id).name == COMPANY
        assert not s.customers.get(loser.id).is_deleted
        with pytest.raises(crmkit.ValidationError) as caught:
            s.customers.merge(winner.id, [loser.id], choices={"nope": loser.id, "name": "x"})
    assert set(caught.value.fields) == {"choices.nope", "choices.name"}


def test_unmerge_brings_everything_back(crm, team):
    admin, zhang = team["admin"], team["zhang"]
    winner, loser, contact, child = _duplicates(crm, admin, zhang)
    with crm.session(actor=admin) as s:
        merge_id = s.customers.merge(winner.id, [loser.id]).merge_id
    with crm.session(actor=admin) as s:
        undone = s.customers.unmerge(merge_id)
    assert undone.loser_ids == (loser.id,)
    with crm.session(actor=admin) as s:
        w = s.customers.get(winner.id)
        assert w.mobile is None and w.email is None and w.tags == ("重点",)
        back = s.customers.get(loser.id)
        assert back.merged_into is None and back.mobile is not None
        assert s.contacts.get(contact.id).customer_id == loser.id
        assert s.customers.get(child.id).parent_id == loser.id
        with pytest.raises(WorkflowError):
            s.customers.unmerge(merge_id)
        similar = s.customers.find_similar(name=COMPANY)
    assert {m.id for m in similar} >= {winner.id, loser.id}


def test_a_salesperson_may_not_merge(crm, team):
    admin, zhang = team["admin"], team["zhang"]
    winner, loser, _, _ = _duplicates(crm, admin, zhang)
    with crm.session(actor=zhang) as s, pytest.raises(PermissionDenied):
        s.customers.merge(winner.id, [loser.id])


def test_contacts_merge_and_unmerge(crm, team):
    admin = team["admin"]
    c = _create(crm, admin, name=COMPANY)
    with crm.session(actor=admin) as s:
        a = s.contacts.create(customer_id=c.id, name="王伟", mobile="13900001234")
        b = s.contacts.create(customer_id=c.id, name="王 伟", email="wangwei@example.com")
        (warning,) = s.warnings
        assert [m.id for m in warning.matches] == [a.id]
    with crm.session(actor=admin) as s:
        (cluster,) = s.dedup.scan("contacts")
        assert set(cluster.ids) == {a.id, b.id}
        result = s.contacts.merge(a.id, [b.id])
        assert result.winner.email is not None
    with crm.session(actor=admin) as s:
        assert s.contacts.get(b.id, include_deleted=True).merged_into == a.id
        s.contacts.unmerge(result.merge_id)
    with crm.session(actor=admin) as s:
        assert s.contacts.get(a.id).email is None
        assert not s.contacts.get(b.id).is_deleted


# -- scan and decisions ----------------------------------------------------------------------------
def test_scan_clusters_duplicates_and_remembers_a_not_a_duplicate_verdict(crm, team):
    admin, zhang = team["admin"], team["zhang"]
    with crm.session(actor=admin) as s:
        a = s.customers.create(name=COMPANY, owner_id=zhang.id, mobile="13800138000")
        b = s.customers.create(name=VARIANT, owner_id=zhang.id)
        c = s.customers.create(name="金智电子科技有限公司", owner_id=zhang.id, mobile="13800138000")
        s.customers.create(name="北京金智电子科技有限公司", owner_id=zhang.id)
        x = s.customers.create(name="华美服装有限公司", owner_id=zhang.id, email="hm@example.com")
        y = s.customers.create(name="华美服装股份有限公司", owner_id=zhang.id)
    with crm.session(actor=admin) as s:
        clusters = s.dedup.scan()
        assert sorted(sorted(cl.ids) for cl in clusters) == sorted(
            [sorted([a.id, b.id, c.id]), sorted([x.id, y.id])]
        )
        big = clusters[0]
        assert big.members[0].owner_name == "张三" and len(big.pairs) == 2
        s.dedup.mark_distinct("customers", y.id, x.id)
    with crm.session(actor=admin) as s:
        assert [sorted(cl.ids) for cl in s.dedup.scan()] == [sorted([a.id, b.id, c.id])]
        assert [(d.left, d.right) for d in s.dedup.decisions()] == [tuple(sorted([x.id, y.id]))]
    with crm.session(actor=zhang) as s, pytest.raises(PermissionDenied):
        s.dedup.scan()


def test_a_manager_scans_only_clusters_inside_the_team(crm, team):
    _create(crm, team["zhang"], name=COMPANY)
    with crm.session(actor=team["zhang"]) as s:
        s.customers.create(name=VARIANT)
    _create(crm, team["other"], name="华美服装有限公司", email="hm@example.com")
    _create(crm, team["other"], name="华美服装股份有限公司", email="hm@example.com")
    with crm.session(actor=team["boss"]) as s:
        assert sorted(m.name for cl in s.dedup.scan() for m in cl.members) == sorted(
            [COMPANY, VARIANT]
        )
    with crm.session(actor=team["admin"]) as s:
        assert len(s.dedup.scan()) == 2


def test_a_manager_cannot_decide_about_records_outside_the_team(crm, team):
    x = _create(crm, team["other"], name="华美服装有限公司", email="hm@example.com")
    y = _create(crm, team["other"], name="华美服装股份有限公司", email="hm@example.com")
    with crm.session(actor=team["boss"]) as s, pytest.raises(NotFound):
        s.dedup.mark_distinct("customers", x.id, y.id)
    with crm.session(actor=team["admin"]) as s:
        assert s.dedup.decisions() == []
        assert [sorted(cl.ids) for cl in s.dedup.scan()] == [sorted([x.id, y.id])]


def test_deleting_and_restoring_a_customer_takes_it_out_of_and_back_into_the_index(crm, team):
    zhang = team["zhang"]
    c = _create(crm, zhang, name=COMPANY)
    with crm.session(actor=zhang) as s:
        s.customers.delete(c.id)
    with crm.session(actor=team["other"]) as s:
        s.customers.create(name=VARIANT)  # nobody works the deleted one
    with crm.session(actor=zhang) as s:
        s.customers.restore(c.id)
    with crm.session(actor=team["admin"]) as s:
        (cluster,) = s.dedup.scan()
    assert {m.name for m in cluster.members} == {COMPANY, VARIANT}


def test_rebuild_reindexes_the_whole_store_to_the_same_clusters(crm, team):
    admin, zhang = team["admin"], team["zhang"]
    _duplicates(crm, admin, zhang)
    with crm.session(actor=admin) as s:
        before = sorted(sorted(cl.ids) for cl in s.dedup.scan())
        assert s.dedup.rebuild() == 3
        assert sorted(sorted(cl.ids) for cl in s.dedup.scan()) == before


def _companies_and_variants(s, n: int, every: int) -> tuple[list[str], list[str]]:
    """Import ``n`` distinct companies, then a suffix variant of every ``every``-th one
    (``on_duplicate="create"``): the lines of each file."""
    from tests.integration.test_import_jobs import HEADER, _rows

    lines = _rows(n).split("\r\n")[1:-1]
    variants = [line.replace("有限公司", "股份有限公司", 1) for line in lines[::every]]
    for body in (lines, variants):
        text = HEADER + "".join(f"{line}\r\n" for line in body)
        s.imports.run(io.BytesIO(text.encode()), on_duplicate="create")
    return lines, variants


def test_rebuild_in_bulk_finds_the_pairs_the_writes_found(crm, team):
    # More records than one rebuild chunk (1,000), duplicates spread across chunks.
    with crm.session(actor=team["admin"]) as s:
        lines, variants = _companies_and_variants(s, 1150, 10)
        before = sorted(sorted(cl.ids) for cl in s.dedup.scan())
        assert len(before) == len(variants)
        assert s.dedup.rebuild() == len(lines) + len(variants)
        assert sorted(sorted(cl.ids) for cl in s.dedup.scan()) == before
        # The index serves checks as before: a new variant is found.
        assert s.customers.find_similar(name=lines[5].split(",")[0], limit=1)


def test_a_scan_of_many_clusters_reads_them_in_growing_chunks_and_a_limit_cuts_any_of_them(
    crm, team
):
    # 650 clusters: the members are read for 200 clusters, then 400, then the rest.
    with crm.session(actor=team["admin"]) as s:
        _, variants = _companies_and_variants(s, 1300, 2)
        everything = s.dedup.scan()
        assert len(everything) == len(variants)
        assert all(len(cl.members) == 2 for cl in everything)
        reasons = {p.reasons for cl in everything for p in cl.pairs}
        assert reasons and all(r and all(isinstance(x, str) for x in r) for r in reasons)
        assert len({i for cl in everything for i in cl.ids}) == 2 * len(variants)
        assert [cl.ids for cl in s.dedup.scan(limit=620)] == [cl.ids for cl in everything[:620]]
        assert [cl.ids for cl in s.dedup.scan(limit=150)] == [cl.ids for cl in everything[:150]]


# -- concurrency ------------------------------------------------------------------------------
def test_of_several_salespeople_creating_one_company_at_once_exactly_one_succeeds(crm, team):
    sellers = [team["zhang"], team["li"], team["junior"], team["other"]]
    start = threading.Barrier(len(sellers))
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(user: crmkit.User, name: str) -> None:
        start.wait()
        try:
            with crm.session(actor=user) as s:
                s.customers.create(name=name, mobile="13800138000")
            result = "created"
        except DuplicateError:
            result = "duplicate"
        with lock:
            outcomes.append(result)

    names = [COMPANY, VARIANT, "金智电子科技(青岛)有限公司", "青岛 金智电子科技有限公司"]
    threads = [
        threading.Thread(target=attempt, args=(u, n)) for u, n in zip(sellers, names, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["created", "duplicate", "duplicate", "duplicate"]
    with crm.session(actor=team["admin"]) as s:
        assert s.customers.count() == 1
