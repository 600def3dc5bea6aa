"""Duplicate review (admins and managers): clusters, side-by-side compare, merge, unmerge.

Everything goes through crmkit's services: ``session.dedup.scan`` finds the clusters (a
manager's only those wholly in their team's scope), ``mark_distinct`` remembers "not a
duplicate", ``customers.merge`` / ``contacts.merge`` preview (``dry_run``) and merge with
the reviewer's field choices, ``session.dedup.merges`` lists past merges and ``unmerge``
undoes one. crmkit checks the permission on every call; the screen only hides itself from
the roles that would be refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

import crmkit
from admin import context
from admin.base import user_name, user_names
from admin.i18n import FIELD_LABELS, current_lang, local_time, show
from admin.views.customers import customer_names
from crmkit import display

KINDS: dict[str, Any] = {"customers": _l("Customers"), "contacts": _l("Contacts")}
#: ``merge.kind`` in crmkit's audit entries → the screen's kind
KIND_OF_MERGE = {"customer": "customers", "contact": "contacts"}
#: the fields compared, in order (a row appears when any record has a value)
FIELDS: dict[str, tuple[str, ...]] = {
    "customers": (
        "name", "kind", "category", "channel_type", "owner_id", "co_owner_ids", "region",
        "address", "mobile", "phone", "email", "uscc", "source", "industry", "tags",
        "credit_rating", "settlement", "credit_limit", "gender", "birthday", "id_number",
        "remarks", "created_at",
    ),
    "contacts": (
        "name", "customer_id", "title", "gender", "mobile", "phone", "email", "birthday",
        "is_primary", "remarks", "created_at",
    ),
}  # fmt: skip
#: fields crmkit unites on a merge (no choosing) or never takes from a loser (no choosing)
UNITED = frozenset({"tags", "co_owner_ids"})
FIXED = frozenset({"created_at"})
#: the key fields shown for each member in the cluster list
SUMMARY: dict[str, tuple[str, ...]] = {
    "customers": ("region", "mobile", "email", "uscc", "created_at"),
    "contacts": ("customer_id", "title", "mobile", "email", "created_at"),
}
CLUSTER_LIMIT = 100


def _why(cluster: Any, id: str, by_id: Mapping[str, Any]) -> str:
    """Why a member is in its cluster, in words: its strongest link, with whom, the score
    and the reasons (its other links are listed under the cluster)."""
    links = cluster.links(id)
    if not links:
        return ""
    best = links[0]
    other = best.right if best.left == id else best.left
    name = by_id[other].name if other in by_id else ""
    reasons = display.reasons(best.reasons, current_lang())
    return f"↔ {name} {display.score(best.score)} {reasons}".strip()


CHOICE = "choice-"  # form fields ``choice-<field>`` name the record whose value survives


@attrs.frozen
class Row:
    """One compared field: each record's value, whether they differ, who may be chosen."""

    field: str
    label: str
    values: tuple[str, ...]
    differs: bool
    choosable: bool
    united: bool


@attrs.frozen
class Selection:
    """What the reviewer picked on the compare page."""

    members: tuple[str, ...]  # every record shown, in column order
    included: tuple[str, ...]  # those taking part in the merge
    winner: str
    choices: Mapping[str, str]  # field → id of the record whose value survives


class DuplicateView(BaseView):
    """查重合并: review what crmkit thinks is the same customer or contact twice."""

    def is_accessible(self) -> bool:
        return context.has_role(crmkit.Role.ADMIN, crmkit.Role.MANAGER)

    # -- the cluster list ----------------------------------------------------------------
    @expose("/")
    def index(self) -> ResponseReturnValue:
        kind = _kind(request.args.get("kind", "customers"))
        clusters: list[dict[str, Any]] = []
        stale = False
        try:
            with context.work() as s:
                # An index built by an earlier crmkit cannot be scanned: say so, and offer
                # the rebuild to those who may run it, instead of an error.
                stale = s.dedup.needs_rebuild(kind)
                found = [] if stale else s.dedup.scan(kind, limit=CLUSTER_LIMIT, records=True)
                names = user_names(s)
                parents = _parents(
                    s, kind, [m.record for c in found for m in c.members if m.record]
                )
                for cluster in found:
                    by_id = {m.id: m for m in cluster.members}
                    clusters.append(
                        {
                            "ids": list(cluster.ids),
                            "members": [
                                {
                                    "id": m.id,
                                    "name": m.name,
                                    "owner": m.owner_name or "",
                                    "cells": [
                                        _value(m.record, f, names, parents) if m.record else ""
                                        for f in SUMMARY[kind]
                                    ],
                                    "why": _why(cluster, m.id, by_id),
                                }
                                for m in cluster.members
                            ],
                            "floor": display.score(cluster.floor),
                            "pairs": [
                                {
                                    "left": p.left,
                                    "right": p.right,
                                    "left_name": by_id[p.left].name if p.left in by_id else "",
                                    "right_name": by_id[p.right].name if p.right in by_id else "",
                                    "score": f"{p.score:.0%}",
                                    "reasons": display.reasons(p.reasons, current_lang()),
                                }
                                for p in cluster.pairs
                            ],
                        }
                    )
        except crmkit.CRMError as exc:
            flash(str(exc), "error")
        return self.render(
            "crm/duplicates.html",
            kind=kind,
            kinds=KINDS,
            tab=kind,
            clusters=clusters,
            stale=stale,
            may_rebuild=context.has_role(crmkit.Role.ADMIN),
            summary=[(f, FIELD_LABELS[f]) for f in SUMMARY[kind]],
            limited=len(clusters) >= CLUSTER_LIMIT,
            limit=CLUSTER_LIMIT,
        )

    @expose("/rebuild/", methods=("POST",))
    def rebuild(self) -> ResponseReturnValue:
        """Re-index every record of the kind (admins): after upgrading crmkit."""
        kind = _kind(request.form.get("kind", ""))
        try:
            with context.work() as s:
                count = s.dedup.rebuild(kind)
        except crmkit.CRMError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Re-indexed %(n)s records for duplicate checks.", n=count), "success")
        return redirect(url_for(".index", kind=kind))

    @expose("/distinct/", methods=("POST",))
    def distinct(self) -> ResponseReturnValue:
        """Not a duplicate: crmkit remembers the pair and never proposes it again."""
        kind = _kind(request.form.get("kind", ""))
        left, right = request.form.get("left", ""), request.form.get("right", "")
        try:
            with context.work() as s:
                s.dedup.mark_distinct(kind, left, right)
        except crmkit.ValidationError as exc:
            flash(exc.message(), "error")
        except crmkit.CRMError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Marked as not a duplicate: they will not be proposed again."), "success")
        return redirect(url_for(".index", kind=kind))

    # -- compare, preview, merge ---------------------------------------------------------
    @expose("/compare/")
    def compare(self) -> ResponseReturnValue:
        """The records side by side, with the default choices crmkit would make."""
        kind = _kind(request.args.get("kind", "customers"))
        ids = list(dict.fromkeys(i for i in request.args.getlist("ids") if i))
        if len(ids) < 2:
            flash(_("Choose at least two records to compare."), "error")
            return redirect(url_for(".index", kind=kind))
        return self._compare_page(kind, ids, None, None)

    @expose("/merge/", methods=("POST",))
    def merge(self) -> ResponseReturnValue:
        """Preview (crmkit's dry run, nothing written) or merge, with the choices made."""
        kind = _kind(request.form.get("kind", ""))
        members = list(dict.fromkeys(i for i in request.form.getlist("members") if i))
        included = [i for i in dict.fromkeys(request.form.getlist("ids")) if i in members]
        winner = request.form.get("winner", "")
        if winner not in members or len(members) < 2:
            abort(400)
        if winner not in included:
            included.insert(0, winner)
        choices = {
            key.removeprefix(CHOICE): value
            for key, value in request.form.items()
            if key.startswith(CHOICE) and value in members
        }
        selection = Selection(tuple(members), tuple(included), winner, choices)
        losers = [i for i in included if i != winner]
        dry_run = request.form.get("action") != "merge"
        if not losers:
            flash(_("Choose at least one record to merge into the one kept."), "error")
            return self._compare_page(kind, members, selection, None)
        try:
            with context.work() as s:
                service = context.service(s, kind)
                result = service.merge(winner, losers, choices=choices, dry_run=dry_run)
        except crmkit.ValidationError as exc:
            flash(exc.message(), "error")
            for error in exc.errors:
                flash(error.describe(), "error")
            return self._compare_page(kind, members, selection, None)
        except crmkit.NotFound as exc:
            flash(str(exc), "error")
            return redirect(url_for(".index", kind=kind))
        except crmkit.CRMError as exc:
            flash(str(exc), "error")
            return self._compare_page(kind, members, selection, None)
        if dry_run:
            return self._compare_page(kind, members, selection, result)
        flash(
            _(
                "%(count)s record(s) merged into “%(name)s”. You can undo it below.",
                count=len(result.loser_ids),
                name=result.winner.name,
            ),
            "success",
        )
        return redirect(url_for(".history"))

    def _compare_page(
        self,
        kind: str,
        ids: Sequence[str],
        selection: Selection | None,
        preview: crmkit.MergeResult | None,
    ) -> ResponseReturnValue:
        try:
            with context.work() as s:
                service = context.service(s, kind)
                records = [service.get(i) for i in ids]
                names = user_names(s)
                merged = [preview.winner] if preview is not None else []
                parents = _parents(s, kind, [*records, *merged])
                rows = _rows(kind, records, names, parents)
                preview_rows = (
                    _preview_rows(kind, preview, names, parents) if preview is not None else []
                )
        except crmkit.CRMError as exc:
            flash(str(exc), "error")
            return redirect(url_for(".index", kind=kind))
        if selection is None:
            selection = _default_selection(kind, records)
        moved: dict[str, int] = {}
        for m in preview.moved if preview is not None else ():
            moved[m.entity_type] = moved.get(m.entity_type, 0) + 1
        return self.render(
            "crm/duplicates_compare.html",
            kind=kind,
            kinds=KINDS,
            tab=kind,
            records=records,
            rows=rows,
            selection=selection,
            preview=preview,
            preview_rows=preview_rows,
            moved_contacts=moved.get("contact", 0),
            moved_other=sum(n for t, n in moved.items() if t != "contact"),
            detail_endpoint=f"{kind}.details_view",
        )

    # -- merge history and unmerge -------------------------------------------------------
    @expose("/history/")
    def history(self) -> ResponseReturnValue:
        """Past merges, newest first, each with whether it was undone and an undo button."""
        after = request.args.get("after") or None
        rows: list[dict[str, Any]] = []
        next_after: str | None = None
        try:
            with context.work() as s:
                page = s.dedup.merges(after=after, limit=50)
                user_names(s)
                for entry in page.items:
                    row = _merge_row(s, entry)
                    if row is not None:
                        rows.append(row)
                next_after = page.next_after
        except crmkit.CRMError as exc:
            flash(str(exc), "error")
        return self.render(
            "crm/duplicates_history.html",
            kinds=KINDS,
            tab="history",
            rows=rows,
            next_url=url_for(".history", after=next_after) if next_after else None,
            first_url=url_for(".history") if after else None,
        )

    @expose("/unmerge/", methods=("POST",))
    def unmerge(self) -> ResponseReturnValue:
        kind = _kind(request.form.get("kind", ""))
        try:
            with context.work() as s:
                result = context.service(s, kind).unmerge(request.form.get("merge_id", ""))
        except crmkit.ValidationError as exc:
            flash(exc.message(), "error")
        except crmkit.CRMError as exc:
            flash(str(exc), "error")
        else:
            flash(
                _(
                    "Merge undone: %(count)s record(s) are back beside “%(name)s”.",
                    count=len(result.loser_ids),
                    name=result.winner.name,
                ),
                "success",
            )
        return redirect(url_for(".history"))


# -- helpers -------------------------------------------------------------------------------
def _kind(value: str) -> str:
    if value not in KINDS:
        abort(404)
    return value


def _parents(s: crmkit.Session, kind: str, records: Sequence[Any]) -> dict[str, str]:
    """Names of the customers the contacts belong to (empty for customers)."""
    if kind != "contacts":
        return {}
    return customer_names(s, [r.customer_id for r in records])


def _raw(record: Any, field: str) -> Any:
    if field.startswith("custom."):
        return (getattr(record, "custom", None) or {}).get(field.removeprefix("custom."))
    return getattr(record, field, None)


def _value(record: Any, field: str, names: Mapping[str, str], parents: Mapping[str, str]) -> str:
    """A field of a record as text (ids shown as the names they stand for)."""
    if field == "owner_id":
        return names.get(record.owner_id, record.owner_id) if record.owner_id else ""
    if field == "co_owner_ids":
        return ", ".join(names.get(u, u) for u in record.co_owner_ids)
    if field == "customer_id":
        return parents.get(record.customer_id, record.customer_id)
    return show(_raw(record, field))


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == () or value == {}


def _fields(kind: str, records: Sequence[Any]) -> list[str]:
    """The fields worth a row: those any record fills (name always), custom fields last."""
    shown = [f for f in FIELDS[kind] if f == "name" or any(not _empty(_raw(r, f)) for r in records)]
    custom = sorted({k for r in records for k in (getattr(r, "custom", None) or {})})
    return shown + [f"custom.{k}" for k in custom]


def _label(field: str) -> str:
    if field.startswith("custom."):
        return field.removeprefix("custom.")
    return str(FIELD_LABELS.get(field, field))


def _rows(
    kind: str, records: Sequence[Any], names: Mapping[str, str], parents: Mapping[str, str]
) -> list[Row]:
    rows: list[Row] = []
    for field in _fields(kind, records):
        values = tuple(_value(r, field, names, parents) for r in records)
        differs = len(set(values)) > 1
        united = field in UNITED
        rows.append(
            Row(
                field=field,
                label=_label(field),
                values=values,
                differs=differs,
                choosable=differs and not united and field not in FIXED,
                united=united,
            )
        )
    return rows


def _default_selection(kind: str, records: Sequence[Any]) -> Selection:
    """crmkit's own default: the oldest record wins; each empty field of it is filled from
    the first other record that has a value."""
    ids = tuple(r.id for r in records)
    winner = records[0]
    choices: dict[str, str] = {}
    for field in _fields(kind, records):
        source = winner
        if _empty(_raw(winner, field)):
            source = next((r for r in records[1:] if not _empty(_raw(r, field))), winner)
        choices[field] = source.id
    return Selection(ids, ids, winner.id, choices)


def _preview_rows(
    kind: str,
    result: crmkit.MergeResult,
    names: Mapping[str, str],
    parents: Mapping[str, str],
) -> list[tuple[str, str, bool]]:
    """The surviving record: (label, value, changed by the merge) per field."""
    winner = result.winner
    changed = set(result.changes)
    out: list[tuple[str, str, bool]] = []
    for field in _fields(kind, [winner]):
        base = field.split(".", 1)[0]
        out.append((_label(field), _value(winner, field, names, parents), base in changed))
    return out


def _merge_row(s: crmkit.Session, entry: crmkit.AuditEntry) -> dict[str, Any] | None:
    """A past merge as the history shows it; None when the winner is outside the user's
    scope (crmkit refuses its history)."""
    changes = entry.changes
    kind = KIND_OF_MERGE.get(str((changes.get("kind") or (None, ""))[1]), "")
    winner = (changes.get("winner") or (None, None))[1] or {}
    losers = (changes.get("losers") or ([], None))[0] or []
    winner_id = str(winner.get("id", ""))
    if not kind or not winner_id:
        return None
    try:
        history = s.audit.history(winner_id)
    except crmkit.NotFound:
        return None
    undone = any(
        e.action is crmkit.AuditAction.UNMERGE and e.note == f"merge {entry.entity_id}"
        for e in history
    )
    return {
        "merge_id": entry.entity_id,
        "kind": kind,
        "at": local_time(entry.at),
        "actor": user_name(entry.actor_id),
        "winner_id": winner_id,
        "winner": str(winner.get("name", "")),
        "losers": [str(x.get("name", "")) for x in losers],
        "undone": undone,
    }
