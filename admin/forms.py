"""Form plumbing shared by every screen: CSRF, crmkit errors onto fields, choices.

Validation is crmkit's job. The forms only carry text to the services and show what the
services say, so a rule is never written twice (once in a form, once in the domain).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import flash
from flask_admin.babel import Translations
from flask_admin.form import rules
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import BooleanField, HiddenField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

import crmkit


class SecureForm(FlaskForm):
    """Flask-Admin's form base with Flask-WTF's CSRF token.

    Flask-WTF's ``CSRFProtect`` checks every POST of the app; basing the admin forms on
    ``FlaskForm`` makes them carry that same token (Flask-Admin's own ``SecureForm`` keeps a
    second, different token in the session, which ``CSRFProtect`` would refuse).
    """

    class Meta(FlaskForm.Meta):
        _translations = Translations()

        def get_translations(self, form: Any) -> Any:
            return self._translations

    def __init__(self, formdata: Any = None, obj: Any = None, prefix: str = "", **kwargs: Any):
        self._obj = obj
        super().__init__(formdata=formdata, obj=obj, prefix=prefix, **kwargs)


def field_root(path: str) -> str:
    """The form field a crmkit error path belongs to: ``co_owner_ids[0]`` → ``co_owner_ids``."""
    return path.split(".", 1)[0].split("[", 1)[0]


def apply_errors(form: Any, error: crmkit.ValidationError) -> list[str]:
    """Put every field error of ``error`` on its form field, in the active language.

    Returns the errors no field of the form shows (custom fields, nested paths), described
    with their labels, so the caller can show them too: every error reaches the user.
    """
    unplaced: list[str] = []
    for e in error.errors:
        field = getattr(form, field_root(e.field), None)
        if field is not None and hasattr(field, "errors"):
            if not isinstance(field.errors, list):
                field.errors = list(field.errors)
            field.errors.append(e.message())
        else:
            unplaced.append(e.describe())
    form._errors = None  # WTForms caches form.errors; it must see the new ones
    return unplaced


def flash_crm_error(exc: crmkit.CRMError) -> None:
    """Show a crmkit error (already in the request's language) as a flash message."""
    flash(str(exc), "error")


def refusal(exc: crmkit.CRMError, name: str = "") -> str:
    """crmkit's message for a refused write, in the active language, naming the record by
    ``name`` where crmkit's message names it by id (a stale version, a record not found):
    people read names, not keys. Without a name the id is left out."""
    text = exc.message() if hasattr(exc, "message") else str(exc)
    id = getattr(exc, "id", None)
    if isinstance(id, str) and id and id in text:
        text = text.replace(f" {id} ", f" “{name}” " if name else " ").replace(id, name)
    return " ".join(text.split())


def show_validation(form: Any, exc: crmkit.ValidationError) -> None:
    """Field errors on the form, plus a summary naming every wrong field."""
    unplaced = apply_errors(form, exc)
    flash(exc.message(), "error")
    for text in unplaced:
        flash(text, "error")


def options(pairs: Iterable[tuple[str, Any]], *, blank: bool = False) -> list[SelectChoice]:
    """Select options from ``(value, label)`` pairs (labels may be lazy translations);
    ``blank`` adds an empty first option for an optional field."""
    items = [SelectChoice(value, label) for value, label in pairs]
    return [SelectChoice("", "—"), *items] if blank else items


class Required(InputRequired):
    """Marks a field crmkit requires, so Flask-Admin draws its red * beside the label.

    It checks nothing: an empty field still goes to crmkit, which answers with its own
    message, in the chosen language, together with every other wrong field. For the same
    reason the input gets ``aria-required`` but not the ``required`` attribute: a browser
    would stop at the first empty field with a tooltip in its own language.
    """

    def __init__(self) -> None:
        super().__init__()
        # No ``required`` flag: WTForms would render the attribute from it.
        self.field_flags: dict[str, Any] = {}

    def __call__(self, form: Any, field: Any) -> None:
        return None


def mark_required(form: Any, names: Iterable[str]) -> None:
    """Mark the fields ``names`` of a form instance as required (see :class:`Required`);
    names the form does not show, hidden fields and checkboxes are left alone."""
    for name in names:
        field = form._fields.get(name)
        if field is None or isinstance(field, HiddenField | BooleanField):
            continue
        if not any(isinstance(v, Required) for v in field.validators):
            field.validators = [*field.validators, Required()]
        field.render_kw = {**(field.render_kw or {}), "aria-required": "true"}


class Section(rules.NestedRule):
    """Flask-Admin form rule: some fields in a ``<fieldset>`` under a ``<legend>``."""

    def __init__(self, key: str, legend: Any, fields: Iterable[str]) -> None:
        super().__init__(list(fields))
        self.key = key
        self.legend = legend

    def __call__(self, form: Any, form_opts: Any = None, field_args: Any = None) -> str:
        inner = super().__call__(form, form_opts, field_args)
        return Markup(
            f'<fieldset class="form-section" id="section-{escape(self.key)}">'
            f'<legend class="h6">{escape(str(self.legend))}</legend>{inner}</fieldset>'
        )


class RenderedByHiddenTag(rules.BaseRule):
    """Flask-Admin form rule for the hidden fields (CSRF token, version): the form's
    ``hidden_tag()`` renders them already; naming them here keeps Flask-Admin from dropping
    fields a rule set does not mention."""

    def __init__(self, *names: str) -> None:
        super().__init__()
        self.names = list(names)

    @property
    def visible_fields(self) -> list[str]:
        return self.names

    def __call__(self, form: Any, form_opts: Any = None, field_args: Any = None) -> str:
        return ""
