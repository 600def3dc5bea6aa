"""The import wizard says which columns it would not import, what a dry run would do, and
names each row's customer: region columns (省份 / 城市 / 区县) end in one region."""

from __future__ import annotations

import html
import re
from pathlib import Path

import crmkit
from admin.import_runs import runs
from tests.admin.conftest import Browser

SHEET = (
    "公司名称,省份,城市,区县,手机,手机号码,喜好\r\n"
    "青岛金智电子科技有限公司,山东省,青岛市,市南区,13800138000,,茶\r\n"
    "金智电子科技（青岛）有限公司,山东省,青岛市,,+86 138-0013-8000,,\r\n"
    "上海华东建材有限公司,上海,,浦东新区,12345,,\r\n"
)


def _upload(b: Browser, tmp_path: Path) -> str:
    path = tmp_path / "客户.csv"
    path.write_bytes(SHEET.encode("gbk"))
    response = b.post("/imports/upload", {"file": (path.open("rb"), "客户.csv")})
    assert response.status_code == 302, response.status_code
    return str(response.location)


def _cells(page: str, cls: str) -> list[str]:
    found = re.findall(rf'<td class="{cls}">(.*?)</td>', page, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in found]


def test_the_mapping_step_says_which_columns_would_not_be_imported(
    as_zhang: Browser, tmp_path: Path
) -> None:
    page = as_zhang.text(_upload(as_zhang, tmp_path))
    for field in ("province", "city", "district"):
        assert f'<option value="{field}" selected>' in page
    warnings = page[page.index('id="mapping-warnings"') :].split("</div>")[0]
    assert html.unescape(warnings).count("<li") == 2
    assert "“手机号码”列不会导入：同一字段已取自“手机”列" in html.unescape(warnings)
    assert "“喜好”列没有对应的字段，其内容不会导入" in html.unescape(warnings)
    assert page.count('class="table-warning"') == 2


def test_the_dry_run_says_what_would_happen_and_the_job_names_each_customer(
    as_zhang: Browser, crm: crmkit.CRM, users: dict[str, crmkit.User], tmp_path: Path
) -> None:
    token = _upload(as_zhang, tmp_path).split("/")[2]
    form = {
        "map-0": "name",
        "map-1": "province",
        "map-2": "city",
        "map-3": "district",
        "map-4": "mobile",
        "map-5": "mobile",  # a second column on the mobile: not imported, and said so
        "map-6": "",
    }
    preview = as_zhang.post(f"/imports/{token}/preview", form).get_data(as_text=True)
    assert _cells(preview, "import-outcome") == ["将创建", "将判为重复", "将失败"]
    assert "已创建" not in preview
    assert _cells(preview, "import-customer") == [
        "青岛金智电子科技有限公司",
        "青岛金智电子科技有限公司",
        "",
    ]
    assert "第 2 行" in preview and 'id="mapping-warnings"' in preview
    assert "“手机号码”列不会导入" in html.unescape(preview)
    response = as_zhang.post(f"/imports/{token}/run")
    assert runs(as_zhang.client.application).join(token, timeout=60)
    job_url = as_zhang.get(response.location).location
    page = as_zhang.text(job_url)
    with crm.session(actor=users["zhang"]) as s:
        (customer,) = s.customers.list().items
    assert customer.region is not None and customer.region.path == "山东省/青岛市/市南区"
    assert _cells(page, "import-outcome")[0] == "已创建"
    assert _cells(page, "import-customer")[:2] == [customer.name, customer.name]
    assert f'href="/customers/details/?id={customer.id}"' in page
    report = as_zhang.get(f"{job_url}report.csv").get_data(as_text=True)
    assert customer.name in report and customer.id not in report
