"""The generic screen: a Flask-Admin model view whose every read and write is a crmkit call.

Flask-Admin's SQLAlchemy ``ModelView`` would build rows without crmkit, skip validation,
audit and data scope, and count the whole table on every list. :class:`ServiceModelView`
implements Flask-Admin's ``BaseModelView`` contract (``get_list``, ``get_one``,
``create_model``, ``update_model``, ``delete_model``) on a crmkit session service instead:

- each call runs in ``crm.session(actor=<logged-in user>)``: scope, permissions, audit;
- lists walk crmkit keyset pages (``after=`` / ``Page.next_after``) and show a capped count,
  so the thousandth page costs what the first does; a count that could read more rows than
  the cap (filters, a salesperson's scope) arrives in its own request after the page;
- a :class:`crmkit.ValidationError` puts every field error on its form field;
- edit forms carry the ``version`` read, and a stale save shows crmkit's
  :class:`crmkit.ConcurrencyError` message instead of overwriting.

A new screen is a subclass naming its service, columns, filters and form, plus two small
converters (:meth:`ServiceModelView.form_data` and :meth:`ServiceModelView.changes`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import attrs
from flask import abort, flash, g, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import expose
from flask_admin.model import BaseModelView
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from jinja2 import pass_context
from wtforms import Form

import crmkit
from admin import context, prefs
from admin.forms import SecureForm, mark_required, show_validation
from admin.i18n import show


@attrs.frozen
class ListFilter:
    """A filter above a list: a URL argument passed to the service's ``list`` as a keyword.

    ``choices`` (called per request, so labels follow the language and data) makes it a
    select; without it the filter is a text box.
    """

    name: str
    label: Any
    choices: Callable[[], Sequence[tuple[str, str]]] | None = None
    placeholder: str = ""


@attrs.frozen
class ListRow:
    """One table row as the template needs it (``name``: how the delete question names it)."""

    id: str
    cells: tuple[str, ...]
    model: Any
    name: str = ""


class ServiceModelView(BaseModelView):
    """Base of every crmkit-backed screen. Subclasses set the class attributes below."""

    #: the session service behind the screen: ``customers``, ``contacts``, ``users`` …
    service_name: ClassVar[str]
    #: the crmkit class it lists (Flask-Admin names endpoints and menus after it)
    model_class: ClassVar[type]
    #: roles that see the screen (``None``: everyone logged in)
    roles: ClassVar[frozenset[crmkit.Role] | None] = None
    #: every column a user may choose, in order, with labels
    columns: ClassVar[Mapping[str, Any]] = {}
    #: the columns shown until the user chooses
    default_columns: ClassVar[tuple[str, ...]] = ()
    #: whether the service's ``list`` takes ``q``
    searchable: ClassVar[bool] = False
    #: the search box's hint
    search_placeholder: ClassVar[Any] = _l("Name, contact or phone")
    #: whether the service offers ``count(cap=…)``
    countable: ClassVar[bool] = True
    #: counts stop here: "10,000+" instead of a full COUNT over a big table
    count_cap: ClassVar[int] = 10_000

    list_template = "crm/list.html"
    details_template = "crm/details.html"
    create_template = "crm/create.html"
    edit_template = "crm/edit.html"
    form_base_class = SecureForm
    page_size = 50
    can_set_page_size = False
    can_view_details = True
    can_export = False  # crmkit's own export (scoped, formula-safe) replaces Flask-Admin's
    column_display_actions = True

    def __init__(self, name: str, endpoint: str, category: str | None = None) -> None:
        self._required: frozenset[str] | None = None
        self.column_list = list(self.columns)
        self.column_labels = dict(self.columns)
        self.column_details_list = self.details_columns()
        super().__init__(self.model_class, name=name, category=category, endpoint=endpoint)

    # -- access --------------------------------------------------------------------------
    def is_accessible(self) -> bool:
        """Logged in (the login guard ran) and, if the screen is role-bound, in a role."""
        user: crmkit.User | None = g.get("user")
        return user is not None and (self.roles is None or user.role in self.roles)

    # -- hooks for subclasses ------------------------------------------------------------
    def list_filters(self) -> list[ListFilter]:
        """Filters offered above the list."""
        return []

    def details_columns(self) -> list[str]:
        """Fields on the detail page."""
        return list(self.columns)

    def fetch(
        self, s: crmkit.Session, *, after: str | None, limit: int, **filters: Any
    ) -> crmkit.Page[Any]:
        """One keyset page from the service (override when ``list`` differs)."""
        page: crmkit.Page[Any] = context.service(s, self.service_name).list(
            after=after, limit=limit, **filters
        )
        return page

    def count(self, s: crmkit.Session, **filters: Any) -> int | None:
        """How many match, capped at :attr:`count_cap` (``None`` if the service can't say)."""
        if not self.countable:
            return None
        n: int = context.service(s, self.service_name).count(cap=self.count_cap, **filters)
        return n

    def form_data(self, model: Any) -> dict[str, Any]:
        """The edit form's initial values for ``model`` (text, ids, ``version``)."""
        return {"version": getattr(model, "version", None)}

    def changes(self, form: Form, model: Any | None) -> dict[str, Any]:
        """The keyword fields for the service's ``create`` (``model`` is None) or
        ``update`` (only what the user changed, so the audit shows exactly that)."""
        data = {k: v for k, v in form.data.items() if k not in {"csrf_token", "version"}}
        if model is None:
            return {k: v for k, v in data.items() if v not in (None, "", [])}
        before = self.form_data(model)
        return {k: (v if v != "" else None) for k, v in data.items() if v != before.get(k)}

    def required_fields(self) -> frozenset[str]:
        """The form fields marked required (a red *): what the service says its records
        cannot be without (``service.required_fields``), read once."""
        if self._required is None:
            with context.work() as s:
                declared = getattr(context.service(s, self.service_name), "required_fields", ())
            self._required = frozenset(declared)
        return self._required

    def record_name(self, model: Any) -> str:
        """How a question about one record names it (the delete confirmation)."""
        return str(getattr(model, "name", None) or self.get_pk_value(model))

    def display(self, model: Any, name: str) -> str:
        """A cell's text; ``show_<name>(model)`` on the subclass wins over the generic."""
        custom = getattr(self, f"show_{name}", None)
        if custom is not None:
            return str(custom(model))
        return show(getattr(model, name, None))

    def prepare_rows(self, s: crmkit.Session, models: Sequence[Any]) -> None:
        """Load what :meth:`display` needs for a page of models (names of owners …)."""
        g.user_names = user_names(s)

    # -- Flask-Admin contract ------------------------------------------------------------
    def get_pk_value(self, model: Any) -> str:
        return str(model.id)

    def scaffold_list_columns(self) -> list[str]:
        return list(self.columns)

    def scaffold_sortable_columns(self) -> dict[str, str]:
        return {}  # keyset order only: an arbitrary sort would need OFFSET paging

    def scaffold_filters(self, name: Any) -> None:
        return None

    def init_search(self) -> bool:
        return self.searchable

    def scaffold_form(self) -> type[Form]:
        raise NotImplementedError(f"{type(self).__name__} must set form")

    def scaffold_list_form(self, widget: Any = None, validators: Any = None) -> type[Form]:
        raise NotImplementedError("inline list editing is not offered")

    def get_list(
        self,
        page: int | None,
        sort_field: Any,
        sort_desc: bool,
        search: str | None,
        filters: Any,
        page_size: int | None = None,
    ) -> tuple[int | None, list[Any]]:
        """Flask-Admin's numbered page, found by walking keyset pages.

        The screens use :meth:`index_view`'s ``after`` cursor and never ask for page N; this
        exists for Flask-Admin code paths that do, and costs N small keyset reads.
        """
        limit = page_size or self.page_size
        kwargs: dict[str, Any] = dict(filters or {})
        if search and self.searchable:
            kwargs["q"] = search
        after: str | None = None
        with context.work() as s:
            for _i in range(page or 0):
                skipped = self.fetch(s, after=after, limit=limit, **kwargs)
                if skipped.next_after is None:
                    return self.count(s, **kwargs), []
                after = skipped.next_after
            found = self.fetch(s, after=after, limit=limit, **kwargs)
            return self.count(s, **kwargs), list(found.items)

    def get_one(self, id: str) -> Any:
        """The record, or a 404 when crmkit says it is absent or outside the user's scope."""
        try:
            with context.work() as s:
                model = context.service(s, self.service_name).get(id)
                self.prepare_rows(s, [model])
                return model
        except crmkit.NotFound:
            abort(404)

    def guard(self, write: Callable[[crmkit.Session], Any]) -> Callable[[crmkit.Session], Any]:
        """Wrap a form's write (a screen that wants more of a failure than the field errors
        overrides this)."""
        return write

    def create_model(self, form: Form) -> Any:
        fields = self.changes(form, None)
        service = self.service_name
        ok, model = save(form, self.guard(lambda s: context.service(s, service).create(**fields)))
        return model if ok else False

    def update_model(self, form: Form, model: Any) -> bool:
        version = form.data.get("version")
        changes = self.changes(form, model)
        ok, _updated = save(
            form,
            self.guard(
                lambda s: context.service(s, self.service_name).update(
                    model.id, version=int(version) if version else None, **changes
                )
            ),
        )
        return ok

    def delete_model(self, model: Any) -> bool:
        try:
            with context.work() as s:
                context.service(s, self.service_name).delete(model.id)
        except crmkit.CRMError as exc:
            flash(str(exc), "error")
            return False
        return True

    def create_form(self, obj: Any = None) -> Form:
        """The create form, the fields crmkit requires marked."""
        form: Form = super().create_form(obj)
        mark_required(form, self.required_fields())
        return form

    def edit_form(self, obj: Any = None) -> Form:
        """The edit form filled from crmkit's value objects (not their attributes), the
        fields crmkit requires marked."""
        from flask_admin.helpers import get_form_data

        form: Form = self._edit_form_class(get_form_data(), data=self.form_data(obj))
        mark_required(form, self.required_fields())
        return form

    @pass_context
    def get_list_value(self, context_: Any, model: Any, name: str) -> str:
        return self.display(model, name)

    @pass_context
    def get_detail_value(self, context_: Any, model: Any, name: str) -> str:
        return self.display(model, name)

    # -- the keyset list -----------------------------------------------------------------
    def chosen_columns(self) -> list[str]:
        """The columns this user chose for this screen (saved), else the defaults."""
        saved = prefs.get(self.endpoint, "columns")
        chosen = [c for c in (saved or []) if c in self.columns]
        return chosen or list(self.default_columns or self.columns)

    def current_filters(self) -> dict[str, str]:
        """The active filters (and search) from the URL, as service keywords."""
        active = {
            f.name: request.args[f.name] for f in self.list_filters() if request.args.get(f.name)
        }
        if self.searchable and request.args.get("q", "").strip():
            active["q"] = request.args["q"].strip()
        return active

    @expose("/")
    def index_view(self) -> ResponseReturnValue:
        """The list: search, filters, chosen columns, saved queries, keyset pages."""
        after = request.args.get("after") or None
        filters = self.current_filters()
        columns = self.chosen_columns()
        rows: list[ListRow] = []
        next_after: str | None = None
        total: int | None = None
        count_url: str | None = None
        extra: dict[str, Any] = {}
        try:
            with context.work() as s:
                page = self.fetch(s, after=after, limit=self.page_size, **filters)
                if not self.countable:
                    pass
                elif after is None and page.next_after is None:
                    total = len(page.items)  # the whole list is on this page
                elif request.args.get("count") or self.count_is_cheap(s, filters):
                    total = self.count(s, **filters)
                else:
                    count_url = url_for(f"{self.endpoint}.count_view", **query_args(filters))
                self.prepare_rows(s, page.items)
                rows = [
                    ListRow(
                        self.get_pk_value(m),
                        tuple(self.display(m, c) for c in columns),
                        m,
                        self.record_name(m),
                    )
                    for m in page.items
                ]
                next_after = page.next_after
                extra = self.list_context(s, filters)
        except crmkit.ValidationError as exc:
            flash(exc.message(), "error")
        return self.render(
            self.list_template,
            rows=rows,
            columns=[(c, self.columns[c]) for c in columns],
            all_columns=list(self.columns.items()),
            filters=self.list_filters(),
            active=filters,
            total=total,
            capped=total is not None and total >= self.count_cap,
            count_url=count_url,
            count_now_url=self.list_url(filters, after=after, count=1) if count_url else None,
            next_url=self.list_url(filters, after=next_after) if next_after else None,
            first_url=self.list_url(filters) if after else None,
            saved_queries=prefs.get(self.endpoint, "queries") or {},
            delete_form=self.delete_form() if self.can_delete else None,
            return_url=request.full_path.rstrip("?"),
            q=request.args.get("q", ""),
            extra_list_links=self.extra_list_links(filters),
            create_args=self.create_args(filters),
            **extra,
        )

    def count_is_cheap(self, s: crmkit.Session, filters: Mapping[str, str]) -> bool:
        """Whether the capped count reads at most :attr:`count_cap` index entries.

        That holds when every row read is a row counted: no filter or search, and an actor
        who sees everything. Otherwise the count may read every candidate row (a province's
        customers to find the signed ones, a manager's team before the cap applies) — at 1M
        customers 100–500 ms, ten times the page — so the list asks for it separately
        (:meth:`count_view`) and shows it when it arrives.
        """
        scope = getattr(s.actor, "scope", None)
        return not filters and getattr(scope, "owner_ids", None) is None

    @expose("/count/")
    def count_view(self) -> ResponseReturnValue:
        """The capped count of the list's current filters, as JSON for ``list_count.js``."""
        text = ""
        try:
            with context.work() as s:
                total = self.count(s, **self.current_filters())
            if total is not None:
                text = f"{total:,}" + ("+" if total >= self.count_cap else "")
        except crmkit.ValidationError:
            pass  # the list itself reports the bad filter
        return jsonify({"text": text}), 200, {"Cache-Control": "no-store"}

    def list_context(self, s: crmkit.Session, filters: Mapping[str, str]) -> dict[str, Any]:
        """More template values for the list (e.g. the contacts' surname index)."""
        return {}

    def create_args(self, filters: Mapping[str, str]) -> dict[str, str]:
        """URL arguments for the list's "Create" link (e.g. the customer filtered on)."""
        return {}

    def extra_list_links(self, filters: Mapping[str, str]) -> list[tuple[str, str]]:
        """Links shown beside the list's buttons (label, url), e.g. exports."""
        return []

    def list_url(self, filters: Mapping[str, str], **extra: Any) -> str:
        return url_for(f"{self.endpoint}.index_view", **query_args(filters), **extra)

    @expose("/columns/", methods=("POST",))
    def choose_columns(self) -> ResponseReturnValue:
        """Remember the columns this user wants on this screen."""
        chosen = [c for c in request.form.getlist("columns") if c in self.columns]
        prefs.put(self.endpoint, "columns", chosen or None)
        return redirect(self._back())

    @expose("/queries/", methods=("POST",))
    def save_query(self) -> ResponseReturnValue:
        """Save the current search and filters under a name (or delete a saved one)."""
        name = request.form.get("name", "").strip()[:60]
        queries = dict(prefs.get(self.endpoint, "queries") or {})
        if request.form.get("delete"):
            queries.pop(name, None)
        elif name:
            allowed = {f.name for f in self.list_filters()} | {"q"}
            queries[name] = {k: v for k, v in request.form.items() if k in allowed and v.strip()}
            flash(_("Query “%(name)s” saved.", name=name), "success")
        prefs.put(self.endpoint, "queries", queries)
        return redirect(self._back())

    def _back(self) -> str:
        from admin.auth import safe_next

        target = request.form.get("url") or ""
        return (
            safe_next(target) if target.startswith("/") else url_for(f"{self.endpoint}.index_view")
        )


def query_args(filters: Mapping[str, str]) -> dict[str, Any]:
    """Filters as ``url_for`` keyword arguments (typed loosely: ``url_for`` also takes
    ``_external`` and the like among its keywords)."""
    return dict(filters)


def save(form: Form, write: Callable[[crmkit.Session], Any]) -> tuple[bool, Any]:
    """Run ``write`` in one unit of work as the user and report the outcome on the page.

    Returns ``(True, result)`` after a commit (crmkit's duplicate warnings shown), else
    ``(False, None)`` with the reason shown: every field error on its field, a stale version
    as crmkit's conflict message (the user's input stays on the form; nothing is written),
    any other refusal as a message.
    """
    try:
        with context.work() as s:
            result = write(s)
            warnings = list(getattr(s, "warnings", ()))
    except crmkit.ValidationError as exc:
        show_validation(form, exc)
        return False, None
    except crmkit.ConcurrencyError as exc:
        flash(exc.message(), "error")
        return False, None
    except crmkit.CRMError as exc:
        flash(str(exc), "error")
        return False, None
    for warning in warnings:
        flash(str(warning), "warning")
    return True, result


def all_pages(fetch: Callable[[str | None], crmkit.Page[Any]]) -> list[Any]:
    """Every item of a keyset-paged list, ``fetch(after)`` a page at a time (for the short
    lists a select box offers: users, categories)."""
    items: list[Any] = []
    after: str | None = None
    while True:
        page = fetch(after)
        items.extend(page.items)
        if page.next_after is None:
            return items
        after = page.next_after


def user_names(s: crmkit.Session) -> dict[str, str]:
    """Every user's id → name (cached per request: owners appear on many rows).

    The users read stay in ``g.all_users`` (the deleted included), so the owner filter of
    the same request need not read them again.
    """
    cached: dict[str, str] | None = g.get("user_names")
    if cached is not None:
        return cached
    users: list[crmkit.User] = all_pages(
        lambda after: s.users.list(after=after, limit=200, deleted="include")
    )
    names = {u.id: u.name for u in users}
    g.all_users = tuple(users)
    g.user_names = names
    return names


def user_name(user_id: str | None) -> str:
    """A user's name from the request's cache (the id if unknown)."""
    if not user_id:
        return ""
    names: dict[str, str] = g.get("user_names") or {}
    return names.get(user_id, user_id)
