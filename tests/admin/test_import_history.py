"""The import's background run with its progress page, the import history, each job's row
report, and reverting an import."""

from __future__ import annotations

import io
import re
import threading
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from flask import Flask

import crmkit
from admin.import_runs import runs
from crmkit.domain.messages import active_language
from tests.admin.conftest import PASSWORDS, Browser

ROWS = [
    ["企业名称", "手机号码", "所在地区"],
    ["青岛金智电子科技有限公司", "13800138000", "山东省/青岛市/市南区"],
    ["上海华东建材有限公司", "12345", "上海市/浦东新区"],
    ["杭州西湖软件有限公司", "13911112222", "浙江省/杭州市/西湖区"],
]
MAPPING = {"map-0": "name", "map-1": "mobile", "map-2": "region"}
JOB_URL = re.compile(r"/imports/jobs/([^/]+)/$")


def names(crm: crmkit.CRM, actor: crmkit.User) -> list[str]:
    with crm.session(actor=actor) as s:
        return sorted(c.name for c in s.customers.list(limit=500).items)


def log_in(app: Flask, user: crmkit.User) -> Browser:
    """A second browser (the fixtures' one is taken), logged in as ``user``."""
    other = Browser(app.test_client())
    password = PASSWORDS["admin"] if user.login == "admin" else PASSWORDS.get(user.login)
    assert other.login(user.login, password or "sales-pass").status_code == 302
    return other


def upload(b: Browser, tmp_path: Path, name: str = "客户.xlsx") -> str:
    """Upload and preview ``ROWS``; the upload's token."""
    book = openpyxl.Workbook()
    for row in ROWS:
        book.active.append(row)
    path = tmp_path / name
    book.save(path)
    response = b.post("/imports/upload", {"file": (path.open("rb"), name)})
    assert response.status_code == 302, response.status_code
    token = response.location.split("/")[2]
    assert b.post(f"/imports/{token}/preview", MAPPING).status_code == 200
    return token


def run_import(app: Flask, b: Browser, tmp_path: Path) -> str:
    """Upload, preview and run ``ROWS`` to the end; the import job's id."""
    token = upload(b, tmp_path)
    response = b.post(f"/imports/{token}/run")
    assert response.status_code == 302 and response.location == f"/imports/{token}/progress"
    assert runs(app).join(token, timeout=60)
    done = b.get(response.location)
    assert done.status_code == 302, done.get_data(as_text=True)
    found = JOB_URL.search(done.location)
    assert found, done.location
    return found.group(1)


def test_run_goes_on_in_the_background_and_the_job_shows_its_outcome(
    app: Flask, as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User], tmp_path: Path
) -> None:
    token = upload(as_zhang, tmp_path)
    response = as_zhang.post(f"/imports/{token}/run")
    assert response.status_code == 302 and response.location.endswith("/progress")
    assert runs(app).join(token, timeout=60)
    state = as_zhang.get(f"/imports/{token}/progress.json").get_json()
    assert state["state"] == "finished"
    assert state["done"] == state["total"] == 3 and state["percent"] == 100
    assert state["next"] == f"/imports/{token}/progress"
    job_url = as_zhang.get(state["next"]).location
    page = as_zhang.text(job_url)
    assert "导入完成" in page and "客户.xlsx" in page and "不是有效的电话号码" in page
    assert names(crm, users["zhang"]) == ["杭州西湖软件有限公司", "青岛金智电子科技有限公司"]
    with crm.session(actor=users["zhang"]) as s:
        job = s.imports.jobs().items[0]
    assert job.actor_id == users["zhang"].id and job.source_name == "客户.xlsx"
    # Running the same upload again goes to its job instead of importing twice.
    assert as_zhang.post(f"/imports/{token}/run").location == job_url
    assert as_zhang.get(f"/imports/{token}/progress").location == job_url


def test_history_lists_the_import_with_its_counts(
    app: Flask, as_zhang: Browser, users: dict[str, crmkit.User], tmp_path: Path
) -> None:
    job_id = run_import(app, as_zhang, tmp_path)
    assert 'id="tab-history"' in as_zhang.text("/imports/")
    page = as_zhang.text("/imports/history/")
    row = page[page.index(f'data-job="{job_id}"') :].split("</tr>")[0]
    assert "客户.xlsx" in row and users["zhang"].name in row and "已完成" in row
    cells = re.findall(r'class="outcome-(\w+)">(\d+)<', row)
    assert cells == [("created", "2"), ("updated", "0"), ("duplicate", "0"), ("failed", "1")]
    assert f"/imports/jobs/{job_id}/report.csv" in row
    assert f"/imports/jobs/{job_id}/report.xlsx" in row
    assert "/revert" not in row  # a salesperson is not offered the revert
    # Someone else's jobs are not theirs to see.
    li = log_in(app, users["li"])
    assert f'data-job="{job_id}"' not in li.text("/imports/history/")
    assert li.get(f"/imports/jobs/{job_id}/").status_code == 404
    assert li.get(f"/imports/jobs/{job_id}/report.csv").status_code == 404
    # An admin sees everyone's.
    admin = log_in(app, users["admin"])
    assert f'data-job="{job_id}"' in admin.text("/imports/history/")


def test_the_row_report_downloads_as_csv_and_xlsx_in_either_language(
    app: Flask, as_zhang: Browser, tmp_path: Path
) -> None:
    job_id = run_import(app, as_zhang, tmp_path)
    response = as_zhang.get(f"/imports/jobs/{job_id}/report.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).lstrip("\ufeff").strip().splitlines()
    assert lines[0].startswith("行号,结果") and len(lines) == 4
    assert "已创建" in lines[1] and "失败" in lines[2] and "手机号码" in lines[2]
    response = as_zhang.get(f"/imports/jobs/{job_id}/report.xlsx")
    assert response.status_code == 200 and "spreadsheetml" in response.mimetype
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][:2] == ["行号", "结果"] and [r[1] for r in rows[1:]] == [
        "已创建",
        "失败",
        "已创建",
    ]
    as_zhang.post("/language", {"lang": "en"})
    english = as_zhang.get(f"/imports/jobs/{job_id}/report.csv").get_data(as_text=True)
    assert english.lstrip("\ufeff").startswith("row,outcome") and ",failed," in english
    assert as_zhang.get(f"/imports/jobs/{job_id}/report.pdf").status_code == 404


def test_an_admin_reverts_an_import_after_confirming(
    app: Flask, as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User], tmp_path: Path
) -> None:
    job_id = run_import(app, as_zhang, tmp_path)
    assert len(names(crm, users["zhang"])) == 2
    admin = log_in(app, users["admin"])
    job_page = admin.text(f"/imports/jobs/{job_id}/")
    assert f"/imports/jobs/{job_id}/revert" in job_page
    confirm = admin.text(f"/imports/jobs/{job_id}/revert")
    assert 'id="revert-form"' in confirm and "回收站" in confirm
    assert names(crm, users["zhang"]) != []  # showing the confirmation changes nothing
    response = admin.post(f"/imports/jobs/{job_id}/revert", {"confirm": "yes"})
    assert response.status_code == 302 and response.location == f"/imports/jobs/{job_id}/"
    page = admin.text(response.location)
    assert "已撤销导入：2 个客户移入回收站" in page
    assert names(crm, users["zhang"]) == []
    with crm.session(actor=users["admin"]) as s:
        assert s.imports.job(job_id).status is crmkit.ImportStatus.REVERTED
    assert "已撤销" in admin.text("/imports/history/")
    # A second revert is refused by crmkit and said so.
    admin.post(f"/imports/jobs/{job_id}/revert", {"confirm": "yes"})
    assert "未撤销" in admin.text(f"/imports/jobs/{job_id}/")


def test_a_salesperson_cannot_revert(
    app: Flask, as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User], tmp_path: Path
) -> None:
    job_id = run_import(app, as_zhang, tmp_path)
    assert 'id="revert-import"' not in as_zhang.text(f"/imports/jobs/{job_id}/")
    response = as_zhang.post(f"/imports/jobs/{job_id}/revert", {"confirm": "yes"})
    assert response.status_code == 302
    assert "未撤销" in as_zhang.text(response.location)
    assert len(names(crm, users["zhang"])) == 2
    with crm.session(actor=users["zhang"]) as s:
        assert s.imports.job(job_id).status is crmkit.ImportStatus.FINISHED


def test_revert_needs_the_csrf_token_and_the_confirmation(
    app: Flask, as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User], tmp_path: Path
) -> None:
    job_id = run_import(app, as_zhang, tmp_path)
    admin = log_in(app, users["admin"])
    url = f"/imports/jobs/{job_id}/revert"
    assert admin.open(url, method="POST", data={"confirm": "yes"}).status_code == 400
    assert admin.post(url).status_code == 200  # no confirmation: the question again
    assert len(names(crm, users["zhang"])) == 2
    with crm.session(actor=users["admin"]) as s:
        assert s.imports.job(job_id).status is crmkit.ImportStatus.FINISHED


def test_progress_is_reported_while_running_and_only_to_its_owner(
    app: Flask, as_zhang: Browser, users: dict[str, crmkit.User]
) -> None:
    halfway, go_on = threading.Event(), threading.Event()
    seen: list[Any] = []

    def body(progress: Any) -> str:
        seen.append(active_language())
        progress(500, 1000)
        halfway.set()
        assert go_on.wait(30)
        progress(1000, 1000)
        return "job-1"

    registry = runs(app)
    assert registry.start("tok", users["zhang"].id, "en", body)
    assert halfway.wait(30)
    assert not registry.start("tok", users["zhang"].id, "en", body)  # one run at a time
    state = as_zhang.get("/imports/tok/progress.json").get_json()
    assert state == {
        "state": "running",
        "done": 500,
        "total": 1000,
        "percent": 50,
        "label": "500 / 1000 行",
        "next": None,
    }
    page = as_zhang.text("/imports/tok/progress")
    assert '<meta http-equiv="refresh"' in page  # without scripts the page refreshes
    assert "/assets/import_progress.js" in page and 'data-url="/imports/tok/progress.json"' in page
    assert 'aria-valuenow="50"' in page
    li = log_in(app, users["li"])
    assert li.get("/imports/tok/progress.json").status_code == 404
    assert li.get("/imports/tok/progress").status_code == 404
    go_on.set()
    assert registry.join("tok", timeout=30)
    state = as_zhang.get("/imports/tok/progress.json").get_json()
    assert state["state"] == "finished" and state["done"] == 1000 and state["next"]
    assert as_zhang.get("/imports/tok/progress").location == "/imports/jobs/job-1/"
    assert seen == ["en"]  # the thread speaks the language of the request that started it


def test_a_run_that_fails_says_so_and_can_be_run_again(
    app: Flask,
    as_zhang: Browser,
    crm: crmkit.CRM,
    users: dict[str, crmkit.User],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = upload(as_zhang, tmp_path)
    (kept,) = (Path(app.config["ADMIN_DATA_DIR"]) / "scratch").glob(f"import-{token}.*")
    content = kept.read_bytes()
    kept.unlink()  # the upload is gone: the run cannot read it
    as_zhang.post(f"/imports/{token}/run")
    assert runs(app).join(token, timeout=60)
    assert as_zhang.get(f"/imports/{token}/progress.json").get_json()["state"] == "failed"
    page = as_zhang.text(f"/imports/{token}/progress")
    assert 'id="import-failed"' in page and "意外错误" in page
    assert 'http-equiv="refresh"' not in page and "import_progress.js" not in page
    assert str(kept) not in page  # the fault goes to the log, not to the page
    assert "import failed" in caplog.text or str(kept) in caplog.text
    assert 'id="run-import"' in page
    kept.write_bytes(content)
    response = as_zhang.post(f"/imports/{token}/run")
    assert response.location == f"/imports/{token}/progress"
    assert runs(app).join(token, timeout=60)
    assert JOB_URL.search(as_zhang.get(response.location).location)
    assert len(names(crm, users["zhang"])) == 2
