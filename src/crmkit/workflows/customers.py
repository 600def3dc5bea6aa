"""Customer use cases: create, read, list, update, categorise, delete, restore, purge."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import attrs

from crmkit.adapters.tabular import Format
from crmkit.domain import events as ev
from crmkit.domain.audit import AuditAction, diff, snapshot
from crmkit.domain.common import parse_enum
from crmkit.domain.customer import (
    CATEGORY_ALIASES,
    CHANNEL_ALIASES,
    KIND_ALIASES,
    REQUIRED_CUSTOMER_FIELDS,
    Category,
    ChannelType,
    Customer,
    CustomerKind,
    check_category_move,
    check_customer_rules,
    parse_customer_input,
)
from crmkit.domain.dedup.rules import RuleEvent
from crmkit.domain.errors import (
    ConcurrencyError,
    DuplicateMatch,
    FieldErrors,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from crmkit.domain.intake import build_customer, parse_new_customer
from crmkit.domain.regions import Region
from crmkit.domain.sharing import CoOwnershipRequest, RequestStatus
from crmkit.domain.values import normalize_company_name, normalize_person_name
from crmkit.storage.ports import CustomerQuery, Deleted, Page, Scope
from crmkit.workflows import sharing
from crmkit.workflows._common import DELETED_MODES, as_instant, page_limit, reject_unknown
from crmkit.workflows.context import PERMISSION_LABELS_ZH, Permission
from crmkit.workflows.dedup.index import DuplicateCheck
from crmkit.workflows.merge import MergeResult, merge_records, unmerge_records
from crmkit.workflows.session import DuplicateWarning, new_id

# How much of each looked-up value the audit entry of a similar-customer lookup keeps.
LOOKUP_AUDIT_CHARS = 200

if TYPE_CHECKING:
    from crmkit.workflows.session import Session

# Fields that feed a customer's match record: changing one re-runs the duplicate check.
_MATCHED_FIELDS = frozenset(
    {
        "name",
        "kind",
        "uscc",
        "mobile",
        "phone",
        "email",
        "address",
        "region",
        "birthday",
        "custom",
        "owner_id",
        "co_owner_ids",
    }
)

FILTERS = {
    "owner_id",
    "category",
    "kind",
    "channel_type",
    "region",
    "tag",
    "source",
    "industry",
    "created_from",
    "created_to",
    "q",
    "deleted",
}


class CustomerService:
    """``session.customers``: everything a caller may do with customers."""

    def __init__(self, session: Session) -> None:
        self._s = session

    @property
    def _repo(self):  # type: ignore[no-untyped-def]
        return self._s._uow.customers

    @property
    def required_fields(self) -> frozenset[str]:
        """The fields a customer cannot be without: ``name`` (:meth:`create` refuses a
        customer without one) and ``kind`` (a create without it makes a company); an
        :meth:`update` refuses to clear either. Forms mark them (the admin's red *)."""
        return REQUIRED_CUSTOMER_FIELDS

    # -- reads -------------------------------------------------------------------------
    def get(self, id: str, *, include_deleted: bool = False) -> Customer:
        """The customer with ``id``.

        Raises:
            NotFound: it does not exist, is in the recycle bin (unless ``include_deleted``),
                or lies outside the actor's data scope.
        """
        self._s.require(Permission.CUSTOMER_READ)
        customer: Customer | None = self._repo.get(id, self._s.actor.scope)
        if customer is None or (customer.is_deleted and not include_deleted):
            raise NotFound("customer", id)
        return customer

    def query(self, filters: Mapping[str, Any]) -> CustomerQuery:
        """Validate list filters into a ``CustomerQuery`` (all bad filters reported at once)."""
        errors = FieldErrors()
        reject_unknown(filters, FILTERS, errors)
        tz = self._s.runtime.settings.timezone
        region = filters.get("region")
        region_code: str | None = None
        if isinstance(region, Region):
            region_code = region.code
        elif region:
            try:
                region_code = Region.parse(str(region), field="region").code
            except ValidationError as exc:
                errors.extend(exc.errors)
        deleted = filters.get("deleted", Deleted.EXCLUDE)
        if deleted not in DELETED_MODES:
            errors.add("deleted", "invalid_choice", deleted, choices=", ".join(DELETED_MODES))
        query = CustomerQuery(
            owner_id=filters.get("owner_id"),
            category=parse_enum(
                Category, filters.get("category"), errors, "category", dict(CATEGORY_ALIASES)
            ),
            kind=parse_enum(CustomerKind, filters.get("kind"), errors, "kind", dict(KIND_ALIASES)),
            channel_type=parse_enum(
                ChannelType,
                filters.get("channel_type"),
                errors,
                "channel_type",
                dict(CHANNEL_ALIASES),
            ),
            region=region_code,
            tag=filters.get("tag") or None,
            source=filters.get("source") or None,
            industry=filters.get("industry") or None,
            created_from=as_instant(filters.get("created_from"), "created_from", errors, tz),
            created_to=as_instant(filters.get("created_to"), "created_to", errors, tz),
            text=(str(filters["q"]).strip() or None) if filters.get("q") else None,
            deleted=Deleted(deleted),
        )
        errors.raise_if_any()
        return query

    def list(self, *, after: str | None = None, limit: int = 50, **filters: Any) -> Page[Customer]:
        """A keyset page of customers in the actor's scope, newest first.

        Filters: ``owner_id``, ``category``, ``kind``, ``channel_type``, ``region`` (a code or
        "山东省/青岛市"; matches everything inside it), ``tag``, ``source``, ``industry``,
        ``created_from`` (inclusive), ``created_to`` (exclusive), ``q`` (text in the name,
        contact names and phone numbers), ``deleted`` ("exclude", "only" = the recycle bin,
        "include"). Pass the page's ``next_after`` as ``after`` for the next page.
        """
        self._s.require(Permission.CUSTOMER_READ)
        query = self.query(filters)
        limit = page_limit(limit, self._s.runtime.settings.max_page_size)
        page: Page[Customer] = self._repo.list(query, self._s.actor.scope, after=after, limit=limit)
        return page

    def count(self, *, cap: int | None = None, **filters: Any) -> int:
        """How many customers match ``filters`` in scope (stops at ``cap`` if given)."""
        self._s.require(Permission.CUSTOMER_READ)
        n: int = self._repo.count(self.query(filters), self._s.actor.scope, cap=cap)
        return n

    def export(
        self,
        target: str | Path | IO[bytes],
        *,
        format: Format = "csv",
        codes: bool = False,
        **filters: Any,
    ) -> int:
        """Export the customers the actor may see (``filters`` as for :meth:`list`) to a
        CSV or XLSX file; cells that a spreadsheet would run as formulas are neutralised.
        Choices are written as people read them (正式客户, 终端客户, 现款), which the import
        maps back; ``codes=True`` writes their codes (``formal``) for machines.

        Returns:
            The number of customers written.
        """
        from crmkit.workflows.exports import export_customers

        return export_customers(self, target, format=format, codes=codes, **filters)

    def recycle_bin(self, *, after: str | None = None, limit: int = 50) -> Page[Customer]:
        """Deleted customers the actor may see, most recently created first."""
        return self.list(after=after, limit=limit, deleted=Deleted.ONLY)

    # -- writes ------------------------------------------------------------------------
    def create(self, **fields: Any) -> Customer:
        """Create a customer from keyword fields (a dict row can be passed as ``**row``).

        ``owner_id`` defaults to the acting user. Sales staff may only create customers they
        own; managers for themselves and their subordinates; admins for anyone.

        Raises:
            ValidationError: naming every wrong field at once.
            PermissionDenied: the actor may not create customers, or not for that owner.
        """
        customer = self._prepare(**fields)
        index = self._s.dedup_index
        record = index.customer_record(customer)
        check = index.check("customer", record, event=RuleEvent.CREATE, owner_id=customer.owner_id)
        self._repo.add(customer)
        index.index("customer", [record], check.pairs)
        self._warn(customer.id, check)
        self._record_created([customer])
        return customer

    def _warn(self, customer_id: str, check: DuplicateCheck) -> None:
        if check.warnings:
            self._s.warnings.append(DuplicateWarning("customer", customer_id, check.warnings))

    def check(self, **fields: Any) -> tuple[DuplicateMatch, ...]:
        """Validate ``fields`` as :meth:`create` would and apply the duplicate rules, without
        writing: what a form calls before saving.

        Returns:
            The warnings the create would give (similar customers of one's own).

        Raises:
            ValidationError: as :meth:`create`.
            DuplicateError: the create would be blocked (a customer someone else works).
        """
        customer = self._prepare(**fields)
        record = self._s.dedup_index.customer_record(customer)
        return self._s.dedup_index.check(
            "customer", record, event=RuleEvent.CREATE, owner_id=customer.owner_id
        ).warnings

    def find_similar(self, *, limit: int = 5, **fields: Any) -> builtins.list[DuplicateMatch]:
        """Customers similar to ``fields`` (any of ``name``, ``mobile``, ``phone``, ``email``,
        ``uscc``, ``address``, ``region``, ``contact_name`` …), best first.

        Searches the whole store, not only the actor's scope, so that a salesperson learns
        that someone else already works a company; for customers the actor may not read it
        discloses only the name, the owner, the score and the reasons
        (``visible=False``, ``record=None``). Fields need not be valid: what cannot be read
        is left out of the comparison.

        Args:
            limit: at most this many matches (the seeds show five).
            **fields: what is known of the customer.

        Every lookup is audited (it discloses customers beyond the actor's scope): an entry
        of type ``customer_lookup`` and action ``lookup`` records who asked, what they typed
        and which customers were shown (``s.audit.list(action="lookup")``).

        Returns:
            Matches with a positive score, best first; ``is duplicate`` when the score
            reaches the matcher's threshold (``CUSTOMER_MATCH.threshold``, 0.5).
        """
        s = self._s
        s.require(Permission.CUSTOMER_READ)
        found = s.dedup_index.similar("customer", fields, limit)
        asked: dict[str, tuple[Any, Any]] = {
            k: (None, str(v)[:LOOKUP_AUDIT_CHARS])
            for k, v in sorted(fields.items())
            if v is not None and str(v).strip()
        }
        asked["matches"] = (None, [m.id for m in found])
        s.record(
            "customer_lookup",
            new_id(),
            AuditAction.LOOKUP,
            asked,
            at=s.now(),
            note=f"{len(found)} similar customer(s) shown",
        )
        return found

    def _prepare(self, **fields: Any) -> Customer:
        """Validate ``fields`` as :meth:`create` does and return the new customer, unsaved.

        Bulk paths (import) prepare many customers, then store them with one ``add_many``
        and :meth:`record_created`, so every door applies the same rules.
        """
        s = self._s
        s.require(Permission.CUSTOMER_CREATE)
        errors = FieldErrors()
        data = parse_new_customer(
            fields,
            errors,
            owner_default=self._owner_default,
            phone_region=s.runtime.region,
            custom_schema=s.runtime.customer_fields,
            strict_names=s.runtime.settings.strict_name_script,
            vocabulary=s.vocabulary(),
        )
        id = new_id()
        self._check_new(data, errors, id)
        errors.raise_if_any()
        return build_customer(data, id=id, actor_id=s.actor.id, now=s.now(), today=s.today())

    @property
    def _owner_default(self) -> str | None:
        """Who owns a new customer whose fields name no owner: the actor (not a system one)."""
        return None if self._s.actor.is_system else self._s.actor.id

    def _check_new(self, refs: Mapping[str, Any], errors: FieldErrors, id: str) -> None:
        """The checks of a new customer's parsed fields that need the store: may the actor
        assign this owner and co-owners, and do the users and customers named exist
        (reference errors are added to ``errors``).

        Raises:
            PermissionDenied: the actor may not give the customer to this owner or share it.
        """
        self._check_assignment(refs, None)
        self._check_references(refs, errors, id)

    def _record_created(
        self,
        created: Sequence[Customer],
        *,
        note: str | None = None,
        audit: Sequence[Mapping[str, tuple[Any, Any]]] | None = None,
    ) -> None:
        """Audit entries and events for customers just stored."""
        s = self._s
        for i, customer in enumerate(created):
            s.record(
                "customer",
                customer.id,
                AuditAction.CREATE,
                audit[i] if audit is not None else snapshot(customer),
                at=customer.created_at,
                note=note,
            )
            s.publish(
                ev.CustomerCreated(
                    actor_id=s.actor.id,
                    at=customer.created_at,
                    entity_id=customer.id,
                    owner_id=customer.owner_id,
                )
            )

    def update(self, id: str, version: int | None = None, **changes: Any) -> Customer:
        """Change some fields of a customer.

        Args:
            id: the customer.
            version: the version the caller read; if the stored one differs, nothing is
                written and ``ConcurrencyError`` is raised. ``None`` updates whatever is
                current (still safe against a concurrent writer within this transaction).
            **changes: the fields to change; others are kept.

        Raises:
            ValidationError: every wrong field at once.
            ConcurrencyError: ``version`` is not the stored version.
            NotFound: absent, in the recycle bin, or outside the actor's scope.
            PermissionDenied: the actor may not edit customers, or not reassign them.
            WorkflowError: a category move the lifecycle forbids.
        """
        s = self._s
        current, updated = self._changed(id, version, changes)
        changed = diff(current, updated)
        if not changed:
            return current
        now = updated.updated_at
        index = s.dedup_index
        if _MATCHED_FIELDS.intersection(changed):
            record = index.customer_record(updated, s._uow.contacts.for_customer(id))
            check = index.check(
                "customer",
                record,
                event=RuleEvent.EDIT,
                owner_id=updated.owner_id,
                exclude=[id],
            )
            self._repo.update(updated, expected_version=current.version)
            index.index("customer", [record], check.pairs)
            self._warn(id, check)
        else:
            self._repo.update(updated, expected_version=current.version)
        s.record("customer", id, AuditAction.UPDATE, changed, at=now)
        s.publish(
            ev.CustomerUpdated(actor_id=s.actor.id, at=now, entity_id=id, fields=tuple(changed))
        )
        if updated.category is not current.category:
            s.publish(
                ev.CustomerCategoryChanged(
                    actor_id=s.actor.id,
                    at=now,
                    entity_id=id,
                    before=current.category.value,
                    after=updated.category.value,
                )
            )
        return updated

    def _prepare_update(self, id: str, version: int | None = None, **changes: Any) -> Customer:
        """Validate ``changes`` as :meth:`update` does and return the customer as it would
        be, unsaved (a dry run's check: duplicate rules are not applied).

        Raises:
            The errors of :meth:`update`, but ``DuplicateError``.
        """
        return self._changed(id, version, changes)[1]

    def _changed(
        self, id: str, version: int | None, changes: Mapping[str, Any]
    ) -> tuple[Customer, Customer]:
        """The current customer and the validated new version (not written)."""
        s = self._s
        s.require(Permission.CUSTOMER_WRITE)
        current = self.get(id)
        if version is not None and version != current.version:
            raise ConcurrencyError("customer", id, version, current.version)
        errors = FieldErrors()
        data = parse_customer_input(
            changes,
            errors,
            kind=current.kind,
            phone_region=s.runtime.region,
            custom_schema=s.runtime.customer_fields,
            base_custom=current.custom,
            partial=True,
            strict_names=s.runtime.settings.strict_name_script,
            vocabulary=s.vocabulary(),
            id_number=current.id_number,
        )
        if "kind" in data and data["kind"] is not None and "name" not in changes:
            # The naming rules depend on the kind: re-check the stored name under the new one.
            normalize = (
                normalize_company_name
                if data["kind"] is CustomerKind.COMPANY
                else normalize_person_name
            )
            try:
                normalize(current.name, field="name", strict=s.runtime.settings.strict_name_script)
            except ValidationError as exc:
                errors.extend(exc.errors)
        self._check_assignment(data, current)
        self._check_references(data, errors, current.id)
        errors.raise_if_any()
        target = data.pop("category", None)
        for key in ("kind", "name"):
            if key in data and data[key] is None:
                data.pop(key)
        now = s.now()
        updated = attrs.evolve(current, **data, version=current.version + 1, updated_at=now)
        if target is not None and target is not current.category:
            check_category_move(updated, target)
            updated = attrs.evolve(updated, category=target)
        check_customer_rules(updated, errors, today=s.today())
        errors.raise_if_any()
        return current, updated

    def change_category(
        self, id: str, category: Category | str, version: int | None = None
    ) -> Customer:
        """Move a customer along its lifecycle (潜在 → 正式 → 签约, or 放弃).

        Raises:
            WorkflowError: the move is not in the transition table, or a channel customer
                without a related customer would become formal.
        """
        return self.update(id, version=version, category=category)

    def delete(self, id: str, version: int | None = None) -> None:
        """Move a customer and its live contacts to the recycle bin."""
        s = self._s
        s.require(Permission.CUSTOMER_WRITE)
        current = self.get(id)
        if version is not None and version != current.version:
            raise ConcurrencyError("customer", id, version, current.version)
        now = s.now()
        deleted = attrs.evolve(current, deleted_at=now, version=current.version + 1, updated_at=now)
        self._repo.update(deleted, expected_version=current.version)
        contacts = s._uow.contacts.for_customer(id)
        s.dedup_index.remove("customer", [id])
        s.dedup_index.remove("contact", [c.id for c in contacts])
        for contact in contacts:
            gone = attrs.evolve(
                contact,
                deleted_at=now,
                deleted_with=id,
                version=contact.version + 1,
                updated_at=now,
            )
            s._uow.contacts.update(gone, expected_version=contact.version)
            s.record("contact", contact.id, AuditAction.DELETE, at=now, note=f"with customer {id}")
        s.record(
            "customer",
            id,
            AuditAction.DELETE,
            diff(current, deleted),
            at=now,
            note=f"{len(contacts)} contact(s) with it",
        )
        s.publish(ev.CustomerDeleted(actor_id=s.actor.id, at=now, entity_id=id))

    def restore(self, id: str) -> Customer:
        """Bring a customer back from the recycle bin, with the contacts deleted with it."""
        s = self._s
        s.require(Permission.CUSTOMER_WRITE)
        current = self.get(id, include_deleted=True)
        if not current.is_deleted:
            return current
        now = s.now()
        restored = attrs.evolve(
            current, deleted_at=None, version=current.version + 1, updated_at=now
        )
        self._repo.update(restored, expected_version=current.version)
        s.dedup_index.touch("customer", id)
        for contact in s._uow.contacts.for_customer(id, include_deleted=True):
            if contact.deleted_with == id:
                s.dedup_index.touch("contact", contact.id)
                back = attrs.evolve(
                    contact,
                    deleted_at=None,
                    deleted_with=None,
                    version=contact.version + 1,
                    updated_at=now,
                )
                s._uow.contacts.update(back, expected_version=contact.version)
                s.record(
                    "contact", contact.id, AuditAction.RESTORE, at=now, note=f"with customer {id}"
                )
        s.record("customer", id, AuditAction.RESTORE, diff(current, restored), at=now)
        s.publish(ev.CustomerRestored(actor_id=s.actor.id, at=now, entity_id=id))
        return restored

    def purge(self, *, older_than: timedelta | None = None) -> int:
        """Delete for good what has been in the recycle bin longer than the retention period.

        Admin only. Returns how many customers were purged. Their audit history is kept.
        """
        s = self._s
        s.require(Permission.CUSTOMER_PURGE)
        keep = (
            older_than
            if older_than is not None
            else timedelta(days=s.runtime.settings.recycle_retention_days)
        )
        now = s.now()
        cutoff: datetime = now - keep
        ids: list[str] = []
        after: str | None = None
        while True:
            page = self._repo.list(
                CustomerQuery(deleted=Deleted.ONLY, deleted_before=cutoff),
                Scope.everything(),
                after=after,
                limit=500,
            )
            ids.extend(c.id for c in page.items)
            if page.next_after is None:
                break
            after = page.next_after
        if ids:
            for chunk in range(0, len(ids), 500):
                part = ids[chunk : chunk + 500]
                people = [
                    c.id
                    for i in part
                    for c in s._uow.contacts.for_customer(i, include_deleted=True)
                ]
                s.dedup_index.remove("customer", part)
                s.dedup_index.remove("contact", people)
            self._repo.purge(ids)
            for id in ids:
                s.record("customer", id, AuditAction.PURGE, at=now)
            s.publish(ev.CustomersPurged(actor_id=s.actor.id, at=now, entity_ids=tuple(ids)))
        return len(ids)

    # -- co-ownership (anti-collision's way out) ----------------------------------------
    def request_co_ownership(
        self, customer_id: str, *, note: str | None = None
    ) -> CoOwnershipRequest:
        """Ask to co-own a customer someone else works (the id from a ``DuplicateError``).

        Asking again while a request is pending returns that request.

        Raises:
            NotFound: no such live customer.
            WorkflowError: the actor already owns or co-owns it.
        """
        return sharing.request(self._s, customer_id, note)

    def grant_co_ownership(self, request_id: str, *, note: str | None = None) -> CoOwnershipRequest:
        """Grant a pending request: the requester becomes a co-owner (audited).

        Raises:
            PermissionDenied: the actor is neither an admin nor a manager above the owner.
            WorkflowError: the request is no longer pending.
        """
        return sharing.decide(self._s, request_id, RequestStatus.GRANTED, note)

    def refuse_co_ownership(
        self, request_id: str, *, note: str | None = None
    ) -> CoOwnershipRequest:
        """Refuse a pending request (as :meth:`grant_co_ownership`, nothing is shared)."""
        return sharing.decide(self._s, request_id, RequestStatus.REFUSED, note)

    def withdraw_co_ownership(self, request_id: str) -> CoOwnershipRequest:
        """The requester takes back their pending request."""
        return sharing.decide(self._s, request_id, RequestStatus.WITHDRAWN, None)

    def co_ownership_requests(
        self,
        *,
        status: RequestStatus | str | None = None,
        customer_id: str | None = None,
        mine: bool = False,
        after: str | None = None,
        limit: int = 50,
    ) -> Page[CoOwnershipRequest]:
        """Requests, newest first: with ``mine`` the actor's own; otherwise those the actor
        decides (all for an admin, the team's customers' for a manager; a salesperson sees
        their own either way)."""
        if mine:
            return sharing.mine(self._s, status=status, after=after, limit=limit)
        return sharing.listing(
            self._s, status=status, customer_id=customer_id, after=after, limit=limit
        )

    # -- merge -------------------------------------------------------------------------
    def merge(
        self,
        winner_id: str,
        loser_ids: Sequence[str],
        *,
        choices: Mapping[str, str] | None = None,
        dry_run: bool = False,
    ) -> MergeResult:
        """Merge duplicates into one customer; see :mod:`crmkit.workflows.merge`."""
        return merge_records(self._s, "customer", winner_id, loser_ids, choices, dry_run)

    def unmerge(self, merge_id: str) -> MergeResult:
        """Undo a merge: the losers come back, moved records return, the winner's merged
        fields are restored where nobody changed them since."""
        return unmerge_records(self._s, "customer", merge_id)

    # -- rules needing the store -------------------------------------------------------
    def _check_assignment(self, data: Mapping[str, Any], current: Customer | None) -> None:
        """Only managers and admins hand customers to others or share them."""
        actor = self._s.actor
        owner = data.get("owner_id")
        if "owner_id" in data and owner != (current.owner_id if current else None):
            if current is not None:
                self._s.require(Permission.CUSTOMER_ASSIGN)
            if owner is not None and not actor.may_own_for(owner):
                raise PermissionDenied(
                    actor.name, "assign customers to this owner", "将客户分配给该负责人"
                )
        sharing_changes = "co_owner_ids" in data and tuple(data["co_owner_ids"] or ()) != (
            current.co_owner_ids if current else ()
        )
        if sharing_changes and not actor.can(Permission.CUSTOMER_ASSIGN):
            raise PermissionDenied(
                actor.name,
                Permission.CUSTOMER_ASSIGN.value,
                PERMISSION_LABELS_ZH[Permission.CUSTOMER_ASSIGN],
            )

    def _check_references(self, data: Mapping[str, Any], errors: FieldErrors, self_id: str) -> None:
        owner = data.get("owner_id")
        if owner is not None:
            user = self._s.user(owner)
            if user is None or user.is_deleted:
                errors.add("owner_id", "not_found_ref", owner)
            elif not user.active:
                errors.add("owner_id", "customer.owner_inactive", owner)
        for i, uid in enumerate(data.get("co_owner_ids") or ()):
            user = self._s.user(uid)
            if user is None or user.is_deleted or not user.active:
                errors.add(f"co_owner_ids[{i}]", "customer.owner_inactive", uid)
        scope = self._s.actor.scope
        parent = data.get("parent_id")
        if parent is not None and parent != self_id:
            found = self._repo.get(parent, scope)
            if found is None or found.is_deleted:
                errors.add("parent_id", "not_found_ref", parent)
            else:
                seen = {self_id}
                node: Customer | None = found
                while node is not None and node.parent_id is not None:
                    if node.id in seen or node.parent_id in seen:
                        errors.add("parent_id", "customer.parent_cycle", parent)
                        break
                    seen.add(node.id)
                    node = self._repo.get(node.parent_id)
        related = [r for r in data.get("related_customer_ids") or () if r != self_id]
        if related:
            present = {c.id for c in self._repo.get_many(related, scope) if not c.is_deleted}
            for i, rid in enumerate(related):
                if rid not in present:
                    errors.add(f"related_customer_ids[{i}]", "not_found_ref", rid)
