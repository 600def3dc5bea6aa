"""Spreadsheet header mapping: which column holds which field.

Chinese CRM exports and hand-made sheets name the same column many ways (公司名称, 企业名称,
客户名称, Company …). Headers are compared in a normalised form (NFKC, case-folded, without
spaces, punctuation or the ``*`` that marks a required column), so ``手机号码*`` and
``手机 号码`` both map to ``mobile``. An explicit mapping always wins.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import attrs

# field -> the header spellings it answers to (normalised on load)
CUSTOMER_HEADER_SYNONYMS: Final[Mapping[str, tuple[str, ...]]] = {
    "name": (
        "公司名称",
        "企业名称",
        "客户名称",
        "单位名称",
        "公司中文名称",
        "客户",
        "名称",
        "商户名称",
        "company",
        "company name",
        "customer",
        "customer name",
        "name",
    ),
    "kind": ("客户类型", "类型", "kind", "customer type"),
    "category": ("客户类别", "类别", "客户分类", "客户状态", "category", "status"),
    "channel_type": ("渠道终端", "渠道/终端", "客户性质", "channel", "channel type"),
    "mobile": (
        "手机",
        "手机号",
        "手机号码",
        "移动电话",
        "mobile",
        "mobile phone",
        "cell",
        "cellphone",
    ),
    "phone": ("电话", "座机", "固定电话", "联系电话", "办公电话", "phone", "tel", "telephone"),
    "email": ("邮箱", "电子邮箱", "电子邮件", "email", "e-mail", "mail"),
    "region": ("地区", "所在地区", "省市区", "所在地", "区域", "region", "area"),
    "address": ("地址", "详细地址", "公司地址", "通讯地址", "address"),
    "source": ("来源", "客户来源", "source", "lead source"),
    "industry": ("行业", "所属行业", "industry"),
    "tags": ("标签", "客户标签", "tags", "tag"),
    "credit_rating": ("信誉度", "信用等级", "credit rating", "rating"),
    "settlement": ("结算方式", "付款方式", "现金或赊销", "settlement", "payment terms"),
    "credit_limit": ("信用额度", "赊销额度", "credit limit"),
    "uscc": (
        "统一社会信用代码",
        "信用代码",
        "社会信用代码",
        "税号",
        "uscc",
        "unified social credit code",
    ),
    "gender": ("性别", "gender", "sex"),
    "birthday": ("生日", "出生日期", "birthday", "date of birth"),
    "remarks": ("备注", "说明", "客户说明", "客户详细说明", "remarks", "notes", "note", "comment"),
    "owner": (
        "负责人",
        "业务员",
        "销售",
        "销售员",
        "所属销售",
        "客户经理",
        "owner",
        "salesperson",
        "account manager",
    ),
    "contact_name": ("联系人", "联系人姓名", "姓名", "contact", "contact name"),
    "contact_mobile": ("联系人手机", "联系人手机号", "contact mobile"),
    "contact_title": ("职务", "职位", "联系人职务", "title", "job title"),
}

# Product sheets (``session.products.import_file``): column key -> spellings. ``category``
# and ``group`` name the record (a category by its name or its path, 门锁/智能门锁).
PRODUCT_HEADER_SYNONYMS: Final[Mapping[str, tuple[str, ...]]] = {
    "name": ("名称", "产品名称", "品名", "商品名称", "product", "product name", "name"),
    "code": (
        "编码",
        "产品编码",
        "货号",
        "物料编码",
        "商品编码",
        "产品编号",
        "code",
        "product code",
        "item code",
        "sku",
    ),
    "specification": ("规格", "规格型号", "型号", "specification", "spec", "model"),
    "unit": ("单位", "计量单位", "unit", "uom"),
    "category": ("类别", "产品类别", "分类", "产品分类", "category", "product category"),
    "group": ("分组", "产品分组", "group", "product group"),
    "price": (
        "单价",
        "价格",
        "标准价格",
        "售价",
        "销售价",
        "price",
        "list price",
        "unit price",
    ),
    "cost": ("成本", "成本价", "cost", "unit cost"),
    "tax_rate": ("税率", "增值税率", "tax rate", "vat rate", "vat"),
    "active": ("启用", "状态", "是否启用", "active", "enabled", "status"),
    "description": ("说明", "备注", "描述", "产品说明", "description", "remarks", "notes"),
}

_STRIP = re.compile(r"[\s*＊:：_\-/()（）\[\]【】]+")


def normalize_header(header: str) -> str:
    """The form headers are compared in."""
    text = unicodedata.normalize("NFKC", str(header)).casefold()
    return _STRIP.sub("", text)


def _index(synonyms: Mapping[str, Iterable[str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for field, names in synonyms.items():
        out[normalize_header(field)] = field
        for name in names:
            out.setdefault(normalize_header(name), field)
    return out


@attrs.frozen
class HeaderMapping:
    """The outcome of mapping a sheet's headers.

    ``columns`` maps a column position to its field; ``unknown`` lists headers that map to
    nothing (reported to the user, or mapped to custom fields); ``duplicates`` lists fields
    that two columns claimed (the first column wins).
    """

    columns: dict[int, str]
    unknown: tuple[str, ...] = ()
    duplicates: tuple[str, ...] = ()

    def field_of(self, position: int) -> str | None:
        return self.columns.get(position)

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.columns[i] for i in sorted(self.columns))


def map_headers(
    headers: Sequence[str | None],
    *,
    explicit: Mapping[str, str] | None = None,
    synonyms: Mapping[str, Iterable[str]] = CUSTOMER_HEADER_SYNONYMS,
    custom_fields: Iterable[str] = (),
) -> HeaderMapping:
    """Map each header to a field.

    Args:
        headers: the sheet's header row, in column order (blank headers are skipped).
        explicit: header -> field chosen by the user; overrides synonyms. Map a header to
            ``""`` to ignore that column.
        synonyms: field -> accepted spellings (defaults to the customer synonyms).
        custom_fields: names of custom fields; a header equal to one maps to ``custom.<name>``.

    Returns:
        The mapping, with unknown headers and fields claimed twice.
    """
    index = _index(synonyms)
    for name in custom_fields:
        index.setdefault(normalize_header(name), f"custom.{name}")
    chosen = {normalize_header(k): v for k, v in (explicit or {}).items()}
    columns: dict[int, str] = {}
    unknown: list[str] = []
    duplicates: list[str] = []
    for position, header in enumerate(headers):
        if header is None or not str(header).strip():
            continue
        key = normalize_header(str(header))
        field = chosen[key] if key in chosen else index.get(key)
        if field == "":
            continue
        if field is None:
            unknown.append(str(header))
            continue
        if field in columns.values():
            duplicates.append(field)
            continue
        columns[position] = field
    return HeaderMapping(columns, tuple(unknown), tuple(dict.fromkeys(duplicates)))
