"""Spreadsheet header mapping: which column holds which field.

Chinese CRM exports and hand-made sheets name the same column many ways (公司名称, 企业名称,
客户名称, Company …). Headers are compared in a normalised form (NFKC, case-folded, without
spaces, punctuation or the ``*`` that marks a required column), so ``手机号码*`` and
``手机 号码`` both map to ``mobile``. An explicit mapping always wins.

No column is dropped without a word: a header that maps to nothing, a column the mapping
ignores and a second column on a field one column already gives each leave a
:class:`MappingWarning` on the mapping, which an import form shows before the run. A region
may take several columns (``省份``, ``城市``, ``区县``, or several columns mapped to ``region``):
their cells combine into the one region (:func:`crmkit.domain.regions.region_from_cells`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import attrs

from crmkit.domain.messages import Language, render

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
    "region": ("地区", "所在地区", "省市区", "省市", "所在地", "区域", "region", "area"),
    # A region written in separate columns: their cells combine into ``region``.
    "province": (
        "省份",
        "省",
        "所在省份",
        "所属省份",
        "省份名称",
        "所在省",
        "省名",
        "province",
        "province name",
    ),
    "city": ("城市", "市", "所在城市", "所属城市", "城市名称", "地级市", "所在市", "city"),
    "district": (
        "区县",
        "区/县",
        "县区",
        "区",
        "县",
        "所在区县",
        "所属区县",
        "区县名称",
        "district",
        "county",
    ),
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
    "id_number": (
        "身份证号",
        "身份证",
        "身份证号码",
        "证件号码",
        "居民身份证号",
        "居民身份证号码",
        "id_number",
        "id number",
        "id card",
        "ID No.",
    ),
    "id_type": ("证件类型", "证件种类", "id_type", "ID type", "document type"),
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


# The customer columns that together give its region. Every one of them may be a column of its
# own; ``region`` itself may take several (their cells combine, as the parts' do).
REGION_COLUMNS: Final[tuple[str, ...]] = ("region", "province", "city", "district")
MULTI_COLUMN_FIELDS: Final[frozenset[str]] = frozenset({"region"})


@attrs.frozen
class MappingWarning:
    """A column whose cells an import will not keep, said before the run.

    Attributes:
        code: ``mapping.unmapped`` (its header matches no field), ``mapping.ignored`` (the
            mapping ignores it) or ``mapping.taken`` (another column gives its field).
        column: the column's header.
        position: the column's position (0 is the first).
        field: the field it would have given (``mapping.taken``).
        kept: the header of the column that gives that field instead (``mapping.taken``).
    """

    code: str
    column: str
    position: int
    field: str | None = None
    kept: str | None = None

    def message(self, lang: Language | None = None) -> str:
        """The warning in ``lang`` (default: the active language)."""
        return render(self.code, lang, column=self.column, kept=self.kept or "")

    @property
    def message_en(self) -> str:
        return self.message("en")

    @property
    def message_zh(self) -> str:
        return self.message("zh")


@attrs.frozen
class HeaderMapping:
    """The outcome of mapping a sheet's headers.

    ``columns`` maps a column position to its field (several positions may give parts of
    the region, see ``REGION_COLUMNS``); ``unknown`` lists headers that map to nothing
    (reported to the user, or mapped to custom fields); ``duplicates`` lists fields that two
    columns claimed (the first column wins); ``warnings`` says, column by column, which
    cells an import with this mapping would not keep.
    """

    columns: dict[int, str]
    unknown: tuple[str, ...] = ()
    duplicates: tuple[str, ...] = ()
    warnings: tuple[MappingWarning, ...] = ()

    def field_of(self, position: int) -> str | None:
        return self.columns.get(position)

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.columns[i] for i in sorted(self.columns))

    def headers_by_field(self, headers: Sequence[str | None]) -> dict[str, str]:
        """Field -> the header of its column, as row problems name it. The columns of the
        region (``REGION_COLUMNS``) are named together under ``region`` too: a region that
        does not parse is the sum of their cells (``省份, 城市, 区县``)."""
        named: dict[str, list[str]] = {}
        for position in sorted(self.columns):
            field = self.columns[position]
            header = str(headers[position]) if position < len(headers) else field
            named.setdefault(field, []).append(header)
            if field in REGION_COLUMNS and field != "region":
                named.setdefault("region", []).append(header)
        return {field: ", ".join(names) for field, names in named.items()}


def map_headers(
    headers: Sequence[str | None],
    *,
    explicit: Mapping[str, str] | None = None,
    synonyms: Mapping[str, Iterable[str]] = CUSTOMER_HEADER_SYNONYMS,
    custom_fields: Iterable[str] = (),
    multi: Iterable[str] = MULTI_COLUMN_FIELDS,
) -> HeaderMapping:
    """Map each header to a field.

    Args:
        headers: the sheet's header row, in column order (blank headers are skipped).
        explicit: header -> field chosen by the user; overrides synonyms. Map a header to
            ``""`` to ignore that column.
        synonyms: field -> accepted spellings (defaults to the customer synonyms).
        custom_fields: names of custom fields; a header equal to one maps to ``custom.<name>``.
        multi: fields that several columns may give (their cells combine; by default the
            region); any other field takes its first column, and a later column on it is
            left out with a ``mapping.taken`` warning.

    Returns:
        The mapping, with unknown headers, fields claimed twice, and a warning for every
        column whose cells would not be kept.
    """
    index = _index(synonyms)
    for name in custom_fields:
        index.setdefault(normalize_header(name), f"custom.{name}")
    chosen = {normalize_header(k): v for k, v in (explicit or {}).items()}
    several = frozenset(multi)
    columns: dict[int, str] = {}
    first: dict[str, str] = {}  # field -> the header of the column that gives it
    unknown: list[str] = []
    duplicates: list[str] = []
    warnings: list[MappingWarning] = []
    for position, header in enumerate(headers):
        if header is None or not str(header).strip():
            continue
        text = str(header)
        key = normalize_header(text)
        field = chosen[key] if key in chosen else index.get(key)
        if field == "":
            warnings.append(MappingWarning("mapping.ignored", text, position))
            continue
        if field is None:
            unknown.append(text)
            warnings.append(MappingWarning("mapping.unmapped", text, position))
            continue
        if field in first and field not in several:
            duplicates.append(field)
            warnings.append(MappingWarning("mapping.taken", text, position, field, first[field]))
            continue
        first.setdefault(field, text)
        columns[position] = field
    return HeaderMapping(columns, tuple(unknown), tuple(dict.fromkeys(duplicates)), tuple(warnings))
