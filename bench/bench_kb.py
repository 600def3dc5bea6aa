"""Knowledge-base search (issue 20): ``s.kb.search`` over N articles, from the full-text
side index (SQLite FTS5 over CJK bigrams, PostgreSQL tsvector + GIN).

For each backend, a fresh store gets ``--size`` articles (default 100k) bulk-inserted
through the generic repository (``uow.repo(KB_ARTICLES).add_many``, which writes the side
index in the same transaction), 5,000 per transaction, then ANALYZE. The articles are
deterministic synthetic service notes: a product (门锁, 门禁, 摄像头 …) with a model number
``XX-123``, a problem and a fix in a few sentences of everyday vocabulary (150-300
characters), 90 % published; a rare word (霍尔传感器) is in 20 articles.

Timed as a salesperson (published articles only), each query ``--repeat`` times in one
session after a warm-up, median and p95 of the call ``s.kb.search(q, limit=20)``:

- two Chinese words, ``门锁 复位``;
- one common word, ``门锁``;
- a rare word, ``霍尔传感器``;
- a model number, ``LK-358``.

Beside each, how many articles match (all of them, at any status).

    .venv/bin/python bench/bench_kb.py                      # 100k, SQLite and PostgreSQL
    .venv/bin/python bench/bench_kb.py --backends sqlite --size 20000
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import crmkit
from bench_forecast import drop_store, open_crm, say
from crmkit.domain.kb import Article, ArticleStatus
from crmkit.storage.catalog import KB_ARTICLES
from crmkit.storage.fulltext import document, matches
from crmkit.testing import store_of

CHUNK = 5_000
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PASSWORD = "bench-kb-pw-1"
QUERIES = (
    ("two words", "门锁 复位"),
    ("one word", "门锁"),
    ("rare word", "霍尔传感器"),
    ("model number", "LK-358"),
)
PRODUCTS = (
    ("门锁", "LK"),
    ("门禁", "AC"),
    ("摄像头", "CM"),
    ("猫眼", "PE"),
    ("网关", "GW"),
    ("门铃", "DB"),
    ("保险柜", "SF"),
    ("烟感", "SD"),
)
PROBLEMS = (
    "无法开启",
    "指纹识别失败",
    "密码忘记",
    "电池电量低",
    "提示音异常",
    "离线",
    "连接不上网络",
    "画面模糊",
    "报警误报",
    "按键失灵",
    "反锁后打不开",
    "APP无法绑定",
)
FIXES = (
    "长按复位键五秒恢复出厂设置",
    "更换四节五号碱性电池",
    "重新录入指纹并保持手指干燥",
    "检查路由器并重新配网",
    "使用机械钥匙应急开启",
    "升级固件到最新版本",
    "清洁镜头后重启设备",
    "联系售后上门检修",
    "在管理员模式下重置密码",
    "调整安装角度并紧固螺丝",
)
FILLER = (
    "请先确认设备型号",
    "操作前请断开电源",
    "如问题仍未解决请拨打客服热线",
    "本方法适用于大部分家用场景",
    "注意保存好购买凭证",
    "保修期内免费维修",
    "建议每半年检查一次",
    "冬季低温可能影响续航",
    "安装完成后请测试各项功能",
    "用户手册第三章有详细说明",
)
CATEGORIES = ("安装", "故障", "使用", "售后", "配件")


def article(rng: random.Random, i: int, author: str) -> Article:
    product, prefix = rng.choice(PRODUCTS)
    model = f"{prefix}-{rng.randint(100, 999)}"
    problem, fix = rng.choice(PROBLEMS), rng.choice(FIXES)
    sentences = [f"{model}{product}{problem}时，{fix}。"]
    sentences += [rng.choice(FILLER) + "。" for _ in range(rng.randint(4, 9))]
    if rng.random() < 0.3:
        sentences.append(f"{rng.choice(FIXES)}也可以解决{rng.choice(PROBLEMS)}的问题。")
    if i % 5_000 == 7:  # 20 in 100k
        sentences.append("部分型号内置霍尔传感器，靠近磁铁会误判门状态。")
    rng.shuffle(sentences)
    at = NOW - timedelta(minutes=i)
    return Article(
        id=str(uuid.UUID(int=rng.getrandbits(128))),
        title=f"{product}{problem}怎么办（{model}）",
        body="".join(sentences),
        category=rng.choice(CATEGORIES),
        tags=(product, model),
        status=ArticleStatus.PUBLISHED if rng.random() < 0.9 else ArticleStatus.DRAFT,
        author_id=author,
        created_at=at,
        updated_at=at,
        created_by=author,
    )


def load(crm: crmkit.CRM, n: int, author: str) -> tuple[float, list[Article]]:
    rng = random.Random(20)
    store = store_of(crm)
    started = time.perf_counter()
    made: list[Article] = []
    for start in range(0, n, CHUNK):
        batch = [article(rng, i, author) for i in range(start, min(n, start + CHUNK))]
        with store.unit_of_work() as uow:
            uow.repo(KB_ARTICLES).add_many(batch)
            uow.commit()
        made += batch
    return time.perf_counter() - started, made


def analyze(crm: crmkit.CRM, backend: str) -> None:
    engine = store_of(crm).engine  # type: ignore[attr-defined]
    if backend == "sqlite":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.exec_driver_sql(
                "INSERT INTO kb_articles_fulltext(kb_articles_fulltext) VALUES ('optimize')"
            )
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")


def figures(backend: str, n: int, repeat: int, *, keep: bool = False) -> None:
    tag = f"bench_kb_{n}"
    drop_store(backend, tag)
    crm = open_crm(backend, tag)
    try:
        admin = crm.bootstrap_admin(name="管理员", password=PASSWORD, login="admin")
        with crm.session(actor=admin) as s:
            sales = s.users.create(name="张三", role="sales", password=PASSWORD)
        seconds, made = load(crm, n, admin.id)
        analyze(crm, backend)
        say(f"\n{backend}, {n:,} articles: loaded in {seconds:.1f} s ({n / seconds:,.0f}/s)")
        say("| query | matches | median ms | p95 ms |")
        say("|---|---:|---:|---:|")
        with crm.session(actor=sales) as s:
            for label, q in QUERIES:
                found = sum(1 for a in made if matches(document(a, KB_ARTICLES.fulltext), q))
                for _ in range(5):
                    s.kb.search(q, limit=20)
                times = []
                for _ in range(repeat):
                    started = time.perf_counter()
                    s.kb.search(q, limit=20)
                    times.append((time.perf_counter() - started) * 1000)
                times.sort()
                p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
                say(f"| {label} `{q}` | {found:,} | {statistics.median(times):.2f} | {p95:.2f} |")
    finally:
        crm.close()
        if not keep:
            drop_store(backend, tag)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="leave the store in place")
    args = parser.parse_args()
    for backend in args.backends:
        figures(backend, args.size, args.repeat, keep=args.keep)


if __name__ == "__main__":
    main()
