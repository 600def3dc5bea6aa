"""Contacts, with the 百家姓 index: contacts grouped by the pinyin letter of the surname."""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from typing import Any

from flask import g, request
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, Form, HiddenField, SelectField, StringField, TextAreaField

import crmkit
from admin.base import ListFilter, ServiceModelView, user_names
from admin.forms import SecureForm, options
from admin.i18n import labels
from admin.views.customers import customer_names

LETTERS = (*string.ascii_uppercase, "#")


class ContactForm(SecureForm):
    customer_id = HiddenField()
    name = StringField(_l("Name"))
    title = StringField(_l("Title"))
    gender = SelectField(
        _l("Gender"),
        choices=options([("male", _l("Male")), ("female", _l("Female"))], blank=True),
        validate_choice=False,
    )
    mobile = StringField(_l("Mobile"))
    phone = StringField(_l("Phone"))
    email = StringField(_l("Email"))
    birthday = StringField(_l("Birthday"), description="YYYY-MM-DD")
    is_primary = BooleanField(_l("Primary contact"))
    remarks = TextAreaField(_l("Remarks"))
    version = HiddenField()


COLUMNS = labels(
    "name", "customer_id", "title", "mobile", "phone", "email", "is_primary", "created_at"
)


class ContactView(ServiceModelView):
    """联系人: through ``session.contacts``; readable exactly when the customer is."""

    service_name = "contacts"
    model_class = crmkit.Contact
    columns = COLUMNS
    default_columns = ("name", "customer_id", "title", "mobile", "email", "is_primary")
    searchable = True
    countable = False  # the service has no count()
    form = ContactForm

    def scaffold_form(self) -> type[Form]:
        return ContactForm

    def list_filters(self) -> list[ListFilter]:
        return [
            ListFilter("surname_letter", _l("Surname letter"), lambda: [(c, c) for c in LETTERS]),
            ListFilter("customer_id", _l("Customer id")),
        ]

    def list_context(self, s: crmkit.Session, filters: Mapping[str, str]) -> dict[str, Any]:
        return {"surname_index": s.contacts.surname_index(), "letters": LETTERS}

    def create_args(self, filters: Mapping[str, str]) -> dict[str, str]:
        return {"customer_id": filters["customer_id"]} if "customer_id" in filters else {}

    list_template = "crm/contact_list.html"

    def create_form(self, obj: Any = None) -> Form:
        form = super().create_form(obj)
        if request.method == "GET":
            form.customer_id.data = request.args.get("customer_id", "")
        return form

    def prepare_rows(self, s: crmkit.Session, models: Sequence[Any]) -> None:
        user_names(s)
        g.customer_names = customer_names(s, [c.customer_id for c in models])

    def show_customer_id(self, c: crmkit.Contact) -> str:
        names: dict[str, str] = g.get("customer_names") or {}
        return names.get(c.customer_id, c.customer_id)

    def form_data(self, model: Any) -> dict[str, Any]:
        c: crmkit.Contact = model
        return {
            "customer_id": c.customer_id,
            "name": c.name,
            "title": c.title or "",
            "gender": c.gender.value if c.gender else "",
            "mobile": c.mobile.national if c.mobile else "",
            "phone": c.phone.national if c.phone else "",
            "email": c.email.value if c.email else "",
            "birthday": c.birthday.isoformat() if c.birthday else "",
            "is_primary": c.is_primary,
            "remarks": c.remarks or "",
            "version": c.version,
        }

    def changes(self, form: Form, model: Any | None) -> dict[str, Any]:
        fields = super().changes(form, model)
        if model is None and not form.data.get("is_primary"):
            fields.pop("is_primary", None)  # crmkit makes a customer's first contact primary
        return fields
