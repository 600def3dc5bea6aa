"""An import writes each created row's audit entries and events a few rows at a time, before
its batch ends (``pipeline.WRITE_ROWS``): every one of them is still written, once, with
the same contents, and their events reach subscribers when the import commits."""

from __future__ import annotations

import io

from crmkit import CRM
from crmkit.domain.audit import AuditAction, AuditEntry
from crmkit.domain.events import ContactCreated, CustomerCreated, DomainEvent
from crmkit.domain.imports import Outcome
from crmkit.domain.user import User
from crmkit.workflows.imports.pipeline import BATCH, WRITE_ROWS

CITIES = ["青岛", "济南", "烟台", "潍坊"]
BRANDS = ["金智", "华东", "宏达", "鑫源", "恒通", "瑞丰", "鸿运", "嘉禾", "盛世", "天成"]
TRADES = ["电子科技", "服装", "建材", "贸易", "机械设备", "食品", "物流"]


def _sheet(n: int) -> io.BytesIO:
    """``n`` distinct companies; every other one with a contact."""
    lines = ["公司名称,手机,地区,联系人,联系人手机\r\n"]
    for i in range(n):
        name = (
            f"{CITIES[i % 4]}{BRANDS[(i // 4) % 10]}{BRANDS[(i // 40) % 10]}"
            f"{TRADES[(i // 400) % 7]}有限公司"
        )
        person = f"王{'伟芳娜敏静'[i % 5]},159{i:08d}" if i % 2 else ","
        lines.append(f"{name},138{i:08d},山东省,{person}\r\n")
    return io.BytesIO("".join(lines).encode("utf-8"))


def _all_audit(crm: CRM, admin: User, entity_type: str) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    with crm.session(actor=admin) as s:
        after = None
        while True:
            page = s.audit.list(entity_type=entity_type, action=AuditAction.CREATE, after=after)
            entries.extend(page.items)
            if page.next_after is None:
                return entries
            after = page.next_after


def test_every_created_row_is_audited_and_published_once(crm: CRM, admin: User) -> None:
    n = BATCH + WRITE_ROWS + 7  # two batches, the last chunk of each short
    seen: list[DomainEvent] = []
    crm.subscribe(CustomerCreated, seen.append)
    crm.subscribe(ContactCreated, seen.append)
    with crm.session(actor=admin) as s:
        report = s.imports.run(_sheet(n))
    assert report.counts[Outcome.CREATED.value] == n
    customers = {r.customer_id for r in report.results}
    contacts = {r.contact_id for r in report.results if r.contact_id}
    assert len(contacts) == n // 2

    audited = _all_audit(crm, admin, "customer")
    assert sorted(e.entity_id for e in audited) == sorted(customers)
    people = [e for e in _all_audit(crm, admin, "contact") if e.note == "import"]
    assert sorted(e.entity_id for e in people) == sorted(contacts)
    first = next(e for e in audited if e.entity_id == report.results[0].customer_id)
    assert first.changes["name"] == (None, report.results[0].customer_name)

    created = [e.entity_id for e in seen if isinstance(e, CustomerCreated)]
    assert sorted(created) == sorted(customers)
    assert sorted(e.entity_id for e in seen if isinstance(e, ContactCreated)) == sorted(contacts)
