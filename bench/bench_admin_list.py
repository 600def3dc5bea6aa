"""Admin panel benchmark (issue 4): server time of the customer list at 100k / 1M customers.

Times whole Flask requests (Flask's test client: routing, login guard, crmkit session, the
keyset page, the capped count, owner names, the Jinja template) for the screens a person
opens, beside the raw SQL in the same run: the keyset page on the bare driver and the full
``COUNT(*)`` a stock Flask-Admin list view would pay on every page. A page that leaves its
count to ``<list>/count/`` (filters, a scoped user) also gets that request timed, and the
page with ``?count=1`` (the count inside it, as before issue 4).

The stores are bench_storage.py's (``bench/out/bench_<N>.db``, loaded through
``add_many``); this script adds the users that own them: ``bench_storage.OWNERS`` become
salespeople (``sales000`` …), the first ten managed by ``boss``, plus ``admin``.

    python bench/bench_admin_list.py                         # 100k and 1M, (re)built
    python bench/bench_admin_list.py --sizes 1000000 --reuse # query a store built earlier
    python bench/bench_admin_list.py --sizes 1000000 --reuse --profile "admin, first page"
"""

from __future__ import annotations

import argparse
import cProfile
import html
import os
import pstats
import re
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_storage, datagen
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # admin
import bench_storage as storage
import crmkit
from admin import create_app
from crmkit.adapters.passwords import Argon2Hasher
from crmkit.domain.user import Credentials, Role, User
from crmkit.storage.sql import SqlStore
from crmkit.storage.textsearch import prepare_query

HASHER = Argon2Hasher.fast()  # logins are not what is measured
PASSWORD = "bench-pass-1"
MANAGED = 10  # boss manages OWNERS[:10]: about 10% of the customers
SALES = 5  # sales005 (owner-005) is the salesperson timed: about 1% of the customers
REPEAT = 40
GOAL_MS = 50.0
CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
NEXT = re.compile(r'<a href="([^"]+)"[^>]*id="next-page"')
COUNT_URL = re.compile(r'data-count-url="([^"]+)"')


def open_crm(url: str) -> crmkit.CRM:
    return crmkit.open(url, password_hasher=HASHER)


def ensure_store(n: int, *, reuse: bool) -> Path:
    """bench_storage's SQLite store of ``n`` customers (loaded unless ``reuse`` finds it)."""
    path = storage.OUT / f"bench_{n}.db"
    found = 0
    if reuse and path.exists():
        store = SqlStore(f"sqlite:///{path}")
        found = storage._existing_rows(store)
        store.close()
    if found != n:
        # bench_storage loads (or, with reuse, keeps) the store and times its own queries.
        results: list[dict[str, Any]] = []
        storage.run("sqlite", n, results, reuse=reuse, keep=True)
    return path


def ensure_users(url: str) -> None:
    """admin, boss (manager) and one salesperson per bench_storage owner id."""
    crm = open_crm(url)
    try:
        try:
            admin = crm.bootstrap_admin(name="管理员", password=PASSWORD, login="admin")
        except crmkit.WorkflowError:
            return  # set up by an earlier run
        with crm.session(actor=admin) as s:
            boss = s.users.create(name="王经理", login="boss", role="manager", password=PASSWORD)
            # The owners' ids are fixed by the loaded rows, and the users workflow assigns
            # new ids: the salespeople go in through the storage port (as the rows did).
            now = crm.clock.now()
            digest = HASHER.hash(PASSWORD)
            for i, owner in enumerate(storage.OWNERS):
                s._uow.users.add(
                    User(
                        id=owner,
                        name=f"销售{i:03d}",
                        login=f"sales{i:03d}",
                        role=Role.SALES,
                        manager_id=boss.id if i < MANAGED else None,
                        created_at=now,
                        updated_at=now,
                        created_by=admin.id,
                    )
                )
                s._uow.users.put_credentials(Credentials(user_id=owner, password_hash=digest))
    finally:
        crm.close()


class Browser:
    """A logged-in test client (the login form with its CSRF token, as a browser does)."""

    def __init__(self, app: Any, login: str) -> None:
        self.client = app.test_client()
        token = CSRF.search(self.text("/login"))
        assert token, "no CSRF token on /login"
        form = {"login": login, "password": PASSWORD, "csrf_token": token.group(1)}
        response = self.client.post("/login", data=form)
        assert response.status_code == 302, (login, response.status_code)
        assert "/login" not in (response.location or ""), f"login {login} refused"

    def get(self, url: str) -> Any:
        response = self.client.get(url)
        response.get_data()
        response.close()
        assert response.status_code == 200, (url, response.status_code, response.location)
        return response

    def text(self, url: str) -> str:
        response = self.client.get(url)
        body = str(response.get_data(as_text=True))
        response.close()
        return body


def timed(fn: Callable[[], Any], repeat: int, warmup: int = 3) -> tuple[float, float, float]:
    """Median and p95 wall time and median CPU time (this process), in ms, of ``repeat``
    calls after ``warmup`` calls. On a shared machine the CPU time is the steadier figure:
    it leaves out the time the request waited for a core."""
    for _ in range(warmup):
        fn()
    times, cpu = [], []
    for _ in range(repeat):
        c = time.process_time()
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95, statistics.median(cpu)


def run(n: int, results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    path = ensure_store(n, reuse=args.reuse)
    url = f"sqlite:///{path}"
    ensure_users(url)
    raw = storage.Raw("sqlite", str(path))
    # A name substring to search for, as bench_storage picks it (a row a third of the way in).
    (name,) = raw.fetch("SELECT name FROM customers WHERE seq = ?", (n // 3,))[0]
    brand = str(name)[2:7]
    owner = storage.OWNERS[SALES]
    team = [*storage.OWNERS[:MANAGED]]
    (boss_id,) = raw.fetch("SELECT id FROM users WHERE login = 'boss'")[0]
    data_dir = storage.OUT / "admin-data"
    app = create_app(
        {
            "CRMKIT_URL": url,
            "CRMKIT_OPEN": open_crm,
            "ADMIN_DATA_DIR": str(data_dir),
            "SECRET_KEY": "bench-secret",
            "SESSION_COOKIE_SECURE": False,  # the test client speaks plain http
        }
    )
    as_admin = Browser(app, "admin")
    as_boss = Browser(app, "boss")
    as_sales = Browser(app, f"sales{SALES:03d}")
    first = as_admin.text("/customers/")
    found = NEXT.search(first)
    assert found, "no next-page link on the first page"
    next_url = html.unescape(found.group(1))
    (next_seq,) = re.findall(r"after=(\d+)", next_url)
    live = "deleted_at IS NULL"
    page = "ORDER BY seq DESC LIMIT 51"
    filt = f"{live} AND category = 'signed' AND province_code = '37'"
    fts = "seq IN (SELECT rowid FROM customer_fts WHERE customer_fts MATCH ?)"
    match = ('"' + prepare_query(brand) + '"',)
    scoped = (
        "SELECT * FROM (SELECT * FROM (SELECT * FROM customers WHERE owner_id IN ({ids}) AND "
        "deleted_at IS NULL ORDER BY seq DESC LIMIT 51) AS a UNION SELECT * FROM ("
        "SELECT c.* FROM customer_co_owners co JOIN customers c ON c.id = co.customer_id "
        "WHERE co.user_id IN ({ids}) AND c.deleted_at IS NULL ORDER BY c.seq DESC LIMIT 51) "
        "AS b) AS u ORDER BY seq DESC LIMIT 51"
    )
    team_ids = [boss_id, *team]
    marks = ",".join("?" * len(team_ids))
    # (label, who, url, raw keyset SQL, its params, stock COUNT(*) SQL, its params)
    cases: list[tuple[str, Browser, str, str, tuple[Any, ...], str, tuple[Any, ...]]] = [
        (
            "admin, first page",
            as_admin,
            "/customers/",
            f"SELECT * FROM customers WHERE {live} {page}",
            (),
            f"SELECT COUNT(*) FROM customers WHERE {live}",
            (),
        ),
        (
            "admin, next page (keyset link)",
            as_admin,
            next_url,
            f"SELECT * FROM customers WHERE {live} AND seq < ? {page}",
            (int(next_seq),),
            f"SELECT COUNT(*) FROM customers WHERE {live}",
            (),
        ),
        (
            "admin, filter category + province",
            as_admin,
            "/customers/?category=signed&region=" + quote("山东省"),
            f"SELECT * FROM customers WHERE {filt} {page}",
            (),
            f"SELECT COUNT(*) FROM customers WHERE {filt}",
            (),
        ),
        (
            f"admin, keyword search ({brand})",
            as_admin,
            "/customers/?q=" + quote(brand),
            f"SELECT * FROM customers WHERE {live} AND {fts} {page}",
            match,
            f"SELECT COUNT(*) FROM customers WHERE {live} AND {fts}",
            match,
        ),
        (
            "manager (11 owners, ~10%), first page",
            as_boss,
            "/customers/",
            scoped.format(ids=marks),
            (*team_ids, *team_ids),
            f"SELECT COUNT(*) FROM customers WHERE {live} AND owner_id IN ({marks})",
            tuple(team_ids),
        ),
        (
            "salesperson (~1%), first page",
            as_sales,
            "/customers/",
            scoped.format(ids="?"),
            (owner, owner),
            f"SELECT COUNT(*) FROM customers WHERE {live} AND owner_id = ?",
            (owner,),
        ),
    ]
    plain_count = "SELECT COUNT(*) FROM customers"
    capped = f"SELECT count(*) FROM (SELECT 1 FROM customers WHERE {live} LIMIT 10000)"
    results.append(
        {
            "rows": n,
            "page": "raw `SELECT COUNT(*) FROM customers`",
            "raw_count": timed(lambda: raw.fetch(plain_count), args.repeat // 4 or 1),
        }
    )
    results.append(
        {
            "rows": n,
            "page": "raw capped count (what the list shows: 10,000+)",
            "raw_count": timed(lambda: raw.fetch(capped), args.repeat),
        }
    )
    offset = f"SELECT * FROM customers WHERE {live} ORDER BY seq DESC LIMIT 50 OFFSET {n // 2}"
    results.append(
        {
            "rows": n,
            "page": "raw OFFSET page in the middle (a stock numbered page)",
            "raw_count": timed(lambda: raw.fetch(offset), max(3, args.repeat // 4)),
        }
    )
    for label, who, page_url, sql, params, count_sql, count_params in cases:
        rows = raw.fetch(sql, params)
        body = who.text(page_url)
        shown = body.count("<tr>") - 1  # the header row
        assert shown == min(50, len(rows)), (label, shown, len(rows))
        server = timed(lambda who=who, u=page_url: who.get(u), args.repeat)
        # The count the page left out (list_count.js asks for it after the page arrived).
        deferred = COUNT_URL.search(body)
        count_req = inline = None
        if deferred:
            count_url = html.unescape(deferred.group(1))
            count_req = timed(lambda w=who, u=count_url: w.get(u), max(3, args.repeat // 4))
            # The page as it was before the count left it: ?count=1 counts in the page.
            with_count = page_url + ("&" if "?" in page_url else "?") + "count=1"
            inline = timed(lambda w=who, u=with_count: w.get(u), max(3, args.repeat // 4))
        keyset = timed(lambda sql=sql, p=params: raw.fetch(sql, p), args.repeat)
        counted = timed(
            lambda sql=count_sql, p=count_params: raw.fetch(sql, p), max(3, args.repeat // 4)
        )
        (total,) = raw.fetch(count_sql, count_params)[0]
        results.append(
            {
                "rows": n,
                "page": label,
                "url": page_url,
                "server": server,
                "raw_page": keyset,
                "raw_count": counted,
                "count_req": count_req,
                "inline": inline,
                "hits": len(rows),
                "total": total,
            }
        )
        print(
            f"  {label:42s} server {server[0]:7.1f} ms (p95 {server[1]:6.1f}, "
            f"cpu {server[2]:6.1f})  raw page "
            f"{keyset[0]:6.2f} ms  raw COUNT(*) {counted[0]:8.1f} ms  ({total:,} match)"
            + (f"  deferred count request {count_req[0]:.1f} ms" if count_req else ""),
            flush=True,
        )
        if args.profile and args.profile in label:
            profile(who, page_url, f"{n}-{label}")
    for r in results[-len(cases) - 3 : -len(cases)]:
        print(f"  {r['page']:42s} {r['raw_count'][0]:8.1f} ms", flush=True)
    raw.close()
    app.extensions["crmkit_admin"].close()


def profile(who: Browser, url: str, tag: str) -> None:
    """cProfile 20 requests of ``url``; the dump goes to bench/out/, the top 25 to stdout."""
    slug = re.sub(r"[^a-z0-9]+", "-", tag.lower()).strip("-")
    out = storage.OUT / f"prof-admin-{slug}.prof"
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(20):
        who.get(url)
    prof.disable()
    prof.dump_stats(out)
    print(f"  profile of 20 requests → {out}")
    pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    pstats.Stats(prof).sort_stats("tottime").print_stats(15)


def markdown(results: list[dict[str, Any]]) -> str:
    pages = [
        "| rows | page (50 rows) | server ms median | p95 | CPU ms median | count request ms "
        "| page with the count in it ms | raw keyset page ms | raw `COUNT(*)` same filter ms "
        "| matches | page ≤ 50 ms |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|:-:|",
    ]
    raws = ["| rows | raw SQL on sqlite3, same run | ms median |", "|---:|---|---:|"]
    for r in results:
        if "server" not in r:
            raws.append(f"| {r['rows']:,} | {r['page']} | {r['raw_count'][0]:.2f} |")
            continue
        ok = "yes" if r["server"][0] <= GOAL_MS else "**no**"
        count = f"{r['count_req'][0]:.1f}" if r["count_req"] else "in page"
        inline = f"{r['inline'][0]:.1f}" if r["inline"] else ""
        pages.append(
            f"| {r['rows']:,} | {r['page']} | {r['server'][0]:.1f} | {r['server'][1]:.1f} "
            f"| {r['server'][2]:.1f} | {count} | {inline} | {r['raw_page'][0]:.2f} "
            f"| {r['raw_count'][0]:.1f} | {r['total']:,} | {ok} |"
        )
    return "\n".join(pages) + "\n\n" + "\n".join(raws)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--reuse", action="store_true", help="use bench/out/bench_<N>.db if it holds N rows"
    )
    parser.add_argument("--repeat", type=int, default=REPEAT)
    parser.add_argument("--profile", metavar="LABEL", help="cProfile the pages whose label has it")
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    started = datetime.now(UTC)
    for n in args.sizes:
        print(f"[admin {n:,}] load average {os.getloadavg()}", flush=True)
        run(n, results, args)
    print()
    print(
        f"python bench/bench_admin_list.py {' '.join(sys.argv[1:])} — {started:%Y-%m-%d %H:%M} "
        f"UTC, {os.cpu_count()} cores, load average at the end "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}; median and p95 of {args.repeat} "
        "requests after 3 warm-ups"
    )
    print()
    print(markdown(results))


if __name__ == "__main__":
    main()
