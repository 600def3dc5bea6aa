"""One way to show a value to a person: labels, money, regions, phones, yes/no, lists and
local times, in 简体中文 or English.

Everything a person reads goes through here: the admin's screens, exports meant for people,
the operation log and messages. A code (``formal``, ``co_ownership_request``,
``owner_id``), a key or a UTC timestamp is never shown as it is stored. Machines get codes:
exports take a ``codes`` option instead.

Pure functions of the value and the language (default: :func:`active_language`); what
needs the store (a user id shown as the user's name) is the workflows' part, passed in as a
``names`` callback.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo

import cn2an  # type: ignore[import-untyped]

from crmkit.domain.converter import converter
from crmkit.domain.messages import ENTITY_NAMES, Language, active_language, field_label
from crmkit.domain.regions import Region
from crmkit.domain.values import USCC, Email, IdNumber, Money, Phone

if TYPE_CHECKING:  # approvals import what imports this module
    from crmkit.domain.approvals import Step

DEFAULT_TIMEZONE: Final = "Asia/Shanghai"

# The labels of crmkit's enum values: enum class name -> value -> (English, 简体中文).
ENUM_LABELS: Final[Mapping[str, Mapping[str, tuple[str, str]]]] = {
    "CustomerKind": {"company": ("Company", "企业"), "individual": ("Individual", "个人")},
    "Category": {
        "potential": ("Potential", "潜在客户"),
        "formal": ("Formal", "正式客户"),
        "signed": ("Signed", "签约客户"),
        "abandoned": ("Abandoned", "放弃客户"),
    },
    "ChannelType": {"terminal": ("End customer", "终端客户"), "channel": ("Channel", "渠道客户")},
    "Settlement": {"cash": ("Cash", "现款"), "credit": ("Credit", "赊销")},
    # 信誉度 as the seeds grade it; each label reads back through the import's aliases.
    "CreditRating": {
        "A": ("A (excellent)", "优"),
        "B": ("B (good)", "良"),
        "C": ("C (fair)", "中"),
        "D": ("D (poor)", "差"),
    },
    "Gender": {"male": ("Male", "男"), "female": ("Female", "女"), "unknown": ("Unknown", "未知")},
    "IdType": {
        "resident": ("Resident identity card", "居民身份证"),
        "passport": ("Passport", "护照"),
        "hk_macao": (
            "Mainland Travel Permit for Hong Kong and Macao Residents",
            "港澳居民来往内地通行证",
        ),
        "taiwan": ("Mainland Travel Permit for Taiwan Residents", "台湾居民来往大陆通行证"),
        "foreign_permanent": ("Foreign Permanent Resident ID Card", "外国人永久居留身份证"),
        "other": ("Other document", "其他证件"),
    },
    "Role": {
        "admin": ("Administrator", "管理员"),
        "manager": ("Sales manager", "销售经理"),
        "sales": ("Salesperson", "销售员"),
        "finance": ("Finance", "财务"),
        "service": ("Customer service", "客服"),
    },
    "AuditAction": {
        "create": ("Create", "新建"),
        "update": ("Update", "修改"),
        "delete": ("Delete", "删除"),
        "restore": ("Restore", "恢复"),
        "purge": ("Purge", "彻底删除"),
        "login": ("Log in", "登录"),
        "login_failed": ("Failed login", "登录失败"),
        "lock": ("Lock", "锁定"),
        "unlock": ("Unlock", "解锁"),
        "password": ("Password change", "修改密码"),
        "merge": ("Merge", "合并"),
        "unmerge": ("Unmerge", "撤销合并"),
        "revert": ("Revert", "撤销导入"),
        "lookup": ("Lookup", "查询"),
    },
    "LeadStatus": {
        "new": ("New", "新线索"),
        "working": ("Working", "跟进中"),
        "converted": ("Converted", "已转化"),
        "disqualified": ("Disqualified", "无效"),
    },
    "QuoteStatus": {
        "draft": ("Draft", "草稿"),
        "sent": ("Sent", "已发送"),
        "accepted": ("Accepted", "已接受"),
        "rejected": ("Rejected", "已拒绝"),
        "expired": ("Expired", "已过期"),
        "superseded": ("Superseded", "已出新版"),
    },
    "OrderStatus": {
        "open": ("In progress", "执行中"),
        "delivered": ("Delivered", "已交付"),
        "completed": ("Signed off", "已验收"),
        "cancelled": ("Cancelled", "已取消"),
        "superseded": ("Superseded", "已出新版"),
    },
    "DeliveryState": {
        "planned": ("Planned", "待交付"),
        "delivered": ("Delivered", "已交付"),
        "cancelled": ("Cancelled", "已取消"),
    },
    "Reminder": {
        "delivery": ("Delivery", "交付提醒"),
        "sign_off": ("Sign-off", "验收提醒"),
        "renewal": ("Renewal", "续费提醒"),
        "warranty": ("Warranty expiry", "质保到期提醒"),
    },
    "ReceivableStatus": {
        "open": ("Open", "未收"),
        "partly_paid": ("Partly paid", "部分收款"),
        "paid": ("Paid", "已收清"),
        "written_off": ("Written off", "已抹零"),
        "void": ("Void", "已作废"),
    },
    "ActivityKind": {
        "visit": ("Visit", "拜访"),
        "call": ("Call", "电话"),
        "sms": ("SMS", "短信"),
        "email": ("Email", "邮件"),
        "meeting": ("Meeting", "会议"),
    },
    "Channel": {"sms": ("SMS", "短信"), "email": ("Email", "邮件")},
    "Direction": {"out": ("Sent", "发出"), "in": ("Received", "收到")},
    "MessageSource": {
        "manual": ("Written", "手动发送"),
        "group": ("Group send", "群发"),
        "sfa": ("SFA plan", "SFA方案"),
        "reply": ("Reply", "回复"),
        "callback": ("Call-back", "回拨"),
    },
    "PlanKind": {
        "periodic": ("Periodic", "定期"),
        "cyclic": ("Cyclic", "循环"),
        "timed": ("Timed", "定时"),
    },
    "OffsetUnit": {
        "days": ("Days", "天"),
        "workdays": ("Working days", "工作日"),
        "date": ("Date", "日期"),
        "birthday": ("Birthday", "生日"),
    },
    "StepAction": {
        "sms": ("Send SMS", "发送短信"),
        "email": ("Send email", "发送邮件"),
        "task": ("Manual task", "手动事务"),
    },
    "EnrolmentStatus": {
        "active": ("Running", "执行中"),
        "paused": ("Paused", "已暂停"),
        "finished": ("Finished", "已完成"),
        "stopped": ("Stopped", "已停止"),
    },
    "RunOutcome": {
        "sent": ("Sent", "已发送"),
        "task": ("Task created", "已生成事务"),
        "no_address": ("No number or address", "无联系方式"),
        "unsubscribed": ("Unsubscribed", "已退订"),
        "failed": ("Failed", "失败"),
        "skipped": ("Skipped", "已跳过"),
        "missed": ("Missed", "已错过"),
    },
    "OutboxStatus": {
        "pending": ("Waiting", "待发送"),
        "sending": ("Sending", "发送中"),
        "sent": ("Sent", "已发送"),
        "unknown": ("In doubt", "结果不明"),
        "review": ("To check", "待确认"),
        "dead": ("Failed", "发送失败"),
    },
    "TicketType": {
        "consultation": ("Consultation", "咨询"),
        "complaint": ("Complaint", "投诉"),
        "repair": ("Repair", "维修"),
        "return_visit": ("Return visit", "回访"),
        "suggestion": ("Suggestion", "建议"),
    },
    "TicketChannel": {
        "phone": ("Phone", "电话"),
        "sms": ("SMS", "短信"),
        "email": ("Email", "邮件"),
        "walk_in": ("Walk-in", "上门"),
        "web": ("Web", "网站"),
    },
    "TicketPriority": {
        "low": ("Low", "低"),
        "normal": ("Normal", "普通"),
        "high": ("High", "高"),
        "urgent": ("Urgent", "紧急"),
    },
    "TicketStatus": {
        "new": ("New", "新建"),
        "assigned": ("Assigned", "已分派"),
        "in_progress": ("In progress", "处理中"),
        "waiting": ("Waiting for customer", "等待客户"),
        "resolved": ("Resolved", "已解决"),
        "closed": ("Closed", "已关闭"),
    },
    "RecordKind": {
        "reply": ("Reply", "答复"),
        "call": ("Call", "电话"),
        "visit": ("On-site visit", "上门服务"),
        "note": ("Internal note", "内部备注"),
    },
    "SlaTarget": {
        "response": ("First response", "首次响应"),
        "resolution": ("Resolution", "解决"),
    },
    "Severity": {
        "minor": ("Minor", "一般"),
        "major": ("Major", "严重"),
        "critical": ("Critical", "重大"),
    },
    "ComplaintStatus": {
        "open": ("Open", "待处理"),
        "investigating": ("Investigating", "调查中"),
        "acting": ("Corrective actions under way", "整改中"),
        "closed": ("Closed", "已结案"),
    },
    "ActionStatus": {
        "open": ("Open", "待整改"),
        "done": ("Done", "已完成"),
        "verified": ("Verified", "已核实"),
    },
    "RepairStatus": {
        "received": ("Received", "已接单"),
        "diagnosing": ("Diagnosing", "检测中"),
        "repairing": ("Repairing", "维修中"),
        "done": ("Repaired", "已修复"),
        "delivered": ("Delivered", "已交付"),
        "cancelled": ("Cancelled", "已取消"),
    },
    "ArticleStatus": {
        "draft": ("Draft", "草稿"),
        "published": ("Published", "已发布"),
        "archived": ("Archived", "已归档"),
    },
    "TaskStatus": {
        "open": ("To do", "待办"),
        "done": ("Done", "已完成"),
        "cancelled": ("Cancelled", "已取消"),
    },
    "PaymentMethod": {
        "bank_transfer": ("Bank transfer", "银行转账"),
        "cash": ("Cash", "现金"),
        "wechat": ("WeChat Pay", "微信支付"),
        "alipay": ("Alipay", "支付宝"),
        "cheque": ("Cheque", "支票"),
    },
    "PaymentCategory": {
        "sales": ("Sales", "货款"),
        "deposit": ("Deposit", "定金/预付款"),
        "service": ("Service fee", "服务费"),
        "other": ("Other", "其他"),
    },
    "StatementEntry": {
        "receivable": ("Receivable", "应收"),
        "payment": ("Payment", "回款"),
        "payment_reversal": ("Payment reversed", "回款冲回"),
        "write_off": ("Write-off", "抹零"),
        "write_off_reversal": ("Write-off reversed", "抹零冲回"),
    },
    "PaymentStatus": {
        "posted": ("Posted", "已入账"),
        "reversed": ("Reversed", "已冲回"),
    },
    "Bucket": {
        "not_due": ("Not due", "未到期"),
        "1_30": ("1–30 days", "1–30天"),
        "31_60": ("31–60 days", "31–60天"),
        "61_90": ("61–90 days", "61–90天"),
        "over_90": ("Over 90 days", "90天以上"),
    },
    "OpportunityStatus": {
        "open": ("Open", "进行中"),
        "won": ("Won", "赢单"),
        "lost": ("Lost", "输单"),
    },
    "Outcome": {
        "created": ("created", "已创建"),
        "updated": ("updated", "已更新"),
        "duplicate": ("duplicate", "重复"),
        "failed": ("failed", "失败"),
    },
    # What a dry run, which writes nothing, says an import would do.
    "OutcomeDryRun": {
        "created": ("would be created", "将创建"),
        "updated": ("would be updated", "将更新"),
        "duplicate": ("would be a duplicate", "将判为重复"),
        "failed": ("would fail", "将失败"),
    },
    "ImportOutcome": {
        "created": ("created", "已新建"),
        "updated": ("updated", "已更新"),
        "skipped": ("skipped", "已跳过"),
        "failed": ("failed", "失败"),
        "would_create": ("would be created", "将新建"),
        "would_update": ("would be updated", "将更新"),
    },
    "OnDuplicate": {
        "skip": ("Skip", "跳过"),
        "update": ("Update the existing record", "更新已有记录"),
        "create": ("Create anyway", "仍然新建"),
    },
    "DuplicatePolicy": {
        "skip": ("Skip", "跳过"),
        "update": ("Update the existing record", "更新已有记录"),
        "error": ("Fail the row", "记为失败"),
    },
    "SkipReason": {
        "exists": ("Already exists", "已存在"),
        "duplicate_row": ("Repeats an earlier row", "与前面的行重复"),
        "unchanged": ("Nothing to change", "无变化"),
        "empty": ("Empty row", "空行"),
    },
    "ImportStatus": {
        "running": ("Running", "进行中"),
        "finished": ("Finished", "已完成"),
        "reverted": ("Reverted", "已撤销"),
    },
    "RequestStatus": {
        "pending": ("Pending", "待审批"),
        "granted": ("Granted", "已同意"),
        "refused": ("Refused", "已拒绝"),
        "withdrawn": ("Withdrawn", "已撤回"),
    },
    "CustomFieldType": {
        "text": ("Text", "文本"),
        "number": ("Number", "数字"),
        "date": ("Date", "日期"),
        "choice": ("Choice", "选项"),
        "boolean": ("Yes/no", "是/否"),
    },
    "ApprovalStatus": {
        "draft": ("Draft", "草稿"),
        "pending": ("Pending approval", "审批中"),
        "approved": ("Approved", "已审批"),
        "rejected": ("Rejected", "已驳回"),
        "withdrawn": ("Withdrawn", "已撤回"),
    },
    "Decision": {"approve": ("Approve", "同意"), "reject": ("Reject", "驳回")},
    "PhoneKind": {
        "mobile": ("Mobile", "手机"),
        "fixed_line": ("Landline", "固定电话"),
        "other": ("Other", "其他"),
    },
}

_YES_NO: Final = {"en": ("Yes", "No"), "zh": ("是", "否")}
_LIST_SEPARATOR: Final = {"en": ", ", "zh": "、"}


def _lang(lang: Language | None) -> Language:
    return lang or active_language()


def label(value: enum.Enum | str, lang: Language | None = None, *, of: str | None = None) -> str:
    """The label of an enum value (``Category.FORMAL`` → 正式客户).

    A bare string is looked up in the enum class named ``of`` (``label("formal",
    of="Category")``), else in every enum, the first that knows it; a value no enum knows
    is returned as it is (an application's own code, say).
    """
    language = _lang(lang)
    index = 0 if language == "en" else 1
    if isinstance(value, enum.Enum):
        found = ENUM_LABELS.get(type(value).__name__, {}).get(str(value.value))
        return found[index] if found else str(value.value)
    tables = (
        [ENUM_LABELS[of]] if of is not None and of in ENUM_LABELS else list(ENUM_LABELS.values())
    )
    for table in tables:
        if value in table:
            return table[value][index]
    return value


def choices(kind: type[enum.Enum], lang: Language | None = None) -> list[tuple[str, str]]:
    """``(code, label)`` pairs of an enum, for a select."""
    return [(str(m.value), label(m, lang)) for m in kind]


def entity_label(entity_type: str, lang: Language | None = None) -> str:
    """What an entity type is called (``co_ownership_request`` → 共享客户申请)."""
    names = ENTITY_NAMES.get(entity_type)
    if names is None:
        return entity_type.replace("_", " ") if _lang(lang) == "en" else entity_type
    return names[0] if _lang(lang) == "en" else names[1]


def yes_no(value: bool, lang: Language | None = None) -> str:
    """是 / 否 (Yes / No)."""
    yes, no = _YES_NO[_lang(lang)]
    return yes if value else no


def system_actor(lang: Language | None = None) -> str:
    """Who did what crmkit itself did (imports' bookkeeping, due jobs, the CLI)."""
    return "System" if _lang(lang) == "en" else "系统"


def local_time(at: datetime, tz: str = DEFAULT_TIMEZONE) -> str:
    """An instant in the reader's time zone, to the minute: ``2026-12-06 12:30``."""
    return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def money(value: Money, lang: Language | None = None) -> str:
    """An amount as people write it (Babel's currency format): ``¥1,999.00``
    (English: ``CN¥1,999.00``)."""
    return value.format("en" if _lang(lang) == "en" else "zh_CN")


def amount_in_words(value: Money) -> str:
    """An amount in Chinese capitals as invoices and contracts write it (大写金额):
    ``人民币壹万玖仟玖佰玖拾元整``; empty for a currency other than CNY (cn2an)."""
    if value.currency != "CNY":
        return ""
    return "人民币" + str(cn2an.an2cn(str(value.quantize().amount), "rmb"))


def step_label(step: Step, lang: Language | None = None) -> str:
    """An approval step's name: 上级审批 / "Manager approval"."""
    if _lang(lang) == "en" and step.label_en:
        return step.label_en
    return step.label


def percent(rate: Decimal) -> str:
    """A fraction as a percentage: ``Decimal("0.13")`` → ``13%``, ``0.065`` → ``6.5%``."""
    return f"{(rate * 100).normalize():f}%"


def show(value: Any, lang: Language | None = None, *, tz: str = DEFAULT_TIMEZONE) -> str:
    """Any crmkit value as the text a person reads (not escaped: templates do that).

    None is empty; yes/no, enum labels, phones in their national form, regions as their
    path (山东省/青岛市/市南区), money with its currency, identity numbers masked
    (370202********1237), instants in ``tz``, lists joined (、 in Chinese), custom-field
    mappings as ``name: value``.
    """
    language = _lang(lang)
    if value is None:
        return ""
    if isinstance(value, bool):
        return yes_no(value, language)
    if isinstance(value, enum.Enum):
        return label(value, language)
    if isinstance(value, Phone):
        return value.national
    if isinstance(value, Email | USCC):
        return str(value.value)
    if isinstance(value, IdNumber):
        return value.masked  # a person reads it masked, wherever it is shown
    if isinstance(value, Region):
        return value.path
    if isinstance(value, Money):
        return money(value, language)
    if isinstance(value, datetime):
        return local_time(value, tz)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {show(v, language, tz=tz)}" for k, v in value.items())
    if isinstance(value, tuple | list | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return _LIST_SEPARATOR[language].join(show(v, language, tz=tz) for v in items)
    return str(value)


def show_stored(
    raw: Any,
    kind: Any,
    lang: Language | None = None,
    *,
    tz: str = DEFAULT_TIMEZONE,
    name_of: Callable[[str], str | None] | None = None,
) -> str:
    """A value as stored (an audit diff's JSON: codes, ISO times, region codes, amounts as
    mappings) shown as :func:`show` shows the typed value of type ``kind``.

    ``kind`` may also be ``"rate"``: a fraction shown as a percentage (13%); ``"counts"``:
    outcome -> number (an import's), shown as 已创建 3、失败 1; ``"members"``: member tokens
    (``role:sales``, ``user:<id>``) shown as 角色：销售员 and the user's name (``name_of``);
    ``"children"``: a child collection (a quote's lines), shown by its count, 3 项;
    a mapping of field -> kind: a record as stored (or a list of them: a merge's losers),
    each field shown as its kind is (an identity number masked, a region by its path).
    ``name_of`` turns an id into a name, for a reference field (``owner_id``, a list of
    ids); it returns None for an id it does not know, which is then shown as 已删除的记录
    (a deleted record) rather than as the id. A value that does not read as ``kind`` is
    shown as it is.
    """
    language = _lang(lang)
    if raw is None or raw == "" or raw == [] or raw == ():
        return ""
    if name_of is not None and kind != "members":
        ids: Iterable[Any] = raw if isinstance(raw, list | tuple) else (raw,)
        names = [name_of(str(i)) or _gone(language) for i in ids]
        return _LIST_SEPARATOR[language].join(names)
    if kind == "counts" and isinstance(raw, Mapping):
        return _LIST_SEPARATOR[language].join(
            f"{label(str(k), language, of='Outcome')} {v}" for k, v in raw.items()
        )
    if kind == "children" and isinstance(raw, list | tuple):
        return f"{len(raw)} item(s)" if language == "en" else f"{len(raw)} 项"
    if kind == "members" and isinstance(raw, list | tuple):
        return _LIST_SEPARATOR[language].join(member(str(t), language, name_of) for t in raw)
    if isinstance(kind, Mapping):
        records = raw if isinstance(raw, list | tuple) else [raw]
        return _LIST_SEPARATOR[language].join(
            "; ".join(f"{k}: {show_stored(v, kind.get(k), language, tz=tz)}" for k, v in r.items())
            if isinstance(r, Mapping)
            else show(r, language, tz=tz)
            for r in records
        )
    if kind == "rate":
        try:
            return percent(Decimal(str(raw)))
        except ArithmeticError:
            return str(raw)
    if kind is not None:
        try:
            value = converter().structure(raw, kind)
        except Exception:
            value = raw
        return show(value, language, tz=tz)
    if isinstance(raw, str):
        try:
            return local_time(datetime.fromisoformat(raw), tz) if "T" in raw else raw
        except ValueError:
            return raw
    return show(raw, language, tz=tz)


# Why the matcher thinks two records are (not) one: its reason codes in words. The field
# part is the rule's label (``name``, ``phone`` …); ``=`` same, ``≈`` similar, ``≠`` differs.
_REASON = re.compile(r"^(?P<field>[a-z_]+)(?P<op>=|≈|≠)(?P<rest>.*)$")
_REASON_FIELDS: Final[Mapping[str, tuple[str, str]]] = {
    "name": ("name", "名称"),
    "phone": ("phone", "电话"),
    "mobile": ("mobile", "手机"),
    "email": ("email", "邮箱"),
    "contact": ("contact", "联系人"),
    "address": ("address", "地址"),
    "location": ("city", "所在城市"),
    "birthday": ("birthday", "生日"),
    "customer": ("customer", "所属客户"),
    "uscc": ("unified social credit code", "统一社会信用代码"),
    "branch": ("branch", "分支机构"),
}
_REASON_WORDS: Final = {
    "en": {"=": "same {field}", "≈": "similar {field}", "≠": "different {field}"},
    "zh": {"=": "{field}相同", "≈": "{field}相近", "≠": "{field}不同"},
}
_REASON_SPECIAL: Final[Mapping[str, tuple[str, str]]] = {
    "branch≠parent": ("a branch and its head office", "分支机构与总部"),
}


def reason_field(code: str, lang: Language | None = None) -> str:
    """The field a matcher rule compares, by the label its reasons use (``location`` →
    所在城市)."""
    names = _REASON_FIELDS.get(code)
    if names is None:
        return field_label(code, lang)
    return names[0] if _lang(lang) == "en" else names[1]


def reason(code: str, lang: Language | None = None) -> str:
    """A duplicate reason (``name≈0.96``, ``phone=``, ``location≠``) in words: 名称相近,
    电话相同, 所在城市不同. The similarity behind ``≈`` is left out: a match shows one
    score, its own."""
    language = _lang(lang)
    index = 0 if language == "en" else 1
    if code in _REASON_SPECIAL:
        return _REASON_SPECIAL[code][index]
    found = _REASON.match(code)
    if found is None:
        return code
    field = reason_field(found["field"], language)
    return _REASON_WORDS[language][found["op"]].format(field=field)


def reasons(codes: Iterable[str], lang: Language | None = None) -> str:
    """Several reasons in words, joined (；in Chinese), each once."""
    language = _lang(lang)
    shown = dict.fromkeys(reason(c, language) for c in codes)
    return ("；" if language == "zh" else "; ").join(shown)


def score(value: float) -> str:
    """A match score as the one percentage shown for it: ``0.94`` → ``94%``."""
    return f"{round(value * 100)}%"


# The notes crmkit itself writes on audit entries, as people read them: the ids inside
# are left out (the entry names its record). A note a person wrote is shown as written.
_ID = r"\S+"
_NOTES: Final = tuple(
    (re.compile(f"^{pattern}$"), en, zh)
    for pattern, en, zh in (
        ("import", "by import", "导入"),
        ("import finished", "import finished", "导入完成"),
        (f"import {_ID} reverted", "import reverted", "导入已撤销"),
        (f"merge {_ID}", "merge", "合并"),
        (f"[a-z_]+ {_ID} <- .*", "merged", "合并"),
        ("undone", "undone", "已撤销"),
        (f"with customer {_ID}", "with its customer", "随所属客户"),
        (r"(\d+) contact\(s\) with it", "with {0} contact(s)", "连同 {0} 个联系人"),
        (
            r"(\d+) similar customer\(s\) shown",
            "{0} similar customer(s) shown",
            "显示了 {0} 个相似客户",
        ),
        (f"co-ownership request {_ID} granted", "co-ownership granted", "共享客户申请已同意"),
        ("not a duplicate", "marked not a duplicate", "标记为不是重复"),
        (r"failure (\d+) today", "failure {0} today", "今天第 {0} 次失败"),
        (
            r"the last active admin: locked for (\d+) minutes",
            "the last active admin: locked for {0} minutes",
            "最后一位管理员：锁定 {0} 分钟",
        ),
        (
            "claim expired: the worker stopped; the message may have been sent",
            "the worker stopped; the message may have been sent",
            "处理进程已停止，消息可能已发出",
        ),
        (
            "claim expired: the worker stopped before the job committed",
            "the worker stopped before the job was done",
            "处理进程在任务完成前停止",
        ),
    )
)


def note(text: str | None, lang: Language | None = None) -> str:
    """An audit entry's note as people read it (crmkit's own notes translated, their ids
    left out; anything else as written)."""
    if not text:
        return ""
    index = 1 if _lang(lang) == "zh" else 0
    for pattern, *texts in _NOTES:
        found = pattern.match(text)
        if found:
            return texts[index].format(*found.groups())
    return text


def member(
    token: str, lang: Language | None = None, name_of: Callable[[str], str | None] | None = None
) -> str:
    """A member token as people read it: ``role:sales`` → 角色：销售员, ``user:<id>`` → the
    user's name (by ``name_of``)."""
    language = _lang(lang)
    kind, colon, value = token.partition(":")
    if not colon:  # a bare user id (co-owners, a task's watchers)
        kind, value = "user", token
    if kind == "role":
        role = label(value, language, of="Role")
        return f"Role: {role}" if language == "en" else f"角色：{role}"
    if kind == "user":
        return (name_of(value) if name_of else None) or _gone(language)
    return token


def _gone(lang: Language) -> str:
    return "(deleted record)" if lang == "en" else "（已删除的记录）"


def field_name(field: str, lang: Language | None = None, entity: str | None = None) -> str:
    """A field's label (``owner_id`` → 负责人; an opportunity's ``title`` → 机会名称); see
    :func:`crmkit.domain.messages.field_label`."""
    return field_label(field, lang, entity)
