"""Screens for crmkit's kernel entities: a service-backed view that is configuration.

Every entity service on crmkit's kernel has the same verbs (``create``, ``get``, ``list``,
``count``, ``update``, ``delete``, ``restore``) and the same permission codes
(``<entity>.read/create/write/delete``). :class:`EntityModelView` turns a declaration of one
such service into its list, detail, create and edit screens, on
:class:`~admin.base.ServiceModelView`'s machinery (keyset pages, capped counts, the version in
every form, every field error on its field)::

    class ProductView(EntityModelView):
        service_name, permission = "products", "product"
        list_fields = ("code", "name", "price", "category_id")
        filter_fields = ("category_id", "active")
        form_fields = (text("name"), money("price"), choice("category_id", CATEGORIES))

A :class:`FormField` says how one field travels: from the record into the form
(:meth:`FormField.to_form`), from the form to the service (the text as typed: crmkit parses
and validates it, so no rule is written here), and onto the page (:meth:`FormField.show`,
through :func:`admin.i18n.show`). A :class:`Lookup` names the records of another service
(a product's category, its group) for select boxes, filters and cells, read once per request.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar

import attrs
from flask import abort, g, has_request_context, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import expose
from flask_admin.helpers import get_redirect_target
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    Form,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)

import crmkit
from admin import context
from admin.base import ListFilter, ServiceModelView, all_pages, user_names
from admin.forms import SecureForm, options
from admin.history import history_rows
from admin.i18n import FIELD_LABELS, percent, show

Pairs = Sequence[tuple[str, Any]]


def record_name(record: Any, _records: Mapping[str, Any]) -> str:
    """A record's ``name`` (the default way a :class:`Lookup` names records)."""
    return str(record.name)


@attrs.frozen
class Lookup:
    """The records of another service, named for people: select and filter options, and
    the text of a cell that holds one's id.

    For small reference lists (categories, groups): all of them are read once per request
    (the recycle bin's too, so an old record still shows its category's name).
    ``name(record, records)`` may walk the others, e.g. a category's path up its tree.
    """

    service: str
    name: Callable[[Any, Mapping[str, Any]], str] = record_name

    def records(self, s: crmkit.Session | None = None) -> Mapping[str, Any]:
        """id → record, deleted ones included (read in ``s``, or a unit of work of its own)."""
        cache: dict[str, dict[str, Any]] = g.setdefault("lookups", {})
        if self.service not in cache:
            if s is None:
                with context.work() as own:
                    return self.records(own)
            service = context.service(s, self.service)
            found = all_pages(lambda after: service.list(after=after, limit=500, deleted="include"))
            cache[self.service] = {r.id: r for r in found}
        return cache[self.service]

    def label(self, id: str | None) -> str:
        """The name of the record ``id`` (empty if unknown or out of the user's sight)."""
        records = self.records()
        record = records.get(id or "")
        return self.name(record, records) if record is not None else ""

    def choices(self) -> list[tuple[str, str]]:
        """``(id, name)`` of the live records, by name."""
        records = self.records()
        live = [(r.id, self.name(r, records)) for r in records.values() if r.deleted_at is None]
        return sorted(live, key=lambda pair: pair[1])


class Kind(enum.Enum):
    """How a field is typed in a form and shown on a page."""

    TEXT = "text"
    LONG_TEXT = "long_text"
    MONEY = "money"
    RATE = "rate"
    NUMBER = "number"
    FLAG = "flag"
    CHOICE = "choice"  # one of ``choices`` (a select box; empty allowed)
    CHOICES = "choices"  # any of ``choices`` (a multiple select)


Choices = Lookup | Callable[[], Pairs]


@attrs.frozen
class FormField:
    """One field of an entity's form. Build it with :func:`text`, :func:`money`,
    :func:`choice` …; ``label`` defaults to the view's labels, then the admin's."""

    name: str
    kind: Kind = Kind.TEXT
    choices: Choices | None = None
    label: Any = None
    description: Any = ""
    default: Any = None
    #: the name of a value that is not (or no longer) among the choices
    name_of: Callable[[str], str] | None = None

    def wtform(self, label: Any) -> Any:
        """The WTForms field; its text goes to crmkit as typed (crmkit validates)."""
        opts: dict[str, Any] = {"description": self.description}
        if self.default is not None:
            opts["default"] = self.default
        if self.kind is Kind.LONG_TEXT:
            return TextAreaField(label, **opts)
        if self.kind is Kind.FLAG:
            return BooleanField(label, **opts)
        if self.kind is Kind.CHOICE:
            return SelectField(label, choices=[], validate_choice=False, **opts)
        if self.kind is Kind.CHOICES:
            return SelectMultipleField(label, choices=[], validate_choice=False, **opts)
        return StringField(label, **opts)

    def options(self) -> list[tuple[str, Any]]:
        """``(value, label)`` of the choices, now (labels follow language and data)."""
        if self.choices is None:
            return []
        if isinstance(self.choices, Lookup):
            return list(self.choices.choices())
        return list(self.choices())

    def to_form(self, value: Any) -> Any:
        """A stored value as the form holds it (what the user sees and may retype)."""
        if self.kind is Kind.FLAG:
            return bool(value)
        if self.kind is Kind.CHOICES:
            return [str(v) for v in value or ()]
        if value is None:
            return ""
        if isinstance(value, crmkit.Money):
            return str(value.amount)  # crmkit takes "1999.00" back; the currency stays
        if self.kind is Kind.RATE and isinstance(value, Decimal):
            return percent(value)
        if isinstance(value, enum.Enum):
            return value.value
        return str(value)

    def show(self, value: Any) -> str:
        """A stored value as a cell shows it."""
        if self.kind is Kind.RATE and isinstance(value, Decimal):
            return percent(value)
        if self.kind in {Kind.CHOICE, Kind.CHOICES} and self.choices is not None:
            values = [value] if self.kind is Kind.CHOICE else list(value or ())
            if isinstance(self.choices, Lookup):
                return ", ".join(self.choices.label(v) for v in values if v)
            names = dict(self.choices())
            other = self.name_of or str
            return ", ".join(str(names[v]) if v in names else other(v) for v in values if v)
        return show(value)


def text(name: str, **options: Any) -> FormField:
    return FormField(name, Kind.TEXT, **options)


def long_text(name: str, **options: Any) -> FormField:
    return FormField(name, Kind.LONG_TEXT, **options)


def money(name: str, **options: Any) -> FormField:
    """An amount: typed as ``1999.00`` (``¥1,999`` works too), shown as ``¥1,999.00``."""
    options.setdefault("description", _l("e.g. 1999.00"))
    return FormField(name, Kind.MONEY, **options)


def rate(name: str, **options: Any) -> FormField:
    """A rate: typed ``13%`` or ``0.13``, shown ``13%``."""
    options.setdefault("description", _l("e.g. 13%"))
    return FormField(name, Kind.RATE, **options)


def number(name: str, **options: Any) -> FormField:
    return FormField(name, Kind.NUMBER, **options)


def flag(name: str, **options: Any) -> FormField:
    return FormField(name, Kind.FLAG, **options)


def choice(name: str, choices: Choices, **options: Any) -> FormField:
    """One of ``choices`` (a :class:`Lookup`, or a callable of ``(value, label)`` pairs)."""
    return FormField(name, Kind.CHOICE, choices, **options)


def choices(name: str, choices: Choices, **options: Any) -> FormField:
    """Any number of ``choices``, as a multiple select."""
    return FormField(name, Kind.CHOICES, choices, **options)


def yes_no() -> list[tuple[str, Any]]:
    """Filter options of a yes/no field (crmkit reads ``true``/``false``)."""
    return [("true", _l("Yes")), ("false", _l("No"))]


class EntityModelView(ServiceModelView):
    """A kernel entity's screens from a declaration. Subclasses set:

    - :attr:`service_name` (``"products"``) and :attr:`permission` (``"product"``: the
      screen needs ``product.read``; create, edit and delete show exactly when the user
      holds ``product.create``, ``.write``, ``.delete``, and crmkit refuses them otherwise);
    - :attr:`list_fields`: the columns a user may choose, in order (attributes of the
      record, properties like ``margin`` included), and :attr:`default_columns`;
    - :attr:`form_fields`: the form, and how each field is shown;
    - :attr:`filter_fields`: the filters above the list, each a ``list()`` keyword (a form
      field's choices make it a select; a flag a yes/no select);
    - :attr:`field_labels`: labels that differ from the admin's ``FIELD_LABELS``;
    - ``searchable = True`` when the service's ``list`` takes ``q``.

    ``show_<field>(record)`` overrides one cell; :meth:`service_filters` maps URL filters
    onto other ``list()`` keywords (a category and its sub-categories …).
    """

    #: the permission prefix, the entity's spec name: ``product`` → ``product.read`` …
    permission: ClassVar[str]
    list_fields: ClassVar[tuple[str, ...]] = ()
    form_fields: ClassVar[tuple[FormField, ...]] = ()
    filter_fields: ClassVar[tuple[str, ...]] = ()
    field_labels: ClassVar[Mapping[str, Any]] = {}
    #: the fields on the detail page (default: every list field)
    detail_fields: ClassVar[tuple[str, ...]] = ()
    #: the search box's hint
    search_placeholder: ClassVar[Any] = _l("Name")
    # Flask-Admin names nothing after it here (every view gets its name and endpoint); the
    # kernel's classes are not part of crmkit's public face.
    model_class: ClassVar[type] = object
    details_template = "crm/entity_details.html"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.columns = {name: cls.label(name) for name in cls.list_fields}

    @classmethod
    def label(cls, name: str) -> Any:
        """A field's label: the view's own, the form field's, else the admin's catalogue."""
        if name in cls.field_labels:
            return cls.field_labels[name]
        for field in cls.form_fields:
            if field.name == name and field.label is not None:
                return field.label
        return FIELD_LABELS.get(name, name)

    def field(self, name: str) -> FormField | None:
        return next((f for f in self.form_fields if f.name == name), None)

    # -- what the user may do: crmkit's permissions, asked per request ---------------------
    def is_accessible(self) -> bool:
        return super().is_accessible() and context.can(f"{self.permission}.read")

    def _may(self, action: str) -> bool:
        # Flask-Admin reads these once while the app is set up, outside any request.
        return not has_request_context() or context.can(f"{self.permission}.{action}")

    @property
    def can_create(self) -> bool:
        return self._may("create")

    @property
    def can_edit(self) -> bool:
        return self._may("write")

    @property
    def can_delete(self) -> bool:
        return self._may("delete")

    # -- the list --------------------------------------------------------------------------
    def list_filters(self) -> list[ListFilter]:
        found: list[ListFilter] = []
        for name in self.filter_fields:
            field = self.field(name)
            if field is not None and field.kind is Kind.FLAG:
                found.append(ListFilter(name, self.label(name), yes_no))
            elif field is not None and field.choices is not None:
                found.append(ListFilter(name, self.label(name), field.options))
            else:
                found.append(ListFilter(name, self.label(name)))
        return found

    def service_filters(self, s: crmkit.Session, filters: Mapping[str, str]) -> dict[str, Any]:
        """The list's URL filters as keywords of the service's ``list``/``count``."""
        return dict(filters)

    def fetch(
        self, s: crmkit.Session, *, after: str | None, limit: int, **filters: Any
    ) -> crmkit.Page[Any]:
        return super().fetch(s, after=after, limit=limit, **self.service_filters(s, filters))

    def count(self, s: crmkit.Session, **filters: Any) -> int | None:
        return super().count(s, **self.service_filters(s, filters))

    def prepare_rows(self, s: crmkit.Session, models: Sequence[Any]) -> None:
        user_names(s)
        for field in self.form_fields:
            if isinstance(field.choices, Lookup):
                field.choices.records(s)

    def display(self, model: Any, name: str) -> str:
        custom = getattr(self, f"show_{name}", None)
        if custom is not None:
            return str(custom(model))
        field = self.field(name)
        value = getattr(model, name, None)
        return field.show(value) if field is not None else show(value)

    # -- the forms -------------------------------------------------------------------------
    def scaffold_form(self) -> type[Form]:
        fields: dict[str, Any] = {f.name: f.wtform(self.label(f.name)) for f in self.form_fields}
        fields["version"] = HiddenField()
        return type(f"{type(self).__name__}Form", (SecureForm,), fields)

    def form_data(self, model: Any) -> dict[str, Any]:
        data = {f.name: f.to_form(getattr(model, f.name, None)) for f in self.form_fields}
        data["version"] = model.version
        return data

    def changes(self, form: Form, model: Any | None) -> dict[str, Any]:
        fields = super().changes(form, model)
        if model is not None:  # a multiple select posts in option order: order is no change
            for field in self.form_fields:
                if field.kind is not Kind.CHOICES or field.name not in fields:
                    continue
                held = field.to_form(getattr(model, field.name, None))
                if sorted(fields[field.name] or []) == sorted(held):
                    fields.pop(field.name)
        return fields

    def create_form(self, obj: Any = None) -> Form:
        form = super().create_form(obj)
        self.fill_choices(form, None)
        return form

    def edit_form(self, obj: Any = None) -> Form:
        form = super().edit_form(obj)
        self.fill_choices(form, obj)
        return form

    def fill_choices(self, form: Form, model: Any | None) -> None:
        """The select boxes' options, now; an edited record's value stays offered even if
        it no longer would be (an inactive user still in a group)."""
        for field in self.form_fields:
            if field.choices is None:
                continue
            pairs = field.options()
            if model is not None:
                offered = {value for value, _label in pairs}
                held = field.to_form(getattr(model, field.name, None))
                for value in held if isinstance(held, list) else [held]:
                    if value and value not in offered:
                        one = [value] if field.kind is Kind.CHOICES else value
                        pairs.append((value, field.show(one)))
            form[field.name].choices = options(pairs, blank=field.kind is Kind.CHOICE)

    # -- the detail page -------------------------------------------------------------------
    def details_columns(self) -> list[str]:
        return list(self.detail_fields or self.list_fields)

    @expose("/details/")
    def details_view(self) -> ResponseReturnValue:
        """The record's fields and, where crmkit lets the user read it, its history."""
        id = request.args.get("id") or abort(404)
        return self.details_page(id)

    def details_page(self, id: str, **more: Any) -> ResponseReturnValue:
        """The detail page of record ``id``; ``more`` replaces template values of
        :meth:`details_context` (a refused form on the page, shown again with its errors)."""
        model = self.get_one(id)
        with context.work() as s:
            self.prepare_rows(s, [model])
            try:
                history = history_rows(s, s.audit.history(id))
            except crmkit.NotFound:
                history = []  # crmkit keeps this record's history from this user
            extra = {**self.details_context(s, model), **more}
        return self.render(
            self.details_template,
            model=model,
            details_columns=[(c, self.label(c)) for c in self.details_columns()],
            get_value=self.display,
            history=history,
            return_url=get_redirect_target() or url_for(".index_view"),
            **extra,
        )

    def details_context(self, s: crmkit.Session, model: Any) -> dict[str, Any]:
        """More template values for the detail page (read in the page's unit of work)."""
        return {}
