"""Contact use cases. A contact is readable and writable exactly when its customer is."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

import attrs

from crmkit.adapters.tabular import Format
from crmkit.domain import events as ev
from crmkit.domain.audit import AuditAction, diff, snapshot
from crmkit.domain.contact import (
    CONTACT_FIELDS,
    Contact,
    check_contact_rules,
    parse_contact_input,
)
from crmkit.domain.customer import Customer
from crmkit.domain.dedup import contact_record
from crmkit.domain.dedup.rules import RuleEvent
from crmkit.domain.errors import DuplicateMatch, FieldErrors
from crmkit.domain.intake import build_contact
from crmkit.storage.catalog import CONTACTS
from crmkit.storage.ports import EVERYTHING, Deleted, EntityQuery, Page
from crmkit.storage.spec import Filter, Op
from crmkit.workflows.dedup.index import DuplicateCheck
from crmkit.workflows.entity import EntityService
from crmkit.workflows.merge import MergeResult, merge_records, unmerge_records
from crmkit.workflows.session import DuplicateWarning, new_id

if TYPE_CHECKING:
    from crmkit.workflows.session import Session

# What ``parse_contact_input`` reports as ``required`` when missing or cleared.
REQUIRED_CONTACT_FIELDS = frozenset({"customer_id", "name"})


class ContactService(EntityService[Contact]):
    """``session.contacts``: contacts on the kernel's lifecycle (permissions
    ``contact.read/create/write/delete``, held by whoever keeps customers). A contact is
    readable and writable exactly when its customer is; the first contact of a customer is
    its primary one, and making another primary clears the flag on the previous one."""

    spec = CONTACTS

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        # Duplicate checks made while validating, taken by the store step that follows.
        self._checks: dict[str, DuplicateCheck] = {}
        # The customer a contact goes to, read by the validation's customer check and taken
        # by its duplicate check (whose rules depend on the owner): read once per write.
        self._parents: dict[str, Customer] = {}

    @property
    def required_fields(self) -> frozenset[str]:
        """The fields a contact cannot be without (``customer_id``, ``name``): :meth:`create`
        refuses a contact without them and :meth:`update` refuses to clear them. Forms mark
        them (the admin's red *)."""
        return REQUIRED_CONTACT_FIELDS

    def list(
        self,
        *,
        after: str | None = None,
        limit: int = 50,
        q: str | None = None,
        deleted: Deleted | str = Deleted.EXCLUDE,
        **filters: Any,
    ) -> Page[Contact]:
        """A keyset page of contacts in scope, oldest first.

        Filters as ``EntityService.list``: ``customer_id``, ``surname_letter`` (the 百家姓
        index letter, A–Z or #), ``name``, ``mobile``, ``phone``; ``q`` matches the name or
        phone digits.
        """
        letter = filters.get("surname_letter")
        if isinstance(letter, str):
            filters["surname_letter"] = letter.upper()
        return super().list(after=after, limit=limit, q=q, deleted=deleted, **filters)

    def export(  # a contact sheet names its customer
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

    def import_file(self, *args: Any, **kwargs: Any) -> NoReturn:  # noqa: ARG002
        """Contacts come in with their customers, through ``s.imports`` (one sheet row per
        customer and contact, duplicates checked across both).

        Raises:
            WorkflowError: always.
        """
        raise self.refusal(
            "import",
            "导入",
            (
                "contacts are imported with their customers (s.imports)",
                "联系人随客户一起导入（客户导入）",
            ),
        )

    def surname_index(self) -> dict[str, int]:
        """How many contacts in scope sit under each surname letter (the 百家姓 index)."""
        self.require("read")
        return self._s._uow.contacts.surname_index(self._s.actor.scope)

    def create(self, **fields: Any) -> Contact:
        """Add a contact to a customer the actor may edit.

        The first contact of a customer becomes its primary contact; making another contact
        primary clears the flag on the previous one.

        Raises:
            ValidationError: every wrong field, including an unknown or unreadable customer.
            DuplicateError: a duplicate rule blocks it.
        """
        return super().create(**fields)

    def restore(self, id: str) -> Contact:
        """Bring a contact back from the recycle bin (its customer must be live)."""
        s = self._s
        current = self.get(id, include_deleted=True)
        if current.is_deleted:
            customer = s._uow.customers.get(current.customer_id, s.actor.scope)
            if customer is None or customer.is_deleted:
                errors = FieldErrors()
                errors.add("customer_id", "not_found_ref", current.customer_id)
                errors.raise_if_any("contact")
        back = super().restore(id)
        s.dedup_index.touch("contact", id)
        s.dedup_index.touch("customer", back.customer_id)
        return back

    def purge(self, *, older_than: timedelta | None = None) -> int:  # noqa: ARG002
        """Contacts leave the recycle bin for good with their customer
        (``customers.purge``), so that a merge of their customer can still be undone.

        Raises:
            WorkflowError: always.
        """
        raise self.refusal(
            "purge",
            "彻底删除",
            (
                "contacts are purged with their customer (customers.purge)",
                "联系人随所属客户一起彻底删除",
            ),
        )

    # -- the lifecycle's hooks ------------------------------------------------------------
    def _extra_keys(self) -> frozenset[str]:
        return frozenset(CONTACT_FIELDS)

    def parse_extra(
        self,
        raw: Mapping[str, Any],
        data: Mapping[str, Any],  # noqa: ARG002  (the hook's signature)
        errors: FieldErrors,
        current: Contact | None,
    ) -> dict[str, Any]:
        """The contact's fields (their parsing needs the CRM's phone region and name rule);
        the customer it goes to is live and one the actor sees."""
        s = self._s
        self._parents.clear()  # only this write's read counts (an owner may change)
        out = parse_contact_input(
            raw,
            errors,
            phone_region=s.runtime.region,
            partial=current is not None,
            strict_names=s.runtime.settings.strict_name_script,
        )
        target = out.get("customer_id")
        if target is not None and (current is None or target != current.customer_id):
            customer = s._uow.customers.get(target, s.actor.scope)
            if customer is None or customer.is_deleted:
                errors.add("customer_id", "not_found_ref", target)
            else:
                self._parents[target] = customer
        if current is not None:
            for key in ("customer_id", "name"):  # reported as required; never cleared
                if key in out and out[key] is None:
                    out.pop(key)
        return out

    def prepare(
        self,
        raw: Mapping[str, Any],  # noqa: ARG002  (the hook's signature)
        data: dict[str, Any],
        errors: FieldErrors,  # noqa: ARG002
        current: Contact | None = None,
    ) -> dict[str, Any]:
        """On create: unset values take the class defaults, and a customer's first contact
        is its primary one (one row read says whether it is the first)."""
        if current is not None:
            return data
        out = {k: v for k, v in data.items() if v is not None}
        if "is_primary" not in out:
            siblings = EntityQuery(filters=(Filter("customer_id", Op.EQ, out["customer_id"]),))
            page = self.repo.list(siblings, EVERYTHING, after=None, limit=1)
            out["is_primary"] = not page.items
        return out

    def check(self, entity: Contact, current: Contact | None, errors: FieldErrors) -> None:
        """The cross-field rules, then the duplicate rules (a blocking rule refuses it);
        what the duplicate check found is indexed once the contact is stored."""
        s = self._s
        check_contact_rules(entity, errors, today=s.today())
        if errors:
            return
        event = RuleEvent.CREATE if current is None else RuleEvent.EDIT
        self._checks[entity.id] = self._duplicates(entity, event)

    def _duplicates(self, contact: Contact, event: RuleEvent) -> DuplicateCheck:
        parent = self._parents.pop(contact.customer_id, None) or self._s._uow.customers.get(
            contact.customer_id
        )
        return self._check(contact, event, parent.owner_id if parent else None)

    def _checked(self, contact: Contact, event: RuleEvent) -> DuplicateCheck:
        """The duplicate check :meth:`check` made for ``contact``, or a new one (a verb
        that stored it without validating it again)."""
        found = self._checks.pop(contact.id, None)
        return found if found is not None else self._duplicates(contact, event)

    def on_created(self, entity: Contact) -> None:
        s = self._s
        if entity.is_primary:
            others = s._uow.contacts.for_customer(entity.customer_id)
            self._clear_primary([c for c in others if c.id != entity.id], entity.created_at)
        self._indexed(entity, self._checked(entity, RuleEvent.CREATE), created=True)

    def on_updated(self, before: Contact, after: Contact) -> None:
        s = self._s
        if after.is_primary and not before.is_primary:
            others = s._uow.contacts.for_customer(after.customer_id)
            self._clear_primary([c for c in others if c.id != after.id], after.updated_at)
        self._indexed(after, self._checked(after, RuleEvent.EDIT))
        if after.customer_id != before.customer_id:
            s.dedup_index.touch("customer", before.customer_id)

    def on_deleting(self, entity: Contact) -> None:
        s = self._s
        s.dedup_index.remove("contact", [entity.id])
        s.dedup_index.touch("customer", entity.customer_id)

    def bin_changes(self, entity: Contact, *, deleting: bool) -> dict[str, Any]:  # noqa: ARG002
        # Restored on its own, a contact no longer comes back with its customer.
        return {} if deleting else {"deleted_with": None}

    def created_event(self, entity: Contact) -> ev.DomainEvent:
        return ev.ContactCreated(
            actor_id=self._s.actor.id,
            at=entity.created_at,
            entity_id=entity.id,
            customer_id=entity.customer_id,
        )

    def updated_event(self, after: Contact, fields: tuple[str, ...]) -> ev.DomainEvent:
        return ev.ContactUpdated(
            actor_id=self._s.actor.id, at=after.updated_at, entity_id=after.id, fields=fields
        )

    def deleted_event(self, entity: Contact) -> ev.DomainEvent:
        return ev.ContactDeleted(
            actor_id=self._s.actor.id, at=entity.updated_at, entity_id=entity.id
        )

    def restored_event(self, entity: Contact) -> ev.DomainEvent:
        return ev.ContactRestored(
            actor_id=self._s.actor.id, at=entity.updated_at, entity_id=entity.id
        )

    # -- what the lifecycle, merges and imports share ---------------------------------------
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
        self.require("read")
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
