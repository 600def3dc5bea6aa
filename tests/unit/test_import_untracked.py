"""What an import keeps per row, row after row, is kept out of the garbage collector's care
where it can be (plain values only): a full collection walks every tracked object, and an
import that leaves the collector's settings alone meets many of them. The values stay what
they were."""

from __future__ import annotations

import gc
import json

from crmkit.adapters.tabular import SheetRow
from crmkit.domain.headers import map_headers
from crmkit.domain.imports import (
    Outcome,
    RowProblem,
    RowResult,
    result_from_plain,
    result_to_plain,
)
from crmkit.workflows.imports.rows import row_fields


def test_a_created_rows_stored_form_is_plain_and_untracked() -> None:
    created = RowResult(7, Outcome.CREATED, customer_id="c1", contact_id="p1", customer_name="金智")
    plain = result_to_plain(created)
    assert not gc.is_tracked(plain)
    assert json.loads(json.dumps(plain))["problems"] == []
    assert result_from_plain(json.loads(json.dumps(plain))) == created


def test_a_failed_rows_problems_survive_the_stored_form() -> None:
    problem = RowProblem("手机", "mobile", "phone.invalid", "12345", "bad", "错误")
    failed = RowResult(8, Outcome.FAILED, problems=(problem,))
    stored = json.loads(json.dumps(result_to_plain(failed)))
    assert stored["problems"][0]["code"] == "phone.invalid"
    assert result_from_plain(stored) == failed


def test_a_rows_fields_hold_no_list_for_its_region_cell() -> None:
    headers = ["公司名称", "手机", "地区", "联系人"]
    row = SheetRow(2, ("青岛金智电子科技有限公司", "13800138000", "山东省青岛市", "王伟"))
    fields, contact = row_fields(row, map_headers(headers), {}, "CN")
    assert fields == {
        "name": "青岛金智电子科技有限公司",
        "mobile": "13800138000",
        "region": "山东省青岛市",
    }
    assert contact == {"name": "王伟"}
    assert not gc.is_tracked(fields)
    assert not gc.is_tracked(contact)
