"""The crmkit command line, on real SQLite files."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import crmkit
from crmkit.adapters.tabular import read_table
from crmkit.cli import app
from crmkit.domain.dedup.codec import RECORD_FORMAT
from crmkit.testing import store_of


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env={"COLUMNS": "200"})


@pytest.fixture
def db(tmp_path: Path, runner: CliRunner) -> str:
    url = f"sqlite:///{tmp_path}/cli.db"
    result = runner.invoke(app, ["init", "--db", url], env={"CRMKIT_PASSWORD": "admin-secret"})
    assert result.exit_code == 0, result.output
    assert "admin login: admin" in result.output
    return url


def test_init_then_user_add_prints_the_derived_login(runner: CliRunner, db: str):
    result = runner.invoke(
        app,
        [
            "user",
            "add",
            "张三",
            "--role",
            "sales",
            "--db",
            db,
            "--login",
            "admin",
            "--new-password",
            "zhang-secret",
        ],
        env={"CRMKIT_PASSWORD": "admin-secret"},
    )
    assert result.exit_code == 0, result.output
    assert "zhangsan" in result.output
    assert crmkit.open(db).authenticate("zhangsan", "zhang-secret").name == "张三"


def test_a_wrong_password_is_refused(runner: CliRunner, db: str):
    result = runner.invoke(
        app, ["user", "list", "--db", db, "--login", "admin"], env={"CRMKIT_PASSWORD": "wrong"}
    )
    assert result.exit_code == 2


def test_validation_errors_name_the_field(runner: CliRunner, db: str):
    result = runner.invoke(
        app,
        [
            "user",
            "add",
            "张三",
            "--role",
            "boss",
            "--db",
            db,
            "--login",
            "admin",
            "--new-password",
            "zhang-secret",
        ],
        env={"CRMKIT_PASSWORD": "admin-secret", "CRMKIT_LANG": "en"},
    )
    assert result.exit_code == 1
    assert "role" in result.output


def test_customers_list_shows_only_the_callers_scope(runner: CliRunner, db: str):
    crm = crmkit.open(db)
    admin = crm.authenticate("admin", "admin-secret")
    with crm.session(actor=admin) as s:
        zhang = s.users.create(name="张三", role="sales", password="zhang-secret")
        li = s.users.create(name="李四", role="sales", password="li-secret-1")
        s.customers.create(
            name="青岛金智电子科技有限公司", owner_id=zhang.id, region="山东省/青岛市/市南区"
        )
        s.customers.create(name="上海华东建材有限公司", owner_id=li.id)
    crm.close()
    result = runner.invoke(
        app,
        ["customers", "list", "--db", db, "--login", "zhangsan"],
        env={"CRMKIT_PASSWORD": "zhang-secret"},
    )
    assert result.exit_code == 0, result.output
    assert "青岛金智电子科技有限公司" in result.output
    assert "上海华东建材有限公司" not in result.output


def test_backup_and_restore_bring_back_the_data(runner: CliRunner, db: str, tmp_path: Path):
    backup = tmp_path / "backup.db"
    assert runner.invoke(app, ["backup", str(backup), "--db", db]).exit_code == 0
    crm = crmkit.open(db)
    admin = crm.authenticate("admin", "admin-secret")
    with crm.session(actor=admin) as s:
        s.customers.create(name="备份之后新建有限公司")
    crm.close()
    result = runner.invoke(app, ["restore", str(backup), "--db", db, "--yes"])
    assert result.exit_code == 0, result.output
    crm = crmkit.open(db)
    with crm.session(actor=admin) as s:
        assert s.customers.count() == 0
    crm.close()


def test_restore_refuses_a_file_that_is_not_a_crmkit_database(
    runner: CliRunner, db: str, tmp_path: Path
):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all")
    result = runner.invoke(app, ["restore", str(junk), "--db", db, "--yes"])
    assert result.exit_code == 1
    assert "不是 SQLite 数据库" in result.output  # the CLI speaks Chinese unless --lang en


def test_export_writes_the_callers_customers_to_xlsx(runner: CliRunner, db: str, tmp_path: Path):
    crm = crmkit.open(db)
    admin = crm.authenticate("admin", "admin-secret")
    with crm.session(actor=admin) as s:
        s.customers.create(name="青岛金智电子科技有限公司", tags=["VIP"])
        s.customers.create(name="上海华东建材有限公司")
    crm.close()
    dest = tmp_path / "out.xlsx"
    result = runner.invoke(
        app,
        ["export", str(dest), "--db", db, "--tag", "VIP"],
        env={"CRMKIT_PASSWORD": "admin-secret"},
    )
    assert result.exit_code == 0, result.output
    assert "exported 1 customer" in result.output
    rows = [r.cells[0] for r in read_table(dest).rows]
    assert rows == ["青岛金智电子科技有限公司"]


def test_import_reports_outcomes_and_writes_a_row_report(
    runner: CliRunner, db: str, tmp_path: Path
):
    sheet = tmp_path / "in.csv"
    sheet.write_text(
        "企业全称,手机\n青岛金智电子科技有限公司,13800138000\n,12345\n", encoding="gbk"
    )
    report = tmp_path / "report.csv"
    args = ["import", str(sheet), "--db", db, "--map", "企业全称=name", "--report", str(report)]
    env = {"CRMKIT_PASSWORD": "admin-secret"}
    dry = runner.invoke(app, [*args, "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "将创建" in dry.output and "已创建" not in dry.output  # a dry run writes nothing
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    assert "已创建" in result.output and "失败" in result.output
    rows = [r.cells for r in read_table(report).rows]
    assert [r[1] for r in rows] == ["已创建", "失败"]  # the outcome's label, in 简体中文
    assert rows[0][2] == "青岛金智电子科技有限公司"  # the customer by name, not by id
    assert "企业全称" in (rows[1][4] or "")
    crm = crmkit.open(db)
    admin = crm.authenticate("admin", "admin-secret")
    with crm.session(actor=admin) as s:
        assert s.customers.count() == 1
    crm.close()


def test_dedup_scan_lists_clusters_and_an_import_can_be_listed_and_reverted(
    runner: CliRunner, db: str, tmp_path: Path
):
    env = {"CRMKIT_PASSWORD": "admin-secret"}
    outputs = []
    for n, name in enumerate(("青岛金智电子科技有限公司", "金智电子科技（青岛）有限公司")):
        sheet = tmp_path / f"in{n}.csv"
        sheet.write_text(f"公司名称,手机\n{name},13800138000\n", encoding="utf-8")
        imported = runner.invoke(
            app, ["import", str(sheet), "--db", db, "--on-duplicate", "create"], env=env
        )
        assert imported.exit_code == 0, imported.output
        outputs.append(imported.output)
    scan = runner.invoke(app, ["dedup", "scan", "--db", db], env=env)
    assert scan.exit_code == 0, scan.output
    assert "金智电子科技（青岛）有限公司" in scan.output and "1 cluster(s)" in scan.output
    jobs = runner.invoke(app, ["imports", "list", "--db", db], env=env)
    assert jobs.exit_code == 0 and "finished" in jobs.output
    job_id = outputs[1].split("import job ", 1)[1].split()[0]
    reverted = runner.invoke(app, ["imports", "revert", job_id, "--db", db, "--yes"], env=env)
    assert reverted.exit_code == 0, reverted.output
    assert "1 customer(s) to the recycle bin" in reverted.output
    scan = runner.invoke(app, ["dedup", "scan", "--db", db], env=env)
    assert "0 cluster(s)" in scan.output


def test_an_index_built_by_an_earlier_crmkit_is_rebuilt_from_the_command_line(
    runner: CliRunner, db: str, tmp_path: Path
):
    env = {"CRMKIT_PASSWORD": "admin-secret"}
    sheet = tmp_path / "in.csv"
    sheet.write_text("公司名称,手机\n青岛金智电子科技有限公司,13800138000\n", encoding="utf-8")
    assert runner.invoke(app, ["import", str(sheet), "--db", db], env=env).exit_code == 0
    crm = crmkit.open(db)
    with store_of(crm).unit_of_work() as uow:
        uow.dedup.set_record_format("customer", RECORD_FORMAT - 1)
        uow.commit()
    crm.close()
    scan = runner.invoke(app, ["dedup", "scan", "--db", db], env=env)
    assert scan.exit_code != 0 and "crmkit dedup rebuild" in scan.output
    rebuilt = runner.invoke(app, ["dedup", "rebuild", "--db", db], env=env)
    assert rebuilt.exit_code == 0 and "re-indexed 1 record(s)" in rebuilt.output
    scan = runner.invoke(app, ["dedup", "scan", "--db", db], env=env)
    assert scan.exit_code == 0 and "0 cluster(s)" in scan.output


def test_an_order_is_approved_from_the_command_line(runner: CliRunner, db: str):
    crm = crmkit.open(db)
    try:
        admin = crm.authenticate("admin", "admin-secret")
        with crm.session(actor=admin) as s:
            boss = s.users.create(name="王经理", role="manager", password="boss-secret")
            zhang = s.users.create(
                name="张三", role="sales", manager_id=boss.id, password="zhang-secret"
            )
            customer = s.customers.create(name="青岛金智电子科技有限公司", owner_id=zhang.id)
        with crm.session(actor=zhang) as s:
            order = s.orders.create(
                customer_id=customer.id,
                lines=[
                    {"name": "智能门锁", "quantity": 10, "unit_price": "1999", "tax_rate": "13%"}
                ],
            )
            s.orders.submit(order.id)
    finally:
        crm.close()
    boss_env = {"CRMKIT_PASSWORD": "boss-secret"}
    inbox = runner.invoke(
        app, ["approvals", "inbox", "--db", db, "--login", boss.login], env=boss_env
    )
    assert inbox.exit_code == 0, inbox.output
    assert order.number in inbox.output and "青岛金智电子科技有限公司" in inbox.output
    assert "¥19,990.00" in inbox.output and "上级审批" in inbox.output
    crm = crmkit.open(db)
    try:
        with crm.session(actor=boss) as s:
            step = s.approvals.inbox().items[0].step_id
    finally:
        crm.close()
    refused = runner.invoke(
        app,
        ["approvals", "reject", step, "--db", db, "--login", boss.login, "--reason", " "],
        env=boss_env,
    )
    assert refused.exit_code == 1 and "理由" in refused.output
    done = runner.invoke(
        app, ["approvals", "approve", step, "--db", db, "--login", boss.login], env=boss_env
    )
    assert done.exit_code == 0, done.output
    assert "已审批" in done.output
    again = runner.invoke(
        app, ["approvals", "approve", step, "--db", db, "--login", boss.login], env=boss_env
    )
    assert again.exit_code == 1


def test_the_forecast_from_the_command_line(runner: CliRunner, db: str):
    crm = crmkit.open(db)
    try:
        admin = crm.authenticate("admin", "admin-secret")
        with crm.session(actor=admin) as s:
            customer = s.customers.create(name="青岛金智电子科技有限公司")
            s.opportunities.create(
                customer_id=customer.id,
                title="门禁改造",
                amount="120000",
                expected_close="2099-01-15",
                probability="25%",
            )
    finally:
        crm.close()
    result = runner.invoke(
        app,
        ["forecast", "--db", db, "--month", "2099-01", "--by-owner"],
        env={"CRMKIT_PASSWORD": "admin-secret"},
    )
    assert result.exit_code == 0, result.output
    assert "2099-01" in result.output and "¥30,000.00" in result.output
    assert "管理员" in result.output
