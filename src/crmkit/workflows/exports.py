"""Exporting customers and contacts to CSV/XLSX: the caller's data scope, formula injection
neutralised (``adapters.tabular.write_table``), headers the importer maps back."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from crmkit.adapters.tabular import Format, write_table
from crmkit.domain import display
from crmkit.domain.contact import Contact
from crmkit.domain.customer import Customer
from crmkit.domain.messages import active_language
from crmkit.domain.receivable import Statement
from crmkit.storage.ports import Page

T = TypeVar("T")

if TYPE_CHECKING:
    from crmkit.workflows.contacts import ContactService
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
    ("id_number", "身份证号", "ID number"),
    ("id_type", "证件类型", "ID type"),
    ("owner", "负责人", "Owner"),
    ("remarks", "备注", "Remarks"),
)


def customer_cells(c: Customer, owner_names: dict[str, str], *, codes: bool = False) -> list[Any]:
    """One export row, in ``CUSTOMER_COLUMNS`` order, in the forms people read: choices by
    their labels (正式客户, 终端客户), or by their codes (``formal``) with ``codes``.

    An identity number is written masked (370202********1237) either way: a file leaves
    the CRM's access control. Imported back, the masked form changes nothing.
    """
    lang = active_language()

    def choice(value: Any) -> Any:
        if value is None:
            return None
        return value.value if codes else display.label(value, lang)

    return [
        c.name,
        choice(c.kind),
        choice(c.category),
        choice(c.channel_type),
        c.mobile.national if c.mobile else None,
        c.phone.national if c.phone else None,
        c.email.value if c.email else None,
        c.region.path if c.region else None,
        c.address,
        c.source,
        c.industry,
        ",".join(c.tags),
        choice(c.credit_rating),
        choice(c.settlement),
        str(c.credit_limit.amount) if c.credit_limit else None,
        c.uscc.value if c.uscc else None,
        c.id_number.masked if c.id_number else None,
        choice(c.id_type),
        owner_names.get(c.owner_id or "", c.owner_id),
        c.remarks,
    ]


def _write_pages(
    fetch: Callable[[str | None], Page[T]],
    cells: Callable[[Sequence[T]], Iterable[list[Any]]],
    columns: Sequence[tuple[str, str, str]],
    target: str | Path | IO[bytes],
    format: Format,
    titles: tuple[str, str],
) -> int:
    """Page through ``fetch`` (keyset pages of 500) and write each page's rows as they come;
    headers and sheet title in the active language. Returns how many records were written."""
    count = 0

    def rows() -> Iterator[list[Any]]:
        nonlocal count
        after: str | None = None
        while True:
            page = fetch(after)
            count += len(page.items)
            yield from cells(page.items)
            if page.next_after is None:
                return
            after = page.next_after

    zh = active_language() == "zh"
    headers = [zh_h if zh else en_h for _, zh_h, en_h in columns]
    write_table(headers, rows(), target, format=format, sheet_title=titles[0 if zh else 1])
    return count


def export_customers(
    service: CustomerService,
    target: str | Path | IO[bytes],
    *,
    format: Format = "csv",
    codes: bool = False,
    **filters: Any,
) -> int:
    """Write every customer the actor may see (matching ``filters``) to ``target``; choices
    by their labels, or by their codes with ``codes`` (for machines).

    Returns how many rows were written.
    """
    session = service._s
    owner_names: dict[str, str] = {}

    def cells(page: Sequence[Customer]) -> Iterator[list[Any]]:
        for c in page:
            if c.owner_id and c.owner_id not in owner_names:
                owner = session.user(c.owner_id)
                owner_names[c.owner_id] = owner.name if owner else c.owner_id
            yield customer_cells(c, owner_names, codes=codes)

    return _write_pages(
        lambda after: service.list(after=after, limit=500, **filters),
        cells,
        CUSTOMER_COLUMNS,
        target,
        format,
        ("客户", "Customers"),
    )


CONTACT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("customer", "客户名称", "Customer name"),
    ("name", "联系人", "Contact name"),
    ("gender", "性别", "Gender"),
    ("title", "职务", "Title"),
    ("mobile", "联系人手机", "Contact mobile"),
    ("phone", "联系人电话", "Contact phone"),
    ("email", "联系人邮箱", "Contact email"),
    ("birthday", "生日", "Birthday"),
    ("is_primary", "首要联系人", "Primary"),
    ("remarks", "备注", "Remarks"),
)


def contact_cells(c: Contact, customer_names: dict[str, str], *, codes: bool = False) -> list[Any]:
    """One export row, in ``CONTACT_COLUMNS`` order (choices as in :func:`customer_cells`)."""
    gender = None
    if c.gender is not None:
        gender = c.gender.value if codes else display.label(c.gender, active_language())
    return [
        customer_names.get(c.customer_id, c.customer_id),
        c.name,
        gender,
        c.title,
        c.mobile.national if c.mobile else None,
        c.phone.national if c.phone else None,
        c.email.value if c.email else None,
        c.birthday,
        c.is_primary if codes else display.yes_no(c.is_primary, active_language()),
        c.remarks,
    ]


def export_contacts(
    service: ContactService,
    target: str | Path | IO[bytes],
    *,
    format: Format = "csv",
    codes: bool = False,
    **filters: Any,
) -> int:
    """Write every contact the actor may see (``filters`` as ``contacts.list``) to ``target``
    (choices as :func:`export_customers` writes them).

    Returns how many rows were written.
    """
    customers = service._s._uow.customers
    names: dict[str, str] = {}

    def cells(page: Sequence[Contact]) -> Iterator[list[Any]]:
        missing = sorted({c.customer_id for c in page} - names.keys())
        names.update({c.id: c.name for c in customers.get_many(missing)})
        return (contact_cells(c, names, codes=codes) for c in page)

    return _write_pages(
        lambda after: service.list(after=after, limit=500, **filters),
        cells,
        CONTACT_COLUMNS,
        target,
        format,
        ("联系人", "Contacts"),
    )


def write_statement(statement: Statement, target: str | Path | IO[bytes]) -> None:
    """A statement of account (对账单) as an XLSX sheet, in the active language: the
    opening balance, one row per entry, the closing balance."""
    zh = active_language() == "zh"
    headers = (
        ["日期", "类型", "单号", "摘要", "借方（应收）", "贷方（已收）", "余额"]
        if zh
        else ["Date", "Entry", "Number", "Details", "Debit", "Credit", "Balance"]
    )
    title = f"{statement.customer_name} {statement.start.isoformat()} – {statement.end.isoformat()}"
    rows: list[list[Any]] = [
        [
            statement.start,
            "期初余额" if zh else "Opening balance",
            "",
            title,
            None,
            None,
            statement.opening.amount,
        ],
    ]
    for line in statement.lines:
        rows.append(
            [
                line.on,
                display.label(line.kind),
                line.number,
                line.text,
                line.debit.amount or None,
                line.credit.amount or None,
                line.balance.amount,
            ]
        )
    rows.append(
        [
            statement.end,
            "期末余额" if zh else "Closing balance",
            "",
            "",
            None,
            None,
            statement.closing.amount,
        ]
    )
    write_table(headers, rows, target, format="xlsx", sheet_title="对账单" if zh else "Statement")
