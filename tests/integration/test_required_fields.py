"""Each service names the fields its records cannot be without (forms mark them), and the
services refuse exactly those as ``required``."""

from __future__ import annotations

from typing import Any

import pytest

from crmkit import CRM, User, ValidationError

COMPANY = "青岛金智电子科技有限公司"


def required_errors(caught: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return {e.field for e in caught.value.errors if e.code == "required"}


def test_each_service_names_the_fields_its_records_cannot_be_without(crm: CRM, admin: User):
    with crm.session(actor=admin) as s:
        assert s.customers.required_fields == {"kind", "name"}
        assert s.contacts.required_fields == {"customer_id", "name"}
        assert s.products.required_fields == {"name"}
        assert s.product_categories.required_fields == {"name"}
        assert s.product_groups.required_fields == {"name"}


def test_a_create_without_the_required_fields_is_refused_naming_each_of_them(crm: CRM, admin: User):
    with crm.session(actor=admin) as s:
        for name in ("contacts", "products", "product_categories", "product_groups"):
            service: Any = getattr(s, name)
            with pytest.raises(ValidationError) as caught:
                service.create()
            assert required_errors(caught) == service.required_fields, name
        with pytest.raises(ValidationError) as caught:
            s.customers.create()
        assert required_errors(caught) == {"name"}  # a customer's kind defaults to company


def test_clearing_a_required_field_is_refused_as_required(crm: CRM, admin: User):
    with crm.session(actor=admin) as s:
        customer = s.customers.create(name=COMPANY)
        records = {
            "customers": customer,
            "contacts": s.contacts.create(customer_id=customer.id, name="李四"),
            "products": s.products.create(name="智能门锁"),
            "product_categories": s.product_categories.create(name="门锁"),
            "product_groups": s.product_groups.create(name="渠道专供"),
        }
    for name, record in records.items():
        with crm.session(actor=admin) as s:
            service: Any = getattr(s, name)
            for field in sorted(service.required_fields):
                with pytest.raises(ValidationError) as caught:
                    service.update(record.id, **{field: ""})
                assert required_errors(caught) == {field}, (name, field)


@pytest.mark.parametrize(
    "name",
    ["activities", "quotes", "orders", "tickets", "complaints", "repairs", "questions"],
)
def test_a_record_of_a_customer_without_one_is_refused_as_required(
    crm: CRM, admin: User, name: str
):
    """Every entity that belongs to a customer: none given is a field error naming each
    missing field, never a crash."""
    with crm.session(actor=admin) as s:
        service: Any = getattr(s, name)
        with pytest.raises(ValidationError) as caught:
            service.create()
        assert "customer_id" in required_errors(caught)
        assert required_errors(caught) == service.required_fields
