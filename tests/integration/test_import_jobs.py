"""Import jobs: resume after an interruption, re-import, revert, stored reports."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import crmkit
from crmkit.adapters.tabular import read_table
from crmkit.domain.imports import ImportStatus, Outcome
from crmkit.storage.ports import Store
from crmkit.testing import open_test_crm, store_of

HEADER = "公司名称,手机,地区,联系人,联系人手机\r\n"
BRANDS = [
    "金智",
    "华美",
    "远景",
    "恒信",
    "天成",
    "宏达",
    "新科",
    "鼎盛",
    "博雅",
    "瑞丰",
    "汇通",
    "安泰",
    "德润",
    "嘉禾",
    "锦程",
]
TRADES = ["电子科技", "服装", "建材", "贸易", "机械设备", "食品", "物流", "医药", "家具", "印刷"]
CITIES = ["青岛", "济南", "烟台", "潍坊", "威海", "淄博", "临沂", "日照"]
MOBILE = ("138", "139", "186", "150", "151", "152")
SURNAMES = "王李张刘陈杨赵黄周吴"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳"]


def _rows(n: int) -> str:
    """``n`` distinct companies (no two alike), with a contact each."""
    lines = []
    for i in range(n):
        brand = BRANDS[i % len(BRANDS)] + BRANDS[(i // len(BRANDS)) % len(BRANDS)]
        trade = TRADES[(i // len(BRANDS) ** 2) % len(TRADES)]
        city = CITIES[(i // (len(BRANDS) ** 2 * len(TRADES))) % len(CITIES)]
        mobile = f"{MOBILE[i % len(MOBILE)]}{i:08d}"
        person = SURNAMES[i % len(SURNAMES)] + GIVEN[(i // len(SURNAMES)) % len(GIVEN)]
        lines.append(f"{city}{brand}{trade}有限公司,{mobile},山东省,{person},159{i:08d}\r\n")
    return HEADER + "".join(lines)


def _file(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode("utf-8"))


# -- a store that fails once, on a chosen batch -------------------------------------------------
class _FailingCustomers:
    def __init__(self, inner: Any, store: FailingStore) -> None:
        self._inner = inner
        self._store = store

    def add_many(self, customers: Any, *, contacts: Any = ()) -> None:
        self._store.batches += 1
        if self._store.batches == self._store.fail_on:
            raise ConnectionError("the database went away")
        self._inner.add_many(customers, contacts=contacts)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _FailingUnitOfWork:
    def __init__(self, inner: Any, store: FailingStore) -> None:
        self._inner = inner
        self.customers = _FailingCustomers(inner.customers, store)

    def __enter__(self) -> _FailingUnitOfWork:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._inner.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class FailingStore:
    """A real store whose ``fail_on``-th bulk customer insert raises, as a dropped database
    connection would: a fake that implements the ``Store`` port around a real one."""

    def __init__(self, inner: Store, fail_on: int) -> None:
        self._inner = inner
        self.url = inner.url
        self.fail_on = fail_on
        self.batches = 0

    def unit_of_work(self) -> Any:
        return _FailingUnitOfWork(self._inner.unit_of_work(), self)

    def close(self) -> None:
        self._inner.close()


@pytest.fixture
def sheet() -> str:
    return _rows(1300)  # three batches of 500


def test_an_import_interrupted_by_a_database_error_resumes_without_duplicating(backend_url, sheet):
    inner = open_test_crm(backend_url)
    admin = inner.bootstrap_admin(name="管理员", password="admin-pass-1")
    crm = open_test_crm(FailingStore(store_of(inner), fail_on=2))
    with pytest.raises(ConnectionError), crm.session(actor=admin) as s:
        s.imports.run(_file(sheet), commit_every=500)  # a commit after every batch
    with crm.session(actor=admin) as s:
        assert s.customers.count() == 500  # the first batch was committed
        (job,) = s.imports.jobs().items
        assert job.status is ImportStatus.RUNNING and job.rows_done == 501
        report = s.imports.run(_file(sheet))  # the same file again: resumes
    assert report.job_id == job.id
    assert report.rows_read == 1300 and report.counts["created"] == 1300
    assert [r.row for r in report.results] == list(range(2, 1302))
    with crm.session(actor=admin) as s:
        assert s.customers.count() == 1300
        assert s.contacts.list(limit=1).items
        assert s.imports.job(job.id).status is ImportStatus.FINISHED
        assert s.imports.report(job.id).counts == report.counts
    inner.close()


def test_an_import_whose_process_is_killed_resumes_without_duplicating(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'crm.db'}"
    source = tmp_path / "customers.csv"
    source.write_text(_rows(6000), encoding="utf-8")
    crm = open_test_crm(db)
    admin = crm.bootstrap_admin(name="管理员", password="admin-pass-1")
    script = (
        "import sys, crmkit\n"
        "from crmkit.testing import open_test_crm\n"
        "crm = open_test_crm(sys.argv[1])\n"
        "admin = crm.authenticate('guanly', 'admin-pass-1')\n"
        "with crm.session(actor=admin) as s:\n"
        "    s.imports.run(sys.argv[2])\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script, db, str(source)])
    try:
        deadline = time.monotonic() + 120
        done = 0
        while time.monotonic() < deadline and child.poll() is None:
            with crm.session(actor=admin) as s:
                jobs = s.imports.jobs().items
                done = jobs[0].rows_done if jobs else 0
            if done > 1:
                break
            time.sleep(0.02)
        assert child.poll() is None, "the import finished before it could be killed"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(30)
    with crm.session(actor=admin) as s:
        written = s.customers.count()
        assert 0 < written < 6000
        report = s.imports.run(source)
    assert report.counts == {"created": 6000, "updated": 0, "duplicate": 0, "failed": 0}
    with crm.session(actor=admin) as s:
        assert s.customers.count() == 6000
    crm.close()


def test_importing_a_file_again_creates_nothing_even_with_the_create_policy(crm, team):
    sheet = _rows(30)
    with crm.session(actor=team["admin"]) as s:
        first = s.imports.run(_file(sheet), on_duplicate="create")
        again = s.imports.run(_file(sheet), on_duplicate="create")
        assert s.customers.count() == 30
    assert first.counts["created"] == 30
    assert again.counts["duplicate"] == 30
    assert {r.duplicate_of for r in again.results} == {r.customer_id for r in first.results}


def test_revert_bins_what_an_import_created_and_restores_what_it_updated(crm, team):
    admin = team["admin"]
    with crm.session(actor=admin) as s:
        kept = s.customers.create(name="青岛金智电子科技有限公司", industry="制造业")
    sheet = HEADER.replace("\r\n", ",行业\r\n") + (
        "青岛金智电子科技有限公司,,,,,电子\r\n济南华美服装有限公司,13800000001,,,,服装\r\n"
    )
    with crm.session(actor=admin) as s:
        report = s.imports.run(_file(sheet), on_duplicate="update")
        assert [r.outcome for r in report.results] == [Outcome.UPDATED, Outcome.CREATED]
        assert s.customers.get(kept.id).industry == "电子"
    with crm.session(actor=admin) as s:
        undone = s.imports.revert(report.job_id)
        assert (undone.deleted, undone.restored) == (1, 1)
    with crm.session(actor=admin) as s:
        assert s.customers.get(kept.id).industry == "制造业"
        assert [c.name for c in s.customers.list()] == ["青岛金智电子科技有限公司"]
        assert s.imports.job(report.job_id).status is ImportStatus.REVERTED
        with pytest.raises(crmkit.WorkflowError):
            s.imports.revert(report.job_id)
        entry = s.audit.history(report.job_id)[-1]
    assert entry.action is crmkit.AuditAction.REVERT
    with crm.session(actor=team["zhang"]) as s, pytest.raises(crmkit.PermissionDenied):
        s.imports.revert(report.job_id)


def test_updating_a_customer_adds_the_rows_contact_once_and_revert_takes_it_away(crm, team):
    # "update" fills the matched customer with the row's cells: its contact is one of them,
    # so it is added (not dropped) unless the customer knows that person already.
    admin = team["admin"]
    with crm.session(actor=admin) as s:
        known = s.customers.create(name="青岛金智电子科技有限公司")
        s.contacts.create(customer_id=known.id, name="王五", mobile="13900139000")
        other = s.customers.create(name="上海远景建材有限公司")
        bare = s.customers.create(name="济南华美服装有限公司")
    sheet = HEADER + (
        "上海远景建材有限公司,,,李四,13800138000\r\n"
        "金智电子科技（青岛）有限公司,,,王五,\r\n"  # known already: not added again
        "济南华美服装有限公司,,,,13700137000\r\n"  # no name: the mobile is the customer's
    )
    with crm.session(actor=admin) as s:
        preview = s.imports.preview(_file(sheet), on_duplicate="update")
        report = s.imports.run(_file(sheet), on_duplicate="update")
        assert [r.outcome for r in report.results] == [Outcome.UPDATED] * 3
        assert [r.outcome for r in preview.results] == [Outcome.UPDATED] * 3
        assert [r.contact_id for r in preview.results] == [None] * 3
        added = report.results[0].contact_id
        assert added is not None and [r.contact_id for r in report.results[1:]] == [None, None]
        assert s.contacts.get(added).customer_id == other.id
        assert [c.name for c in s.contacts.list(customer_id=other.id)] == ["李四"]
        assert [c.name for c in s.contacts.list(customer_id=known.id)] == ["王五"]
        assert s.customers.get(bare.id).mobile.e164 == "+8613700137000"
        assert s.imports.report(report.job_id).results == report.results
        again = s.imports.run(_file(sheet), on_duplicate="update")
        assert again.counts["created"] == 0
        assert all(r.contact_id is None for r in again.results)
        assert len(s.contacts.list(customer_id=other.id)) == 1
    with crm.session(actor=admin) as s:
        undone = s.imports.revert(report.job_id)
        assert (undone.deleted, undone.contacts_deleted) == (0, 1)
        assert len(s.contacts.list(customer_id=other.id)) == 0
        assert s.customers.get(bare.id).mobile is None


def test_a_reverted_import_can_be_run_again(crm, team):
    sheet = _rows(5)
    with crm.session(actor=team["admin"]) as s:
        first = s.imports.run(_file(sheet))
        s.imports.revert(first.job_id)
        again = s.imports.run(_file(sheet))
    assert again.counts["created"] == 5


def test_the_row_report_is_written_as_csv_or_xlsx_in_the_active_language(crm, team, tmp_path):
    sheet = HEADER + "青岛金智电子科技有限公司,12345,,,\r\n济南华美服装有限公司,,,,\r\n"
    with crm.session(actor=team["admin"]) as s:
        report = s.imports.run(_file(sheet))
    written = {}
    for lang, fmt in (("zh", "xlsx"), ("en", "csv")):
        with crmkit.language(lang):
            target = tmp_path / f"report.{fmt}"
            s.imports.write_report(report, target, format=fmt)
        table = read_table(target)
        written[lang] = (table.headers, [r.cells for r in table.rows])
    zh_headers, zh_rows = written["zh"]
    en_headers, en_rows = written["en"]
    assert zh_headers[:2] == ["行号", "结果"] and en_headers[:2] == ["row", "outcome"]
    assert [r[:2] for r in en_rows] == [("2", "failed"), ("3", "created")]
    assert en_rows[0][4] == "手机: is not a valid phone number"
    assert zh_rows[0][4] is not None and zh_rows[0][4].startswith("手机: ")


def test_a_salesperson_sees_only_their_own_import_jobs(crm, team):
    with crm.session(actor=team["zhang"]) as s:
        mine = s.imports.run(_file(_rows(2)))
    with crm.session(actor=team["li"]) as s:
        assert s.imports.jobs().items == ()
        with pytest.raises(crmkit.NotFound):
            s.imports.report(mine.job_id)
    with crm.session(actor=team["admin"]) as s:
        assert [j.id for j in s.imports.jobs().items] == [mine.job_id]


def test_in_file_duplicates_are_found_fuzzily_and_named_by_row(crm, team):
    sheet = (
        "公司名称,手机\r\n"
        "青岛金智电子科技有限公司,13800138000\r\n"
        "金智电子科技（青岛）有限公司,\r\n"
        "青岛金智电子有限公司,+86 138-0013-8000\r\n"
        "北京金智电子科技有限公司,13900139000\r\n"
    )
    with crm.session(actor=team["admin"]) as s:
        report = s.imports.run(_file(sheet))
    assert [(r.outcome.value, r.duplicate_of) for r in report.results] == [
        ("created", None),
        ("duplicate", "row 2"),
        ("duplicate", "row 2"),
        ("created", None),
    ]


def test_match_on_a_natural_key_updates_the_customer_with_that_code(crm, team):
    uscc = "91370200MA3C5HXX1T"
    with crm.session(actor=team["admin"]) as s:
        c = s.customers.create(name="青岛金智电子科技有限公司", uscc=uscc)
        sheet = f"公司名称,统一社会信用代码,行业\r\n金智集团,{uscc},电子\r\n"
        report = s.imports.run(_file(sheet), on_duplicate="update", match_on="uscc")
        (row,) = report.results
        assert row.outcome is Outcome.UPDATED and row.customer_id == c.id
        with pytest.raises(crmkit.ValidationError):
            s.imports.preview(_file(sheet), match_on="fax")


def test_create_anyway_still_never_creates_a_customer_someone_else_works(crm, team):
    with crm.session(actor=team["zhang"]) as s:
        s.customers.create(name="青岛金智电子科技有限公司")
    sheet = "公司名称,负责人\r\n金智电子科技（青岛）有限公司,lixm\r\n"
    with crm.session(actor=team["boss"]) as s:
        (row,) = s.imports.run(_file(sheet), on_duplicate="create").results
    assert (
        row.outcome is Outcome.DUPLICATE and row.duplicate_of == "青岛金智电子科技有限公司 (张三)"
    )


def test_rows_created_with_the_create_policy_are_offered_for_review(crm, team):
    sheet = "公司名称,手机\r\n青岛金智电子科技有限公司,13800138000\r\n"
    with crm.session(actor=team["admin"]) as s:
        s.customers.create(name="金智电子科技（青岛）有限公司", mobile="13800138000")
        (row,) = s.imports.run(_file(sheet), on_duplicate="create").results
        assert row.outcome is Outcome.CREATED
        (cluster,) = s.dedup.scan()
    assert row.customer_id in cluster.ids


def _shape(report: Any) -> list[tuple[Any, ...]]:
    """A report without the ids that differ between runs."""
    return [
        (
            r.row,
            r.outcome,
            tuple((p.column, p.field, p.code) for p in r.problems),
            r.duplicate_of if r.duplicate_of and r.duplicate_of.startswith("row") else None,
        )
        for r in report.results
    ]


def test_worker_processes_prepare_rows_with_the_same_outcomes(clock):
    # Big enough for the pool; in-file duplicates, bad cells and an unknown owner mixed in.
    body = _rows(4100).split("\r\n")[1:-1]
    body[7] = body[3]  # an in-file duplicate
    body[100] = "坏号码有限公司,12345,山东省,,"
    body[2000] = ",13900000000,山东省,,"
    text = HEADER + "".join(f"{line}\r\n" for line in body)
    reports = []
    stored = []
    for workers in (0, 1):
        crm = open_test_crm(clock=clock)
        admin = crm.bootstrap_admin(name="管理员", password="admin-pass-1")
        with crm.session(actor=admin) as s:
            reports.append(s.imports.run(_file(text), workers=workers))
            stored.append(s.customers.count())
        crm.close()
    assert _shape(reports[0]) == _shape(reports[1])
    assert stored[0] == stored[1] == reports[0].counts["created"]
    assert reports[0].counts["created"] + reports[0].counts["duplicate"] + reports[0].counts[
        "failed"
    ] == len(body)


def test_a_row_the_lifecycle_refuses_fails_alone(crm, team):
    # A channel customer cannot be formal without a related customer: that row fails with
    # the reason, in both languages, and the import goes on.
    text = (
        "公司名称,客户类别,渠道终端\r\n"
        "渠道甲有限公司,正式客户,渠道\r\n"
        "终端乙有限公司,正式客户,终端\r\n"
    )
    with crm.session(actor=team["admin"]) as s:
        report = s.imports.run(_file(text))
        assert s.customers.count() == 1
    bad, good = report.results
    assert good.outcome is Outcome.CREATED
    assert bad.outcome is Outcome.FAILED
    (problem,) = bad.problems
    assert problem.code == "WorkflowError" and "渠道客户" in problem.message_zh
