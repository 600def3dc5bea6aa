"""A short tour of crmkit on a SQLite file: users, customers, a validation error, a scoped
list and an audit history. Run with ``python3 dev.py demo`` (or ``python examples/tour.py``).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

import crmkit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", help="SQLite file (default: a new one in a temp folder)")
    parser.add_argument("--lang", choices=["zh", "en"], default="zh")
    args = parser.parse_args()
    crmkit.set_language(args.lang)
    path = Path(args.db) if args.db else Path(tempfile.mkdtemp()) / "tour.db"
    path.unlink(missing_ok=True)
    console = Console()
    url = f"sqlite:///{path}"
    console.rule(f"crmkit tour — {url}")

    crm = crmkit.open(url)
    admin = crm.bootstrap_admin(name="管理员", password="admin-pass-1")
    with crm.session(actor=admin) as s:
        boss = s.users.create(name="王经理", role="manager", password="manager-pass")
        zhang = s.users.create(name="张三", role="sales", manager_id=boss.id, password="pass-1234")
        li = s.users.create(name="李小明", role="sales", manager_id=boss.id, password="pass-1234")
        zhang2 = s.users.create(name="张三", role="sales", password="pass-1234")
    users = Table("姓名 name", "登录名 login", "角色 role")
    for u in (admin, boss, zhang, li, zhang2):
        users.add_row(u.name, u.login, u.role.label_zh)
    console.print("Users — logins derived by the pinyin rule:", users)

    with crm.session(actor=zhang) as s:
        jz = s.customers.create(
            name="青岛金智电子科技有限公司",
            mobile="+86 138-0013-8000",
            region="山东省/青岛市/市南区",
            source="展会",
            tags=["VIP"],
        )
        s.contacts.create(customer_id=jz.id, name="李四", mobile="139 0000 1234")
    with crm.session(actor=li) as s:
        s.customers.create(name="上海华东建材有限公司", region="上海市/浦东新区")
    console.print(f"张三 created {jz.name}; mobile stored as [bold]{jz.mobile}[/bold]")

    console.rule("a validation error names every wrong field")
    try:
        with crm.session(actor=zhang) as s:
            s.customers.create(name="", mobile="12345", email="not-an-email")
    except crmkit.ValidationError as exc:
        for error in exc.errors:
            console.print(f"  {error.field}: {error.message_zh} / {error.message_en}")

    console.rule("data scope: each salesperson sees their own; the manager sees both")
    for who in (zhang, li, boss):
        with crm.session(actor=who) as s:
            names = [c.name for c in s.customers.list()]
        console.print(f"  {who.name} ({who.login}) sees: {names}")

    with crm.session(actor=boss) as s:
        s.customers.update(jz.id, version=1, category="formal", remarks="重点跟进")
    console.rule("audit history of 青岛金智电子科技有限公司")
    with crm.session(actor=admin) as s:
        table = Table("when", "who", "action", "changes")
        names = {u.id: u.name for u in s.users.list(limit=100)}
        for e in s.audit.history(jz.id):
            changes = "; ".join(f"{k}: {b!r} → {a!r}" for k, (b, a) in e.changes.items())
            table.add_row(
                e.at.strftime("%H:%M:%S"),
                names.get(e.actor_id, e.actor_id),
                e.action.value,
                changes[:90],
            )
    console.print(table)
    crm.close()
    console.print(f"[green]done[/green] — the data is in {path}")


if __name__ == "__main__":
    main()
