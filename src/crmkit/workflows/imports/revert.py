"""Undoing a finished import as a whole, as far as nobody changed its work since."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from crmkit.domain.audit import AuditAction, diff
from crmkit.domain.customer import Customer
from crmkit.domain.imports import ImportJob, Outcome
from crmkit.workflows.imports.pipeline import stored_rows

if TYPE_CHECKING:
    from crmkit.workflows.session import Session


@attrs.frozen
class RevertReport:
    """What reverting an import did: customers sent to the recycle bin, customers whose
    updated fields were put back, field changes kept because someone changed the field
    again since the import, and contacts the import had added to customers it updated,
    sent to the recycle bin (a created customer's contacts go with it, uncounted)."""

    job_id: str
    deleted: int
    restored: int
    kept_changes: int
    contacts_deleted: int = 0


def revert_job(s: Session, job: ImportJob) -> RevertReport:
    """Revert ``job`` (``ImportService.revert``, permission and job checked already)."""
    from crmkit.workflows.merge import freeze, thaw

    now = s.now()
    reverted = job.revert(by=s.actor.id, at=now)
    deleted = restored = kept = contacts = 0
    # Last row first: rows that updated one customer (a stored one, or one an earlier row
    # created) are undone in the opposite order, each finding the values it wrote.
    for r in reversed(list(stored_rows(s, job.id))):
        if r.customer_id is None:
            continue
        if r.outcome is Outcome.UPDATED and r.contact_id is not None:
            added = s._uow.contacts.get(r.contact_id)
            if added is not None and not added.is_deleted:
                s.contacts.delete(r.contact_id)
                contacts += 1
        current = s._uow.customers.get(r.customer_id)
        if r.outcome is Outcome.CREATED:
            if current is None or current.is_deleted:
                continue
            s.customers.delete(r.customer_id)
            deleted += 1
        elif r.outcome is Outcome.UPDATED and r.undo and current and not current.is_deleted:
            plain = freeze(current)
            changed = False
            for field, (before, after) in r.undo.items():
                if plain.get(field) == after:
                    plain[field] = before
                    changed = True
                else:
                    kept += 1
            if changed:
                back: Any = attrs.evolve(
                    thaw(Customer, plain), version=current.version + 1, updated_at=now
                )
                s._uow.customers.update(back, expected_version=current.version)
                s.dedup_index.touch("customer", current.id)
                s.record(
                    "customer",
                    current.id,
                    AuditAction.UPDATE,
                    diff(current, back),
                    at=now,
                    note=f"import {job.id} reverted",
                )
                restored += 1
    s._uow.imports.update(reverted, expected_version=job.version)
    counts = {
        "deleted": deleted,
        "restored": restored,
        "kept_changes": kept,
        "contacts_deleted": contacts,
    }
    s.record("import", job.id, AuditAction.REVERT, {"counts": (None, counts)}, at=now)
    return RevertReport(job.id, deleted, restored, kept, contacts)
