"""``on_duplicate``, mode by mode and case by case, as docs/how-to/intake.md tabulates it.

A row may duplicate nothing, a customer of one's own in the store, a customer someone else
works, or an earlier row of the same file. ``skip`` reports a duplicate of one's own,
``update`` fills that customer with the row's cells and ``create`` creates the row anyway,
and an earlier row of the file counts as the customer it created, updated or duplicates.
Someone else's customer blocks the row whatever the mode. Every row ends in one outcome.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from crmkit import CRM, User
from crmkit.domain.imports import ImportReport, Outcome
from crmkit.workflows.imports import BATCH

COMPANY = "青岛金智电子科技有限公司"
VARIANT = "金智电子科技（青岛）有限公司"  # the same company, written another way
OTHER = "上海华东建材有限公司"  # a company nobody has
MOBILE = "13800138000"
HEADER = "公司名称,手机,行业,负责人\r\n"

CREATED, UPDATED, DUPLICATE = Outcome.CREATED, Outcome.UPDATED, Outcome.DUPLICATE


@attrs.frozen
class Case:
    """A stored customer (its owner's key, or None: none), the file's rows (name, industry,
    负责人) and who imports it."""

    stored_by: str | None
    rows: tuple[tuple[str, str, str], ...]
    actor: str = "zhang"

    def sheet(self) -> bytes:
        return (HEADER + "".join(f"{n},{MOBILE},{i},{o}\r\n" for n, i, o in self.rows)).encode()


CASES = {
    "no duplicate": Case(None, ((OTHER, "建材", ""),)),
    "own stored duplicate": Case("zhang", ((VARIANT, "电子", ""),)),
    "other owner's stored duplicate": Case("li", ((VARIANT, "电子", ""),)),
    # A manager sees 张三's customers: may skip or update them, not create a second one.
    "visible stored duplicate of another owner": Case(
        "zhang", ((VARIANT, "电子", ""),), actor="boss"
    ),
    "in-file duplicate": Case(None, ((COMPANY, "", ""), (VARIANT, "电子", ""))),
    # A manager imports for two salespeople: the second would be a second owner of one
    # company, which anti-collision forbids.
    "in-file duplicate for another owner": Case(
        None, ((COMPANY, "", "zhangsan"), (VARIANT, "电子", "lixm")), actor="boss"
    ),
    # The first row is someone else's customer: so is the second, its duplicate.
    "in-file duplicate of a blocked row": Case(
        "li", ((VARIANT, "", ""), ("青岛金智电子有限公司", "电子", ""))
    ),
}

# (outcome, what it duplicates) per row: "stored" the stored customer's id, "theirs" (or
# "zhang's") that customer's name and owner, "row 2" the file's row 2; then the customers
# stored afterwards and the industry of the company (the stored customer, else the one row 2
# created).
Expected = tuple[tuple[tuple[Outcome, str | None], ...], int, str | None]
EXPECTED: dict[tuple[str, str], Expected] = {
    ("skip", "no duplicate"): (((CREATED, None),), 1, "建材"),
    ("update", "no duplicate"): (((CREATED, None),), 1, "建材"),
    ("create", "no duplicate"): (((CREATED, None),), 1, "建材"),
    ("skip", "own stored duplicate"): (((DUPLICATE, "stored"),), 1, None),
    ("update", "own stored duplicate"): (((UPDATED, "stored"),), 1, "电子"),
    ("create", "own stored duplicate"): (((CREATED, None),), 2, None),
    ("skip", "other owner's stored duplicate"): (((DUPLICATE, "theirs"),), 1, None),
    ("update", "other owner's stored duplicate"): (((DUPLICATE, "theirs"),), 1, None),
    ("create", "other owner's stored duplicate"): (((DUPLICATE, "theirs"),), 1, None),
    ("skip", "visible stored duplicate of another owner"): (((DUPLICATE, "stored"),), 1, None),
    ("update", "visible stored duplicate of another owner"): (
        ((UPDATED, "stored"),),
        1,
        "电子",
    ),
    ("create", "visible stored duplicate of another owner"): (((DUPLICATE, "zhang's"),), 1, None),
    ("skip", "in-file duplicate"): (((CREATED, None), (DUPLICATE, "row 2")), 1, None),
    ("update", "in-file duplicate"): (((CREATED, None), (UPDATED, "row 2")), 1, "电子"),
    ("create", "in-file duplicate"): (((CREATED, None), (CREATED, None)), 2, None),
    ("skip", "in-file duplicate for another owner"): (
        ((CREATED, None), (DUPLICATE, "row 2")),
        1,
        None,
    ),
    # An update never changes the owner: row 3 fills 张三's customer, which stays his.
    ("update", "in-file duplicate for another owner"): (
        ((CREATED, None), (UPDATED, "row 2")),
        1,
        "电子",
    ),
    ("create", "in-file duplicate for another owner"): (
        ((CREATED, None), (DUPLICATE, "row 2")),
        1,
        None,
    ),
    ("skip", "in-file duplicate of a blocked row"): (
        ((DUPLICATE, "theirs"), (DUPLICATE, "row 2")),
        1,
        None,
    ),
    ("update", "in-file duplicate of a blocked row"): (
        ((DUPLICATE, "theirs"), (DUPLICATE, "row 2")),
        1,
        None,
    ),
    ("create", "in-file duplicate of a blocked row"): (
        ((DUPLICATE, "theirs"), (DUPLICATE, "row 2")),
        1,
        None,
    ),
}
MODES = ("skip", "update", "create")


def _all(crm: CRM, admin: User) -> list[Any]:
    with crm.session(actor=admin) as s:
        return list(s.customers.list(limit=100).items)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("mode", MODES)
def test_each_mode_does_what_the_docs_say_for_each_kind_of_duplicate(
    crm: CRM, team: dict[str, User], mode: str, case: str
) -> None:
    spec = CASES[case]
    outcomes, count, industry = EXPECTED[(mode, case)]
    stored = None
    if spec.stored_by is not None:
        with crm.session(actor=team[spec.stored_by]) as s:
            stored = s.customers.create(name=COMPANY, mobile=MOBILE)
    with crm.session(actor=team[spec.actor]) as s:
        preview = s.imports.preview(io.BytesIO(spec.sheet()), on_duplicate=mode)
        report = s.imports.run(io.BytesIO(spec.sheet()), on_duplicate=mode)
    # Every row ends in exactly one outcome, and the counts add up to the rows.
    assert [r.row for r in report.results] == list(range(2, 2 + len(spec.rows)))
    assert sum(report.counts.values()) == report.rows_read == len(spec.rows)
    symbols = {
        "stored": stored.id if stored else None,
        "theirs": f"{COMPANY} (李小明)",
        "zhang's": f"{COMPANY} (张三)",
    }
    assert [(r.outcome, r.duplicate_of) for r in report.results] == [
        (outcome, symbols.get(dup or "", dup)) for outcome, dup in outcomes
    ]
    # The dry run said what the run did.
    assert [(r.outcome, r.duplicate_of) for r in preview.results] == [
        (r.outcome, r.duplicate_of) for r in report.results
    ]
    everyone = _all(crm, team["admin"])
    assert len(everyone) == count
    assert len(everyone) == report.counts["created"] + (1 if stored else 0)
    company = stored.id if stored else report.results[0].customer_id
    by_id = {c.id: c for c in everyone}
    if company is not None:
        assert by_id[company].industry == industry
    for r in report.results:
        if r.outcome is CREATED:
            assert r.customer_id in by_id
        if r.outcome is UPDATED:
            assert r.customer_id == company  # the stored customer, or the one row 2 created
            assert r.customer_name == by_id[company].name
        if r.duplicate_of in (symbols["theirs"], symbols["zhang's"]):
            assert r.customer_id is None  # nothing of someone else's customer but its name
    if stored is not None and spec.stored_by == "li":
        with crm.session(actor=team["li"]) as s:  # someone else's customer is untouched
            assert s.customers.get(stored.id).version == stored.version
    # Created duplicates are kept for review: one cluster holds the company's customers.
    with crm.session(actor=team["admin"]) as s:
        clusters = [c for c in s.dedup.scan() if company in c.ids]
    assert len(clusters) == (1 if count == 2 else 0)
    if clusters:
        assert set(clusters[0].ids) == set(by_id)


def _run(crm: CRM, actor: User, sheet: str, mode: str, *, dry_run: bool = False) -> ImportReport:
    with crm.session(actor=actor) as s:
        run: Callable[..., ImportReport] = s.imports.preview if dry_run else s.imports.run
        return run(io.BytesIO(sheet.encode()), on_duplicate=mode)


def test_an_in_file_duplicate_updates_the_customer_the_earlier_row_made_in_row_order(crm, team):
    # Row 3 and row 4 both duplicate row 2: each fills the customer row 2 created with its
    # cells, in row order (a later cell wins), and adds its contact unless known already.
    sheet = (
        "公司名称,手机,行业,地址,联系人\r\n"
        f"{COMPANY},{MOBILE},,,王五\r\n"
        f"{VARIANT},{MOBILE},电子,,李四\r\n"
        f"{COMPANY},{MOBILE},制造业,青岛市市南区香港中路1号,王五\r\n"
    )
    preview = _run(crm, team["zhang"], sheet, "update", dry_run=True)
    report = _run(crm, team["zhang"], sheet, "update")
    assert [(r.outcome, r.duplicate_of) for r in report.results] == [
        (CREATED, None),
        (UPDATED, "row 2"),
        (UPDATED, "row 2"),
    ]
    assert [r.outcome for r in preview.results] == [r.outcome for r in report.results]
    created = report.results[0].customer_id
    assert {r.customer_id for r in report.results} == {created}
    with crm.session(actor=team["zhang"]) as s:
        (customer,) = s.customers.list().items
        assert customer.id == created
        assert (customer.name, customer.industry) == (COMPANY, "制造业")
        assert customer.address == "青岛市市南区香港中路1号"
        assert sorted(c.name for c in s.contacts.list(customer_id=created)) == ["李四", "王五"]
    assert report.results[1].contact_id is not None and report.results[2].contact_id is None


def test_a_dry_run_checks_an_in_file_update_against_the_customer_it_would_create(crm, team):
    # Row 2 would create a prospect; row 3 would move it to 签约, which the lifecycle
    # forbids: the dry run reports the failure the run then has.
    sheet = f"公司名称,客户类别\r\n{COMPANY},潜在客户\r\n{VARIANT},签约\r\n"
    preview = _run(crm, team["zhang"], sheet, "update", dry_run=True)
    report = _run(crm, team["zhang"], sheet, "update")
    assert [r.outcome for r in report.results] == [CREATED, Outcome.FAILED]
    assert [r.outcome for r in preview.results] == [CREATED, Outcome.FAILED]
    assert preview.results[1].problems == report.results[1].problems


@pytest.mark.parametrize("mode", MODES)
def test_in_file_duplicates_are_found_across_batches(crm, team, mode):
    from tests.integration.test_import_jobs import HEADER as JOB_HEADER
    from tests.integration.test_import_jobs import _rows

    lines = _rows(BATCH).split("\r\n")[1:-1]
    first = lines[0].split(",")
    twin = ",".join([first[0].replace("有限公司", "股份有限公司"), first[1], "", "", ""])
    sheet = JOB_HEADER + "".join(f"{line}\r\n" for line in [*lines, twin])
    report = _run(crm, team["admin"], sheet, mode)
    assert sum(report.counts.values()) == report.rows_read == BATCH + 1
    last = report.results[-1]
    expected = {"skip": DUPLICATE, "update": UPDATED, "create": CREATED}[mode]
    assert last.outcome is expected
    assert last.duplicate_of == (None if mode == "create" else "row 2")
    with crm.session(actor=team["admin"]) as s:
        assert s.customers.count() == BATCH + (mode == "create")
        if mode == "update":
            assert last.customer_id == report.results[0].customer_id
        if mode == "create":
            pair = {report.results[0].customer_id, last.customer_id}
            assert any(pair <= set(c.ids) for c in s.dedup.scan())


def test_importing_a_file_with_create_after_skip_creates_the_rows_skipped_before(crm, team):
    # The same file again never creates a row's customer twice; a row an earlier import
    # skipped as a duplicate is decided again, by the policy of this import.
    sheet = HEADER + f"{COMPANY},{MOBILE},,\r\n{VARIANT},{MOBILE},电子,\r\n"
    skipped = _run(crm, team["zhang"], sheet, "skip")
    assert [r.outcome for r in skipped.results] == [CREATED, DUPLICATE]
    created = _run(crm, team["zhang"], sheet, "create")
    assert [(r.outcome, r.duplicate_of) for r in created.results] == [
        (DUPLICATE, skipped.results[0].customer_id),
        (CREATED, None),
    ]
    again = _run(crm, team["zhang"], sheet, "create")
    assert [r.outcome for r in again.results] == [DUPLICATE, DUPLICATE]
    with crm.session(actor=team["zhang"]) as s:
        assert s.customers.count() == 2


def test_reverting_an_import_whose_rows_updated_one_customer_puts_back_the_first_values(crm, team):
    with crm.session(actor=team["zhang"]) as s:
        stored = s.customers.create(name=COMPANY, mobile=MOBILE)
    sheet = HEADER + f"{VARIANT},{MOBILE},电子,\r\n{COMPANY},{MOBILE},制造业,\r\n"
    report = _run(crm, team["zhang"], sheet, "update")
    assert [(r.outcome, r.customer_id) for r in report.results] == [
        (UPDATED, stored.id),
        (UPDATED, stored.id),
    ]
    with crm.session(actor=team["admin"]) as s:
        assert s.customers.get(stored.id).industry == "制造业"
        undone = s.imports.revert(report.job_id)
        assert undone.kept_changes == 0
        restored = s.customers.get(stored.id)
    assert (restored.name, restored.industry) == (COMPANY, None)


@pytest.mark.parametrize("mode", MODES)
def test_a_dry_run_of_a_file_imported_before_reports_what_the_run_then_does(crm, team, mode):
    sheet = HEADER + f"{COMPANY},{MOBILE},,\r\n{VARIANT},{MOBILE},电子,\r\n{OTHER},,,\r\n"
    first = _run(crm, team["zhang"], sheet, mode)
    preview = _run(crm, team["zhang"], sheet, mode, dry_run=True)
    again = _run(crm, team["zhang"], sheet, mode)
    assert [(r.outcome, r.duplicate_of) for r in preview.results] == [
        (r.outcome, r.duplicate_of) for r in again.results
    ]
    assert again.counts["created"] == 0
    made = {r.customer_id for r in first.results if r.outcome in (CREATED, UPDATED)}
    assert {r.duplicate_of for r in again.results if r.duplicate_of in made} == made
