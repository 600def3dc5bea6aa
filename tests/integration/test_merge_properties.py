"""Merging then unmerging gives back every record as it was, whatever the fields."""

from __future__ import annotations

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmkit.testing import open_test_crm
from crmkit.testing.strategies import company_names, emails, mobiles, person_names

# What a merge and its undo may touch without changing what the record *is*.
_BOOKKEEPING = ("version", "updated_at")


def _same(a, b) -> bool:
    return attrs.evolve(a, version=0, updated_at=b.updated_at) == attrs.evolve(b, version=0)


customer_fields = st.fixed_dictionaries(
    {"name": company_names()},
    optional={
        "mobile": mobiles(),
        "email": emails(),
        "industry": st.sampled_from(["制造业", "零售", "物流"]),
        "tags": st.lists(st.sampled_from(["重点", "华东", "老客户"]), unique=True, max_size=2),
        "remarks": st.text(alphabet="客户备注abc ", min_size=1, max_size=12).filter(str.strip),
    },
)


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    records=st.lists(customer_fields, min_size=2, max_size=4),
    contacts=st.lists(person_names(), max_size=3),
    choose_name=st.booleans(),
)
def test_unmerge_restores_every_customer_and_contact_exactly(records, contacts, choose_name):
    crm = open_test_crm()
    admin = crm.bootstrap_admin(name="管理员", password="admin-pass-1")
    with crm.session(actor=admin) as s:
        made = []
        for fields in records:
            made.append(s.customers.create(**fields))
            s.warnings.clear()
        people = [
            s.contacts.create(customer_id=made[1 + i % (len(made) - 1)].id, name=name)
            for i, name in enumerate(contacts)
        ]
    with crm.session(actor=admin) as s:
        before = [s.customers.get(c.id) for c in made]
        before_people = [s.contacts.get(p.id) for p in people]
        winner, losers = made[0], [c.id for c in made[1:]]
        choices = {"name": losers[0]} if choose_name else None
        result = s.customers.merge(winner.id, losers, choices=choices)
    with crm.session(actor=admin) as s:
        assert all(s.contacts.get(p.id).customer_id == winner.id for p in people)
        s.customers.unmerge(result.merge_id)
    with crm.session(actor=admin) as s:
        after = [s.customers.get(c.id) for c in made]
        after_people = [s.contacts.get(p.id) for p in people]
    assert all(_same(a, b) for a, b in zip(after, before, strict=True))
    assert all(_same(a, b) for a, b in zip(after_people, before_people, strict=True))
