"""Users (admins only): accounts, roles, reporting lines, passwords, unlocking."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import expose
from flask_admin.helpers import get_redirect_target
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, Form, HiddenField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice

import crmkit
from admin import context
from admin.base import ListFilter, ServiceModelView, save, user_name
from admin.forms import SecureForm, options
from admin.i18n import labels
from admin.views.customers import _all_users, enum_pairs, lazy_choices


class UserCreateForm(SecureForm):
    name = StringField(_l("Name"))
    login = StringField(
        _l("Login"), description=_l("Leave empty: derived from the name by the pinyin rule")
    )
    role = SelectField(_l("Role"), choices=lazy_choices(crmkit.Role), validate_choice=False)
    manager_id = SelectField(_l("Manager"), choices=[], validate_choice=False)
    mobile = StringField(_l("Mobile"))
    email = StringField(_l("Email"))
    password = PasswordField(_l("Password"))


class UserEditForm(SecureForm):
    name = StringField(_l("Name"))
    login = StringField(_l("Login"))
    role = SelectField(_l("Role"), choices=lazy_choices(crmkit.Role), validate_choice=False)
    manager_id = SelectField(_l("Manager"), choices=[], validate_choice=False)
    mobile = StringField(_l("Mobile"))
    email = StringField(_l("Email"))
    active = BooleanField(_l("Active"))
    new_password = PasswordField(_l("New password"), description=_l("Leave empty to keep"))
    version = HiddenField()


COLUMNS = labels(
    "login", "name", "role", "manager_id", "active", "locked", "mobile", "email", "created_at"
)


def manager_choices() -> list[SelectChoice]:
    """Admins and managers, who may have people reporting to them."""
    with context.work() as s:
        users = _all_users(s)
    managers = {crmkit.Role.ADMIN, crmkit.Role.MANAGER}
    return options(
        [(u.id, f"{u.name} ({u.login})") for u in users if u.role in managers], blank=True
    )


class UserView(ServiceModelView):
    """用户: logins come from the pinyin rule (张三 → zhangsan) unless given."""

    service_name = "users"
    model_class = crmkit.User
    roles = frozenset({crmkit.Role.ADMIN})
    columns = COLUMNS
    default_columns = ("login", "name", "role", "manager_id", "active", "locked")
    searchable = True
    countable = False  # the service has no count()
    details_template = "crm/user_details.html"

    def required_fields(self) -> frozenset[str]:
        """The service's declaration when it has one; until then the two fields crmkit's
        user service reports as ``required`` (a password may be set later)."""
        return super().required_fields() or frozenset({"name", "role"})

    def list_filters(self) -> list[ListFilter]:
        """By role (``s.users.list(role=…)``): the roles screen links here per role."""
        return [ListFilter("role", _l("Role"), lambda: enum_pairs(crmkit.Role))]

    def scaffold_form(self) -> type[Form]:
        return UserEditForm

    def get_create_form(self) -> type[Form]:
        return UserCreateForm

    def get_edit_form(self) -> type[Form]:
        return UserEditForm

    def create_form(self, obj: Any = None) -> Form:
        form = super().create_form(obj)
        form.manager_id.choices = manager_choices()
        return form

    def edit_form(self, obj: Any = None) -> Form:
        form = super().edit_form(obj)
        form.manager_id.choices = manager_choices()
        return form

    def show_manager_id(self, u: crmkit.User) -> str:
        return user_name(u.manager_id)

    def form_data(self, model: Any) -> dict[str, Any]:
        u: crmkit.User = model
        return {
            "name": u.name,
            "login": u.login,
            "role": u.role.value,
            "manager_id": u.manager_id or "",
            "mobile": u.mobile.national if u.mobile else "",
            "email": u.email.value if u.email else "",
            "active": u.active,
            "new_password": "",
            "version": u.version,
        }

    def create_model(self, form: Form) -> Any:
        fields = self.changes(form, None)
        password = fields.pop("password", None)
        ok, user = save(form, lambda s: s.users.create(password=password, **fields))
        return user if ok else False

    def update_model(self, form: Form, model: Any) -> bool:
        changes = self.changes(form, model)
        password = changes.pop("new_password", None)
        version = form.data.get("version")

        def write(s: crmkit.Session) -> None:  # one unit of work: both changes or neither
            if changes:
                s.users.update(model.id, version=int(version) if version else None, **changes)
            if password:
                s.users.set_password(model.id, password)

        ok, _ = save(form, write)
        return ok

    @expose("/unlock/", methods=("POST",))
    def unlock(self) -> ResponseReturnValue:
        """Lift a lockout (after ten failed logins in a day) and reset the counter."""
        user_id = request.form.get("id", "")
        try:
            with context.work() as s:
                user = s.users.unlock(user_id)
        except crmkit.CRMError as exc:
            flash(str(exc), "error")
        else:
            flash(_("%(name)s is unlocked.", name=user.name), "success")
        return redirect(get_redirect_target() or url_for(".index_view"))
