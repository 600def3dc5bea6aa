"""Contacts on the kernel's lifecycle: their own permissions, events and refusals, on
every backend."""

from __future__ import annotations

import pytest

from crmkit import PermissionDenied, Role, ValidationError, WorkflowError
from crmkit.domain import events as ev


def test_contacts_have_permissions_of_their_own(crm, team):
    """By default whoever keeps customers keeps contacts; an application may let a role
    keep customers but only read contacts (or the other way round)."""
    zhang = team["zhang"]
    with crm.session(actor=zhang) as s:
        customer = s.customers.create(name="青岛海纳电子有限公司", owner_id=zhang.id)
        wang = s.contacts.create(customer_id=customer.id, name="王建国", mobile="13800138000")
    crm.permissions.revoke(Role.SALES, "contact.write")
    with crm.session(actor=zhang) as s:
        assert s.contacts.get(wang.id).name == "王建国"
        s.customers.update(customer.id, remarks="老客户")  # customers stay writable
        with pytest.raises(PermissionDenied):
            s.contacts.update(wang.id, title="经理")
    with crm.session(actor=team["other"]) as s, pytest.raises(ValidationError) as caught:
        s.contacts.create(customer_id=customer.id, name="李四")  # not a customer they see
    assert caught.value.fields == ("customer_id",)


def test_a_contacts_lifecycle_publishes_contact_events(crm, team):
    seen: list[ev.DomainEvent] = []
    for kind in (ev.ContactCreated, ev.ContactUpdated, ev.ContactDeleted, ev.ContactRestored):
        crm.subscribe(kind, seen.append)
    zhang = team["zhang"]
    with crm.session(actor=zhang) as s:
        customer = s.customers.create(name="青岛海纳电子有限公司", owner_id=zhang.id)
        first = s.contacts.create(customer_id=customer.id, name="王建国")
        second = s.contacts.create(customer_id=customer.id, name="李四", is_primary=True)
        s.contacts.update(first.id, title="经理")
        s.contacts.delete(second.id)
        back = s.contacts.restore(second.id)
        assert (first.is_primary, second.is_primary) == (True, True)
        # the second took the primary flag from the first
        assert not s.contacts.get(first.id).is_primary
        assert back.deleted_at is None and back.deleted_with is None
        with pytest.raises(WorkflowError):
            s.contacts.purge()  # contacts go for good with their customer
        with pytest.raises(WorkflowError):
            s.contacts.import_file(b"")  # they come in with their customers
    assert [type(e).__name__ for e in seen] == [
        "ContactCreated",
        "ContactCreated",
        "ContactUpdated",
        "ContactDeleted",
        "ContactRestored",
    ]
    assert seen[0].customer_id == customer.id


def test_contacts_list_by_surname_letter_in_any_case(crm, team):
    zhang = team["zhang"]
    with crm.session(actor=zhang) as s:
        customer = s.customers.create(name="青岛海纳电子有限公司", owner_id=zhang.id)
        wang = s.contacts.create(customer_id=customer.id, name="王建国")
        s.contacts.create(customer_id=customer.id, name="李四")
        by_letter = s.contacts.list(surname_letter="w")
        by_text = s.contacts.list(q="建国")
        index = s.contacts.surname_index()
    assert [c.id for c in by_letter.items] == [wang.id]
    assert [c.id for c in by_text.items] == [wang.id]
    assert index == {"L": 1, "W": 1}
