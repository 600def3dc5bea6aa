"""Contact use cases. A contact is readable and writable exactly when its customer is."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import attrs

from crmkit.adapters.tabular import Format
from crmkit.domain import events as ev
from crmkit.domain.audit import AuditAction, diff, snapshot
from crmkit.domain.contact import Contact, check_contact_rules, parse_contact_input
from crmkit.domain.dedup import contact_record
from crmkit.domain.dedup.rules import RuleEvent
from crmkit.domain.errors import ConcurrencyError, DuplicateMatch, FieldErrors, NotFound
from crmkit.domain.intake import build_contact
from crmkit.storage.ports import EVERYTHING, Deleted, EntityQuery, Page
from crmkit.storage.spec import Filter, Op
from crmkit.workflows._common import DELETED_MODES, page_limit
from crmkit.workflows.context import Permission
from crmkit.workflows.dedup.index import DuplicateCheck
from crmkit.workflows.merge import MergeResult, merge_records, unmerge_records
from crmkit.workflows.session import DuplicateWarning, new_id

if TYPE_CHECKING:
    from crmkit.workflows.session import Session

# What ``parse_contact_input`` reports as ``required`` when missing or cleared.
REQUIRED_CONTACT_FIELDS = frozenset({"customer_id", "name"})


class ContactService:
    """``session.contacts``."""

    def __init__(self, session: Session) -> None:
        self._s = session

    @property
    def required_fields(self) -> frozenset[str]:
        """The fields a contact cannot be without (``customer_id``, ``name``): :meth:`create`
        refuses a contact without them and :meth:`update` refuses to clear them. Forms mark
        them (the admin's red *)."""
        return REQUIRED_CONTACT_FIELDS

    def get(self, id: str, *, include_deleted: bool = False) -> Contact:
        """The contact; ``NotFound`` if absent, deleted, or its customer is out of scope."""
        self._s.require(Permission.CUSTOMER_READ)
        contact = self._s._uow.contacts.get(id, self._s.actor.scope)
        if contact is None or (contact.is_deleted and not include_deleted):
            raise NotFound("contact", id)
        return contact

    def list(
        self,
        *,
        customer_id: str | None = None,
        q: str | None = None,
        surname_letter: str | None = None,
        deleted: str = Deleted.EXCLUDE,
        after: str | None = None,
        limit: int = 50,
    ) -> Page[Contact]:
        """A keyset page of contacts in scope, oldest first.

        ``surname_letter`` is the 百家姓 index letter (A–Z or #); ``q`` matches the name or
        phone digits.
        """
        self._s.require(Permission.CUSTOMER_READ)
        if deleted not in DELETED_MODES:
            errors = FieldErrors()
            errors.add("deleted", "invalid_choice", deleted, choices=", ".join(DELETED_MODES))
            errors.raise_if_any()
        eq = {"customer_id": customer_id, "surname_letter": surname_letter}
        if surname_letter:
            eq["surname_letter"] = surname_letter.upper()
        query = EntityQuery(
            filters=tuple(Filter(k, Op.EQ, v) for k, v in eq.items() if v is not None),
            text=q.strip() if q and q.strip() else None,
            deleted=Deleted(deleted),
        )
        limit = page_limit(limit, self._s.runtime.settings.max_page_size)
        return self._s._uow.contacts.list(query, self._s.actor.scope, after=after, limit=limit)

    def export(
        self,
        target: str | Path | IO[bytes],
        *,
        format: Format = "csv",
        codes: bool = False,
        **filters: Any,
    ) -> int:
        """Export the contacts the actor may see (``filters`` as for :meth:`list`) to a CSV
        or XLSX file, with their customer's name; cells a spreadsheet would run as formulas
        are neutralised.

        Returns:
            The number of contacts written.
        """
        from crmkit.workflows.exports import export_contacts

        return export_contacts(self, target, format=format, codes=codes, **filters)

    def surname_index(self) -> dict[str, int]:
        """How many contacts in scope sit under each surname letter (the 百家姓 index)."""
        self._s.require(Permission.CUSTOMER_READ)
        return self._s._uow.contacts.surname_index(self._s.actor.scope)

    def create(self, **fields: Any) -> Contact:
        """Add a contact to a customer the actor may edit.

        The first contact of a customer becomes its primary contact; making another contact
        primary clears the flag on the previous one.

        Raises:
            ValidationError: every wrong field, including an unknown or unreadable customer.
        """
        s = self._s
        s.require(Permission.CUSTOMER_WRITE)
        errors = FieldErrors()
        data = parse_contact_input(
            fields,
            errors,
            phone_region=s.runtime.region,
            strict_names=s.runtime.settings.strict_name_script,
        )
        customer_id = data.get("customer_id")
        has_siblings = False
        if customer_id is not None:
            customer = s._uow.customers.get(customer_id, s.actor.scope)
            if customer is None or customer.is_deleted:
                errors.add("customer_id", "not_found_ref", customer_id)
            else:
                # One row says whether it is the first; all are read only to move the
                # primary flag (a customer may have hundreds of contacts).
                query = EntityQuery(filters=(Filter("customer_id", Op.EQ, customer_id),))
                page = s._uow.contacts.list(query, EVERYTHING, after=None, limit=1)
                has_siblings = bool(page.items)
        errors.raise_if_any()
        now = s.now()
        contact = self._build(data, first=not has_siblings, at=now)
        owner_id = customer.owner_id if customer_id is not None and customer else None
        check = self._check(contact, RuleEvent.CREATE, owner_id)
        if contact.is_primary and has_siblings:
            self._clear_primary(s._uow.contacts.for_customer(contact.customer_id), now)
        s._uow.contacts.add(contact)
        self._indexed(contact, check, created=True)
        s.record("contact", contact.id, AuditAction.CREATE, snapshot(contact), at=now)
        s.publish(
            ev.ContactCreated(
                actor_id=s.actor.id, at=now, entity_id=contact.id, customer_id=contact.customer_id
            )
        )
        return contact

    def _build(self, data: dict[str, Any], *, first: bool, at: datetime) -> Contact:
        """A new contact from parsed fields (``parse_contact_input``), checked by the
        cross-field rules; the first contact of a customer is its primary one. Not stored:
        :meth:`create` and bulk paths (import) store it.

        Raises:
            ValidationError: a cross-field rule fails.
        """
        s = self._s
        return build_contact(
            data, id=new_id(), actor_id=s.actor.id, first=first, at=at, today=s.today()
        )

    def _record_created(
        self,
        created: builtins.list[Contact],
        *,
        note: str | None = None,
        audit: Sequence[Mapping[str, tuple[Any, Any]]] | None = None,
    ) -> None:
        """Audit entries and events for contacts just stored by a bulk path."""
        s = self._s
        for i, contact in enumerate(created):
            s.record(
                "contact",
                contact.id,
                AuditAction.CREATE,
                audit[i] if audit is not None else snapshot(contact),
                at=contact.created_at,
                note=note,
            )
            s.publish(
                ev.ContactCreated(
                    actor_id=s.actor.id,
                    at=contact.created_at,
                    entity_id=contact.id,
                    customer_id=contact.customer_id,
                )
            )

    def update(self, id: str, version: int | None = None, **changes: Any) -> Contact:
        """Change some fields of a contact (see ``CustomerService.update``)."""
        s = self._s
        s.require(Permission.CUSTOMER_WRITE)
        current = self.get(id)
        if version is not None and version != current.version:
            raise ConcurrencyError("contact", id, version, current.version)
        errors = FieldErrors()
        data = parse_contact_input(
            changes,
            errors,
            phone_region=s.runtime.region,
            partial=True,
            strict_names=s.runtime.settings.strict_name_script,
        )
        target = data.get("customer_id")
        if target is not None and target != current.customer_id:
            moved_to = s._uow.customers.get(target, s.actor.scope)
            if moved_to is None or moved_to.is_deleted:
                errors.add("customer_id", "not_found_ref", target)
        errors.raise_if_any()
        for key in ("customer_id", "name"):
            if key in data and data[key] is None:
                data.pop(key)
        now = s.now()
        updated = attrs.evolve(current, **data, version=current.version + 1, updated_at=now)
        check_contact_rules(updated, errors, today=s.today())
        errors.raise_if_any()
        changed = diff(current, updated)
        if not changed:
            return current
        if updated.is_primary and not current.is_primary:
            others = [c for c in s._uow.contacts.for_customer(updated.customer_id) if c.id != id]
            self._clear_primary(others, now)
        parent = s._uow.customers.get(updated.customer_id)
        check = self._check(updated, RuleEvent.EDIT, parent.owner_id if parent else None)
        s._uow.contacts.update(updated, expected_version=current.version)
        self._indexed(updated, check)
        if updated.customer_id != current.customer_id:
            s.dedup_index.touch("customer", current.customer_id)
        s.record("contact", id, AuditAction.UPDATE, changed, at=now)
        s.publish(
            ev.ContactUpdated(actor_id=s.actor.id, at=now, entity_id=id, fields=tuple(changed))
        )
        return updated

    def delete(self, id: str, version: int | None = None) -> None:
        """Move a contact to the recycle bin."""
        s = self._s
        s.require(Permission.CUSTOMER_WRITE)
        current = self.get(id)
        if version is not None and version != current.version:
            raise ConcurrencyError("contact", id, version, current.version)
        now = s.now()
        gone = attrs.evolve(current, deleted_at=now, version=current.version + 1, updated_at=now)
        s._uow.contacts.update(gone, expected_version=current.version)
        s.dedup_index.remove("contact", [id])
        s.dedup_index.touch("customer", current.customer_id)
        s.record("contact", id, AuditAction.DELETE, diff(current, gone), at=now)
        s.publish(ev.ContactDeleted(actor_id=s.actor.id, at=now, entity_id=id))

    def restore(self, id: str) -> Contact:
        """Bring a contact back from the recycle bin (its customer must be live)."""
        s = self._s
        s.require(Permission.CUSTOMER_WRITE)
        current = self.get(id, include_deleted=True)
        if not current.is_deleted:
            return current
        customer = s._uow.customers.get(current.customer_id, s.actor.scope)
        if customer is None or customer.is_deleted:
            errors = FieldErrors()
            errors.add("customer_id", "not_found_ref", current.customer_id)
            errors.raise_if_any()
        now = s.now()
        back = attrs.evolve(
            current,
            deleted_at=None,
            deleted_with=None,
            version=current.version + 1,
            updated_at=now,
        )
        s._uow.contacts.update(back, expected_version=current.version)
        s.dedup_index.touch("contact", id)
        s.dedup_index.touch("customer", current.customer_id)
        s.record("contact", id, AuditAction.RESTORE, diff(current, back), at=now)
        s.publish(ev.ContactRestored(actor_id=s.actor.id, at=now, entity_id=id))
        return back

    def _check(self, contact: Contact, event: RuleEvent, owner_id: str | None) -> DuplicateCheck:
        record = contact_record(contact)
        return self._s.dedup_index.check(
            "contact", record, event=event, owner_id=owner_id, exclude=[contact.id]
        )

    def _indexed(self, contact: Contact, check: DuplicateCheck, *, created: bool = False) -> None:
        """Index a contact just written, and re-index its customer (whose record holds the
        contact's phones, e-mail and name: a new contact only adds to it)."""
        index = self._s.dedup_index
        index.index("contact", [contact_record(contact)], check.pairs, new=created)
        if created:
            index.grow(contact.customer_id, contact)
        else:
            index.touch("customer", contact.customer_id)
        if check.warnings:
            self._s.warnings.append(DuplicateWarning("contact", contact.id, check.warnings))

    def merge(
        self,
        winner_id: str,
        loser_ids: builtins.list[str] | tuple[str, ...],
        *,
        choices: dict[str, str] | None = None,
        dry_run: bool = False,
    ) -> MergeResult:
        """Merge duplicate contacts into one; see :mod:`crmkit.workflows.merge`."""
        return merge_records(self._s, "contact", winner_id, loser_ids, choices, dry_run)

    def unmerge(self, merge_id: str) -> MergeResult:
        """Undo a contact merge (as ``customers.unmerge``)."""
        return unmerge_records(self._s, "contact", merge_id)

    def find_similar(self, *, limit: int = 5, **fields: Any) -> builtins.list[DuplicateMatch]:
        """Contacts similar to ``fields`` (``name``, ``customer_id``, ``mobile``, ``phone``,
        ``email``, ``birthday``), best first, disclosed as ``customers.find_similar`` does."""
        self._s.require(Permission.CUSTOMER_READ)
        return self._s.dedup_index.similar("contact", fields, limit)

    def _clear_primary(self, contacts: builtins.list[Contact], now: Any) -> None:
        for other in contacts:
            if other.is_primary:
                cleared = attrs.evolve(
                    other, is_primary=False, version=other.version + 1, updated_at=now
                )
                self._s._uow.contacts.update(cleared, expected_version=other.version)
                self._s.record(
                    "contact", other.id, AuditAction.UPDATE, diff(other, cleared), at=now
                )
