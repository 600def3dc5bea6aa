"""Exporting customers to CSV/XLSX: the caller's data scope, formula injection neutralised."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from crmkit.adapters.tabular import Format, write_table
from crmkit.domain.customer import Customer
from crmkit.domain.messages import active_language

if TYPE_CHECKING:
    from crmkit.workflows.customers import CustomerService

# (field, 简体中文 header, English header); each header is a synonym the importer maps back.
CUSTOMER_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("name", "客户名称", "Customer name"),
    ("kind", "客户类型", "Kind"),
    ("category", "客户类别", "Category"),
    ("channel_type", "渠道/终端", "Channel type"),
    ("mobile", "手机", "Mobile"),
    ("phone", "电话", "Phone"),
    ("email", "邮箱", "Email"),
    ("region", "地区", "Region"),
    ("address", "地址", "Address"),
    ("source", "来源", "Source"),
    ("industry", "行业", "Industry"),
    ("tags", "标签", "Tags"),
    ("credit_rating", "信誉度", "Credit rating"),
    ("settlement", "结算方式", "Settlement"),
    ("credit_limit", "信用额度", "Credit limit"),
    ("uscc", "统一社会信用代码", "USCC"),
    ("owner", "负责人", "Owner"),
    ("remarks", "备注", "Remarks"),
)


def customer_cells(c: Customer, owner_names: dict[str, str]) -> list[Any]:
    """One export row, in ``CUSTOMER_COLUMNS`` order, in the forms people read."""
    return [
        c.name,
        c.kind.value,
        c.category.value,
        c.channel_type.value,
        c.mobile.national if c.mobile else None,
        c.phone.national if c.phone else None,
        c.email.value if c.email else None,
        c.region.path if c.region else None,
        c.address,
        c.source,
        c.industry,
        ",".join(c.tags),
        c.credit_rating.value if c.credit_rating else None,
        c.settlement.value,
        str(c.credit_limit.amount) if c.credit_limit else None,
        c.uscc.value if c.uscc else None,
        owner_names.get(c.owner_id or "", c.owner_id),
        c.remarks,
    ]


def export_customers(
    service: CustomerService,
    target: str | Path | IO[bytes],
    *,
    format: Format = "csv",
    **filters: Any,
) -> int:
    """Write every customer the actor may see (matching ``filters``) to ``target``.

    Returns how many rows were written.
    """
    users = service._s.uow.users
    owner_names: dict[str, str] = {}
    count = 0

    def rows() -> Iterator[list[Any]]:
        nonlocal count
        after: str | None = None
        while True:
            page = service.list(after=after, limit=500, **filters)
            for c in page.items:
                if c.owner_id and c.owner_id not in owner_names:
                    owner = users.get(c.owner_id)
                    owner_names[c.owner_id] = owner.name if owner else c.owner_id
                count += 1
                yield customer_cells(c, owner_names)
            if page.next_after is None:
                return
            after = page.next_after

    zh = active_language() == "zh"
    headers = [zh_h if zh else en_h for _, zh_h, en_h in CUSTOMER_COLUMNS]
    write_table(headers, rows(), target, format=format, sheet_title="客户" if zh else "Customers")
    return count
