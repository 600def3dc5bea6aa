"""The ``crmkit`` command line.

Every command that changes data logs in as a user (``--login``; the password comes from
``CRMKIT_PASSWORD`` or a hidden prompt) and goes through the same workflows as the library,
so permissions, validation and audit apply here too. The two rescue commands, ``user
unlock`` and ``user reset-password``, are the exception: they exist for when nobody can log
in, so they act as crmkit's system actor (the audit log names it) on the store given by
``--db``; whoever can open the store's file or database can change it anyway.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

import crmkit
from crmkit import display
from crmkit.adapters.sqlite_backup import BackupError, backup_sqlite, restore_sqlite, sqlite_path
from crmkit.adapters.tabular import Format
from crmkit.workflows.worker import run_until_signalled

app = typer.Typer(
    help="crmkit: a CRM for Chinese SMEs, from the command line.", no_args_is_help=True
)
user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
customers_app = typer.Typer(help="Work with customers.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(customers_app, name="customers")
imports_app = typer.Typer(help="Import jobs: list, revert.", no_args_is_help=True)
dedup_app = typer.Typer(help="Find duplicates.", no_args_is_help=True)
app.add_typer(imports_app, name="imports")
app.add_typer(dedup_app, name="dedup")
approvals_app = typer.Typer(help="Approvals: your inbox, approve, reject.", no_args_is_help=True)
app.add_typer(approvals_app, name="approvals")


def console() -> Console:
    """Standard output, sized for the terminal at call time (nothing built at import)."""
    return Console()


def err() -> Console:
    return Console(stderr=True)


UrlOpt = Annotated[
    str, typer.Option("--db", envvar="CRMKIT_URL", help="Store URL, e.g. sqlite:///crm.db")
]
LoginOpt = Annotated[str, typer.Option("--login", envvar="CRMKIT_LOGIN", help="Act as this user")]
LangOpt = Annotated[str, typer.Option("--lang", envvar="CRMKIT_LANG", help="zh or en")]
DEFAULT_URL = "sqlite:///crm.db"


def _password(prompt: str = "Password / 密码") -> str:
    value = os.environ.get("CRMKIT_PASSWORD")
    if value:
        return value
    entered: str = typer.prompt(prompt, hide_input=True)
    return entered


def _login(crm: crmkit.CRM, login: str) -> crmkit.User:
    try:
        return crm.authenticate(login, _password())
    except crmkit.AuthenticationError as exc:
        err().print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


def _fail(exc: crmkit.CRMError) -> typer.Exit:
    if isinstance(exc, crmkit.ValidationError):
        for e in exc.errors:
            err().print(f"[red]{e.field}[/red]: {e.message()}  ({e.value!r})")
    else:
        err().print(f"[red]{exc}[/red]")
    return typer.Exit(1)


@contextlib.contextmanager
def _session(db: str, login: str | None) -> Iterator[crmkit.Session]:
    """A session on the store at ``db``: as ``login`` (asking the password), or as the
    system actor with None. A crmkit error ends the command with its message; the store
    is closed either way."""
    crm = crmkit.open(db)
    try:
        actor = crmkit.SYSTEM if login is None else _login(crm, login)
        with crm.session(actor=actor) as s:
            yield s
    except crmkit.CRMError as exc:
        raise _fail(exc) from exc
    finally:
        crm.close()


@app.callback()
def _root(lang: LangOpt = "zh") -> None:
    if lang in ("zh", "en"):
        crmkit.set_language(lang)  # type: ignore[arg-type]


@app.command()
def init(
    db: UrlOpt = DEFAULT_URL,
    admin_name: Annotated[str, typer.Option(help="The first admin's name")] = "管理员",
    admin_login: Annotated[str, typer.Option(help="The first admin's login")] = "admin",
) -> None:
    """Create (or migrate) a store and its first admin."""
    crm = crmkit.open(db)
    try:
        admin = crm.bootstrap_admin(
            name=admin_name, password=_password("Admin password"), login=admin_login
        )
    except crmkit.CRMError as exc:
        raise _fail(exc) from exc
    finally:
        crm.close()
    console().print(f"[green]initialised[/green] {db}; admin login: [bold]{admin.login}[/bold]")


@user_app.command("add")
def user_add(
    name: str,
    role: Annotated[str, typer.Option(help="admin, manager, sales, finance or service")],
    db: UrlOpt = DEFAULT_URL,
    login: LoginOpt = "admin",
    manager: Annotated[str | None, typer.Option(help="Manager's login")] = None,
    new_password: Annotated[
        str | None,
        typer.Option(
            "--new-password", envvar="CRMKIT_NEW_PASSWORD", help="The new user's password"
        ),
    ] = None,
) -> None:
    """Add a user; prints the login derived from the name (张三 → zhangsan)."""
    with _session(db, login) as s:
        manager_id = s.users.get_by_login(manager).id if manager else None
        user = s.users.create(
            name=name,
            role=role,
            manager_id=manager_id,
            password=new_password or _password("New user's password"),
        )
    console().print(f"[green]created[/green] {user.name}: login [bold]{user.login}[/bold]")


@user_app.command("list")
def user_list(db: UrlOpt = DEFAULT_URL, login: LoginOpt = "admin") -> None:
    """List users."""
    with _session(db, login) as s:
        table = Table("login", "name", "role", "active", "locked")
        after = None
        while True:
            page = s.users.list(after=after, limit=200)
            for u in page:
                table.add_row(u.login, u.name, u.role.value, str(u.active), str(u.locked))
            if page.next_after is None:
                break
            after = page.next_after
    console().print(table)


@user_app.command("unlock")
def user_unlock(login: str, db: UrlOpt = DEFAULT_URL) -> None:
    """Unlock LOGIN after too many failed logins (also a running timed lock), acting as the
    system actor, without logging in."""
    with _session(db, None) as s:
        user = s.users.unlock(s.users.get_by_login(login).id)
    console().print(f"[green]unlocked[/green] {user.name} ([bold]{user.login}[/bold])")


@user_app.command("reset-password")
def user_reset_password(
    login: str,
    db: UrlOpt = DEFAULT_URL,
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the new password from the first line of stdin"),
    ] = False,
) -> None:
    """Set LOGIN's password, acting as the system actor, without logging in (asks for the
    new password twice, or reads it from stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(
            "New password / 新密码",
            hide_input=True,
            confirmation_prompt="Repeat the new password / 再次输入新密码",
        )
    with _session(db, None) as s:
        user = s.users.get_by_login(login)
        s.users.set_password(user.id, password)
    console().print(f"[green]password set[/green] for {user.name} ([bold]{user.login}[/bold])")


@customers_app.command("list")
def customers_list(
    db: UrlOpt = DEFAULT_URL,
    login: LoginOpt = "admin",
    q: Annotated[str | None, typer.Option(help="Search name, contacts, phones")] = None,
    category: Annotated[str | None, typer.Option()] = None,
    region: Annotated[str | None, typer.Option(help="e.g. 山东省/青岛市")] = None,
    tag: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option()] = 50,
) -> None:
    """List the customers you may see (your data scope), newest first."""
    with _session(db, login) as s:
        filters = {
            k: v
            for k, v in {"q": q, "category": category, "region": region, "tag": tag}.items()
            if v
        }
        page = s.customers.list(limit=limit, **filters)
        owners = {u.id: u.name for u in s.users.list(limit=500)}
        table = Table("name", "category", "region", "mobile", "owner", "id")
        for c in page:
            table.add_row(
                c.name,
                c.category.label_zh,
                c.region.path if c.region else "",
                c.mobile.national if c.mobile else "",
                owners.get(c.owner_id or "", ""),
                c.id,
            )
    console().print(table)


@app.command("import")
def import_(
    source: Path,
    db: UrlOpt = DEFAULT_URL,
    login: LoginOpt = "admin",
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="HEADER=field, e.g. 企业全称=name; HEADER= ignores a column"),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report, write nothing")] = False,
    on_duplicate: Annotated[
        str, typer.Option(help="skip, update or create when a row matches a customer")
    ] = "skip",
    match_on: Annotated[
        str | None,
        typer.Option(help="match by uscc, name, mobile or email instead of the matcher"),
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="Write the per-row report here (.csv or .xlsx)")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Processes preparing rows ahead of the writes (default: CPUs - 1)"),
    ] = None,
) -> None:
    """Import customers from a CSV or XLSX file; every row gets one outcome.

    An interrupted import resumes when the same file is imported again.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from crmkit.workflows._pool import default_workers

    mapping = dict(item.split("=", 1) for item in (map_ or []) if "=" in item)
    crm = crmkit.open(db)
    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err(),
        transient=True,
    )
    try:
        actor = _login(crm, login)
        with progress, crm.session(actor=actor) as s:
            task = progress.add_task("rows", total=None)
            run = s.imports.preview if dry_run else s.imports.run
            result = run(
                source,
                mapping=mapping,
                on_duplicate=on_duplicate,
                match_on=match_on,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
                workers=default_workers() if workers is None else workers,
            )
    except crmkit.CRMError as exc:  # a TableError too: the file is not a table at all
        raise _fail(exc) from exc
    except ValueError as exc:  # an unknown --on-duplicate policy
        err().print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    finally:
        crm.close()
    table = Table("outcome", "rows")
    for label, n in result.labelled_counts().items():  # a dry run's: 将创建 …
        table.add_row(label, str(n))
    table.add_row("read", str(result.rows_read))
    console().print(table)
    if result.job_id:
        console().print(f"import job {result.job_id}")
    for warning in result.mapping.warnings:  # columns whose cells were not imported
        console().print(f"[yellow]{warning.message()}[/yellow]")
    if report is not None:
        fmt: Format = "xlsx" if report.suffix.lower() == ".xlsx" else "csv"
        type(s.imports).write_report(result, report, format=fmt)
        console().print(f"row report written to {report}")


@imports_app.command("list")
def imports_list(db: UrlOpt = DEFAULT_URL, login: LoginOpt = "admin") -> None:
    """Import jobs, newest first (all for an admin, your own otherwise)."""
    crm = crmkit.open(db)
    try:
        actor = _login(crm, login)
        with crm.session(actor=actor) as s:
            jobs = s.imports.jobs(limit=100).items
    finally:
        crm.close()
    table = Table("job", "file", "status", "created", "updated", "duplicate", "failed", "at")
    for j in jobs:
        c = j.counts
        table.add_row(
            j.id,
            j.source_name,
            j.status.value,
            *(str(c.get(k, "")) for k in ("created", "updated", "duplicate", "failed")),
            j.created_at.isoformat(timespec="seconds"),
        )
    console().print(table)


@imports_app.command("revert")
def imports_revert(
    job_id: str,
    db: UrlOpt = DEFAULT_URL,
    login: LoginOpt = "admin",
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask")] = False,
) -> None:
    """Revert a finished import (admin): its customers go to the recycle bin, its updates
    are put back."""
    if not yes:
        typer.confirm(f"Revert import {job_id}?", abort=True)
    with _session(db, login) as s:
        done = s.imports.revert(job_id)
    console().print(
        f"reverted: {done.deleted} customer(s) to the recycle bin, {done.restored} restored, "
        f"{done.kept_changes} later change(s) kept, {done.contacts_deleted} added contact(s) "
        "to the recycle bin"
    )


@dedup_app.command("scan")
def dedup_scan(
    db: UrlOpt = DEFAULT_URL,
    login: LoginOpt = "admin",
    kind: Annotated[str, typer.Option(help="customers or contacts")] = "customers",
    limit: Annotated[int, typer.Option(help="Show at most this many clusters")] = 50,
) -> None:
    """List clusters of likely duplicates for review (admins and managers)."""
    with _session(db, login) as s:
        clusters = s.dedup.scan(kind, limit=limit)
    table = Table("#", "id", "name", "owner", "score / why")
    for n, cluster in enumerate(clusters, start=1):
        why = {p.right: f"{p.score:.2f} {' '.join(p.reasons)}" for p in cluster.pairs}
        why.update({p.left: why.get(p.left, "") for p in cluster.pairs if p.left not in why})
        for m in cluster.members:
            table.add_row(str(n), m.id, m.name, m.owner_name or "-", why.get(m.id, ""))
    console().print(table)
    console().print(f"{len(clusters)} cluster(s)")


@dedup_app.command("rebuild")
def dedup_rebuild(
    db: UrlOpt = DEFAULT_URL,
    login: LoginOpt = "admin",
    kind: Annotated[str, typer.Option(help="customers or contacts")] = "customers",
) -> None:
    """Re-index every customer (or contact) for duplicate checks: after upgrading crmkit
    when a scan says the index was built by an earlier one, or after changing the matcher
    (admins)."""
    with _session(db, login) as s:
        count = s.dedup.rebuild(kind)
    console().print(f"re-indexed {count} record(s)")


@app.command()
def export(
    dest: Path,
    db: UrlOpt = DEFAULT_URL,
    login: LoginOpt = "admin",
    q: Annotated[str | None, typer.Option(help="Search name, contacts, phones")] = None,
    category: Annotated[str | None, typer.Option()] = None,
    region: Annotated[str | None, typer.Option(help="e.g. 山东省/青岛市")] = None,
    tag: Annotated[str | None, typer.Option()] = None,
    contacts: Annotated[
        bool, typer.Option("--contacts", help="Export contacts instead of customers")
    ] = False,
    codes: Annotated[
        bool, typer.Option("--codes", help="Write choices as codes (formal), not labels")
    ] = False,
) -> None:
    """Export the customers (or contacts) you may see to DEST (.csv or .xlsx), formulas
    neutralised; choices as people read them (正式客户), or as codes with --codes."""
    fmt: Format = "xlsx" if dest.suffix.lower() == ".xlsx" else "csv"
    with _session(db, login) as s:
        filters = {
            k: v
            for k, v in {"q": q, "category": category, "region": region, "tag": tag}.items()
            if v
        }
        if contacts:
            written = s.contacts.export(dest, format=fmt, codes=codes, q=q)
        else:
            written = s.customers.export(dest, format=fmt, codes=codes, **filters)
    what = "contact" if contacts else "customer"
    console().print(f"[green]exported[/green] {written} {what}(s) to {dest}")


@app.command()
def backup(dest: Path, db: UrlOpt = DEFAULT_URL) -> None:
    """Write a consistent backup of a SQLite store to DEST (safe while it is in use)."""
    try:
        out = backup_sqlite(sqlite_path(db), dest)
    except (ValueError, FileNotFoundError) as exc:
        err().print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console().print(f"[green]backed up[/green] {db} → {out} ({out.stat().st_size:,} bytes)")


@app.command()
def restore(
    source: Path,
    db: UrlOpt = DEFAULT_URL,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
) -> None:
    """Replace a SQLite store with a backup (checked first). Stop the apps using it."""
    target = sqlite_path(db)
    if not yes and not typer.confirm(f"Replace everything in {target} with {source}?"):
        raise typer.Exit(1)
    try:
        restore_sqlite(source, target)
    except BackupError as exc:
        err().print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console().print(f"[green]restored[/green] {target} from {source}")


@app.command()
def worker(
    db: UrlOpt = DEFAULT_URL,
    notifier: Annotated[
        list[str] | None,
        typer.Option(
            "--notifier",
            help="A notifier entry point (console, smtp ...); repeat for several channels",
        ),
    ] = None,
    interval: Annotated[
        float, typer.Option(min=0, help="Seconds to wait after a round that found nothing")
    ] = 1.0,
    limit: Annotated[int, typer.Option(min=1, help="Jobs and messages per round")] = 100,
    once: Annotated[bool, typer.Option("--once", help="Drain what is due, then exit")] = False,
) -> None:
    """Run due jobs and send queued notifications until stopped.

    SIGTERM or Ctrl-C lets the round under way finish, then exits 0. Run as many as you
    like: each job and message is claimed by one worker.
    """
    log = logging.getLogger("crmkit")
    # The worker's log is its output: a handler of its own, so that running it never
    # reconfigures the logging of a process that embeds the CLI (tests, a supervisor).
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    level = log.level
    log.addHandler(handler)
    if log.getEffectiveLevel() > logging.INFO:
        log.setLevel(logging.INFO)
    try:
        try:
            crm = crmkit.open(db, notifier=notifier or None)
        except ValueError as exc:  # an unknown notifier, a notifier missing its settings
            err().print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
        try:
            shown = re.sub(r"://([^:/@]*):[^@/]*@", r"://\1:***@", db)  # no password in logs
            log.info("worker started on %s; notifiers: %s", shown, ", ".join(notifier or []))
            if not notifier:
                log.warning("no --notifier: queued messages wait; only due jobs run")
            totals = run_until_signalled(
                crm,
                interval=interval,
                limit=limit,
                once=once,
                on_stop=lambda sig: log.info("%s: stopping after the round under way", sig.name),
            )
        finally:
            crm.close()
        log.info(
            "worker stopped: %d jobs done, %d messages sent, %d rounds failed",
            totals.jobs_done,
            totals.sent,
            totals.errors,
        )
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
    if once and totals.errors:
        raise typer.Exit(1)  # cron should hear of a drain that failed


def main() -> None:
    app()


@approvals_app.command("inbox")
def approvals_inbox(
    db: UrlOpt = DEFAULT_URL,
    login: LoginOpt = "admin",
    limit: Annotated[int, typer.Option()] = 50,
) -> None:
    """The approval steps waiting for you, oldest first (each row's step id is what
    ``approve`` and ``reject`` take)."""
    crm = crmkit.open(db)
    try:
        actor = _login(crm, login)
        with crm.session(actor=actor) as s:
            page = s.approvals.inbox(limit=limit)
            names = {u.id: u.name for u in s.users.list(limit=500)}
            customers = {id: _name(s, id) for id in {a.customer_id for a in page} if id}
        table = Table(
            display.field_name("document_number"),
            display.field_name("customer_id"),
            display.field_name("amount", entity="approval"),
            display.field_name("step_id"),
            display.field_name("submitter_id"),
            display.field_name("submitted_at"),
            "step id",
        )
        for a in page:
            step = a.current
            table.add_row(
                a.document_number or display.entity_label(a.document_type),
                customers.get(a.customer_id or "", ""),
                display.money(a.amount),
                step.label if step is not None else "",
                names.get(a.submitter_id, ""),
                display.local_time(a.created_at, crm.settings.timezone),
                a.step_id or "",
            )
    except crmkit.CRMError as exc:
        raise _fail(exc) from exc
    finally:
        crm.close()
    console().print(table)


def _name(s: crmkit.Session, customer_id: str) -> str:
    """A customer's name, or nothing when the actor may not see it."""
    try:
        return s.customers.get(customer_id).name
    except crmkit.NotFound:
        return ""


@approvals_app.command("approve")
def approvals_approve(
    step_id: str,
    db: UrlOpt = DEFAULT_URL,
    login: LoginOpt = "admin",
    comment: Annotated[str | None, typer.Option(help="Your comment")] = None,
) -> None:
    """Approve a step of your inbox."""
    _decide(db, login, step_id, approve=True, text=comment)


@approvals_app.command("reject")
def approvals_reject(
    step_id: str,
    reason: Annotated[str, typer.Option(help="Why (required)")],
    db: UrlOpt = DEFAULT_URL,
    login: LoginOpt = "admin",
) -> None:
    """Reject a step of your inbox: the document goes back to its author."""
    _decide(db, login, step_id, approve=False, text=reason)


def _decide(db: str, login: str, step_id: str, *, approve: bool, text: str | None) -> None:
    with _session(db, login) as s:
        if approve:
            done = s.approvals.approve(step_id, comment=text)
        else:
            done = s.approvals.reject(step_id, reason=text)
    console().print(f"{done.document_number or ''} [green]{display.label(done.status)}[/green]")


@app.command()
def forecast(
    db: UrlOpt = DEFAULT_URL,
    login: LoginOpt = "admin",
    month: Annotated[str | None, typer.Option(help="One month, e.g. 2027-01")] = None,
    from_month: Annotated[str | None, typer.Option("--from")] = None,
    to_month: Annotated[str | None, typer.Option("--to")] = None,
    by_owner: Annotated[bool, typer.Option("--by-owner", help="A line per salesperson")] = False,
) -> None:
    """Σ amount × probability of the open opportunities you may see, by month (and
    salesperson)."""
    with _session(db, login) as s:
        group = ("month", "owner") if by_owner else "month"
        lines = s.opportunities.forecast(
            group_by=group, month=month, from_month=from_month, to_month=to_month
        )
        names = {u.id: u.name for u in s.users.list(limit=500)}
        table = Table(display.field_name("month"), display.field_name("owner_id"), "Σ")
        for line in lines:
            table.add_row(
                line.month or "", names.get(line.owner_id or "", ""), display.money(line.weighted)
            )
    console().print(table)
