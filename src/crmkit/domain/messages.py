"""Message catalogue: every user-facing text is keyed by a code, in English and 简体中文.

Templates use ``str.format`` placeholders filled from an error's ``params``. The active
language is a context variable so that a web request or a CLI run can switch it without
touching global state shared with other threads.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Final, Literal

Language = Literal["zh", "en"]
LANGUAGES: Final[tuple[Language, ...]] = ("zh", "en")

_active: ContextVar[Language] = ContextVar("crmkit_language", default="zh")

# code -> (English, 简体中文)
CATALOG: Final[Mapping[str, tuple[str, str]]] = {
    # generic
    "required": ("is required", "必填"),
    "required_with": ("is required when {given} is given", "填写了{given}时必填"),
    "too_long": ("is longer than {max} characters", "超过 {max} 个字符"),
    "invalid_type": ("has the wrong type (expected {expected})", "类型错误（应为 {expected}）"),
    "invalid_choice": ("must be one of: {choices}", "必须是以下之一：{choices}"),
    "unknown_field": ("is not a known field", "不是已知字段"),
    "text.control_char": ("contains an invisible control character", "含有不可见的控制字符"),
    "merge.winner_among_losers": (
        "the record kept cannot also be merged away",
        "保留的记录不能同时被合并",
    ),
    "not_found_ref": ("refers to a record that does not exist", "引用的记录不存在"),
    "immutable": ("cannot be changed", "不可修改"),
    "taken": ("is already used by another record", "已被其他记录使用"),
    "ref_cycle": ("would make the record its own ancestor", "会使记录成为自己的上级"),
    # a reference given by name (spreadsheet imports: 类别 门锁/智能门锁, 分组 工程项目价)
    "ref.unknown_name": ("no record has this name", "没有这个名称的记录"),
    "ref.ambiguous": ("is the name of {count} records", "有 {count} 条同名记录"),
    "ref.ambiguous_path": (
        "is the name of {count} records; give the path, e.g. {example}",
        "有 {count} 条同名记录，请填写完整路径，如 {example}",
    ),
    "import.duplicate_row": ("repeats row {row} of the file", "与文件第 {row} 行重复"),
    # an import's column mapping, said before the run (crmkit.domain.headers.MappingWarning)
    "mapping.unmapped": (
        "column {column} matches no field: its cells will not be imported",
        "“{column}”列没有对应的字段，其内容不会导入",
    ),
    "mapping.ignored": (
        "column {column} is ignored: its cells will not be imported",
        "“{column}”列设为忽略，其内容不会导入",
    ),
    "mapping.taken": (
        "column {column} will not be imported: column {kept} gives the same field",
        "“{column}”列不会导入：同一字段已取自“{kept}”列",
    ),
    "member.invalid": (
        "is not a member token (user:<id> or role:<role>)",
        "不是有效的成员（user:<用户> 或 role:<角色>）",
    ),
    "rate.invalid": ("is not a rate from 0 to less than 100%", "不是 0 到 100%（不含）之间的比率"),
    "number.positive": ("must be greater than zero", "必须大于零"),
    "money.currency_mismatch": (
        "is in another currency than the price",
        "与价格的币种不一致",
    ),
    # phones and emails
    "phone.invalid": ("is not a valid phone number", "不是有效的电话号码"),
    "phone.not_mobile": ("is not a mobile number", "不是手机号码"),
    "phone.not_fixed": ("is not a fixed-line number", "不是固定电话号码"),
    "phone.mobile_extension": ("a mobile number has no extension", "手机号码不带分机号"),
    "email.invalid": ("is not a valid email address: {reason}", "不是有效的电子邮箱：{reason_zh}"),
    # names
    "name.punctuation_only": (
        "must contain letters or Chinese characters, not only punctuation",
        "不能只由标点符号组成，必须包含汉字或字母",
    ),
    "name.cn_chars": (
        "a Chinese name may contain only Chinese characters, digits and brackets (found {chars})",
        "中文名称只能包含汉字、数字和括号（发现 {chars}）",
    ),
    "name.en_chars": (
        "an English name may contain only letters, digits, spaces and , . ( ) & - (found {chars})",
        "英文名称只能包含字母、数字、空格及 , . ( ) & -（发现 {chars}）",
    ),
    "name.cn_mixed_chars": (
        "a Chinese name with Latin letters may contain only Chinese characters, letters, "
        "digits, brackets and & - . · (found {chars})",
        "含字母的中文名称只能包含汉字、字母、数字、括号及 & - . ·（发现 {chars}）",
    ),
    "name.mixed": (
        "mixes Chinese characters with Latin letters; use one script",
        "中英文字符混用，请只用一种文字",
    ),
    "name.brackets": ("has unbalanced brackets", "括号不成对"),
    # identifiers, regions, money
    "uscc.invalid": (
        "is not a valid unified social credit code: {reason}",
        "不是有效的统一社会信用代码：{reason_zh}",
    ),
    # ``document``: what the number is, by its type (values.ID_DOCUMENTS)
    "id_number.invalid": (
        "is not a valid {document}: {reason}",
        "不是有效的{document_zh}：{reason_zh}",
    ),
    "region.unknown": (
        "is not a known province, city or district",
        "不是有效的行政区划，请按“省/市/区县”填写，如 山东省/青岛市/市南区",
    ),
    "region.mismatch": (
        "{child} is not part of {parent}",
        "{child} 不属于 {parent}",
    ),
    "region.conflict": (
        "names two different places: {first} and {second}",
        "给出了两个不同的地区：{first} 与 {second}",
    ),
    "money.invalid": ("is not a valid amount", "不是有效的金额"),
    "money.negative": ("must not be negative", "不能为负数"),
    "money.currency": ("has an unknown currency {currency}", "币种 {currency} 无效"),
    "date.invalid": ("is not a valid date", "不是有效的日期"),
    "date.before_start": ("is before the start date", "早于起始日期"),
    "datetime.invalid": ("is not a valid date and time", "不是有效的日期时间"),
    "date.future": ("must not be in the future", "不能晚于今天"),
    "number.invalid": ("is not a valid number", "不是有效的数字"),
    "number.range": ("must be between {min} and {max}", "必须在 {min} 到 {max} 之间"),
    "number.places": (
        "must have at most {places} decimal places",
        "最多保留 {places} 位小数",
    ),
    # sales arithmetic (crmkit.domain.pricing)
    "pricing.discount": (
        "is not a discount from 0 to 100%",
        "不是 0 到 100% 之间的折扣",
    ),
    "pricing.tax_rate": (
        "is not a tax rate from 0 to 100%",
        "不是 0 到 100% 之间的税率",
    ),
    "pricing.currency": (
        "is in {currency}, not in the document's currency {expected}",
        "币种为 {currency}，与单据币种 {expected} 不一致",
    ),
    "setting.invalid": ("is not a valid value", "不是有效的值"),
    # the data dictionary (数据字典)
    "dictionary.unknown": ("is not one of the choices: {choices}", "不在可选项中，可选：{choices}"),
    "dictionary.taken": ("already stands for {other} in this list", "在本字典中已表示“{other}”"),
    "dictionary.list_code": (
        "must be a code of lower-case letters, digits and _",
        "只能由小写字母、数字和下划线组成",
    ),
    "bool.invalid": ("is not a yes/no value", "不是有效的是/否值"),
    # customers
    "customer.uscc_individual": ("is only for companies", "仅适用于企业客户"),
    "customer.birthday_company": ("is only for individuals", "仅适用于个人客户"),
    "customer.id_number_company": ("is only for individuals", "仅适用于个人客户"),
    "customer.id_type_company": ("is only for individuals", "仅适用于个人客户"),
    "customer.id_type_without_number": (
        "needs the document's number (ID number)",
        "需同时填写证件号码（身份证号）",
    ),
    "customer.birthday_id_number": (
        "does not match the birth date in the identity number",
        "与身份证号中的出生日期不一致",
    ),
    "customer.parent_cycle": ("would make the customer its own ancestor", "会造成上级客户循环"),
    "customer.parent_self": ("cannot be the customer itself", "不能是客户自身"),
    "customer.credit_limit_cash": (
        "is only for customers on credit terms",
        "仅适用于赊销（信用）结算客户",
    ),
    "customer.owner_inactive": ("is not an active user", "不是有效的在职用户"),
    "customer.owner_in_co_owners": (
        "lists the owner as a co-owner",
        "共享负责人中包含了负责人本人",
    ),
    # users
    "user.role": ("must be one of: {choices}", "必须是以下之一：{choices}"),
    "user.manager_cycle": ("would make the user their own manager", "会造成上下级循环"),
    "user.password_short": ("must be at least {min} characters", "至少需要 {min} 个字符"),
    "user.login_format": (
        "may contain only lower-case letters, digits, '.', '_' and '-'",
        "只能包含小写字母、数字、'.'、'_' 和 '-'",
    ),
    # custom fields
    "custom.unknown": ("is not a defined custom field", "不是已定义的自定义字段"),
    # opportunities (销售机会)
    "probability.invalid": (
        "is not a probability from 0 to 100%",
        "不是 0 到 100% 之间的概率",
    ),
    "date.past": ("must not be in the past", "不能早于今天"),
    "month.invalid": ("is not a month such as 2027-01", "不是有效的月份，如 2027-01"),
    "opportunity.stage_unknown": (
        "is not a stage of the pipeline: {choices}",
        "不是销售阶段，可选：{choices}",
    ),
    "opportunity.stage_end": (
        "ends the opportunity: win or lose it instead",
        "是结束阶段，请用“赢单”或“输单”操作",
    ),
    "opportunity.currency_mismatch": (
        "is in another currency than the amount",
        "与预计金额的币种不一致",
    ),
    "opportunity.too_many": ("lists more than {max} names", "超过 {max} 个"),
    "opportunity.customer_unseen": (
        "is not a customer you can see",
        "不是您可查看的客户",
    ),
    "opportunity.group_by": (
        "must be month, owner, team or several of them",
        "只能按月份、负责人、团队或其组合汇总",
    ),
    "opportunity.month_order": ("is before the first month", "早于起始月份"),
    "opportunity.bands": (
        "must rise from 0 to 100%, such as 0, 30%, 70%, 100%",
        "须从 0 递增到 100%，如 0、30%、70%、100%",
    ),
    # quotes (报价单)
    "quote.customer_unseen": ("is not a customer you can see", "不是您可查看的客户"),
    "quote.opportunity_customer": (
        "is an opportunity of another customer",
        "不是该客户的销售机会",
    ),
    "lines.product_unknown": ("is not a product you can see", "不是您可查看的产品"),
    "lines.product_inactive": ("is a product no longer offered", "该产品已停用"),
    "lines.product_code_unknown": (
        "is not the code of a product you can see",
        "不是您可查看的产品编码",
    ),
    "quote.no_lines": ("a quote needs a line before it is sent", "报价单至少要有一行明细才能发送"),
    "lines.too_many": ("has more than {max} lines", "超过 {max} 行"),
    "lines.file_unreadable": ("is not a spreadsheet that can be read", "无法读取为表格文件"),
    # orders (销售订单) and approvals (审批)
    "order.other_customer": ("belongs to another customer", "属于其他客户"),
    "order.no_lines": (
        "an order needs a line before it is submitted",
        "订单至少要有一行明细才能提交",
    ),
    "order.line_unknown": ("is not a line of the order", "不是该订单的明细行"),
    "order.over_delivery": (
        "is more than the {left} left to deliver",
        "超过剩余待交付数量 {left}",
    ),
    "order.nothing_to_deliver": ("every line is planned already", "所有明细均已安排交付"),
    "order.delivery_unknown": ("is not a planned delivery of the order", "不是该订单待交付的计划"),
    "order.weight_unknown": (
        "ships a product without a weight; freight is charged by weight",
        "包含未填写重量的产品，无法按重量计算运费",
    ),
    "approval.step_unknown": ("is not an approval step", "不是审批步骤"),
    # receivables (应收款)
    "receivable.due_order": ("is before the instalment before it", "早于上一期的到期日"),
    "receivable.plan_total": (
        "instalments make {made}, not the total {total}",
        "各期合计 {made}，与总额 {total} 不符",
    ),
    "receivable.share": ("is not a share between 0 and 100%", "不是 0 到 100% 之间的比例"),
    "receivable.above_balance": ("is more than the balance {balance}", "超过未收余额 {balance}"),
    "receivable.not_open": ("is not an open receivable", "不是未结清的应收款"),
    "receivable.other_customer": ("is another customer's receivable", "是其他客户的应收款"),
    "receivable.write_off_limit": (
        "is more than the write-off limit {limit}",
        "超过抹零限额 {limit}",
    ),
    "receivable.repeated": ("names a receivable twice", "重复指定了同一笔应收款"),
    "payment.future": ("is after today", "晚于今天"),
    "template.unknown_variable": (
        "names the variable {name}, which is not available",
        "使用了不可用的变量 {name}",
    ),
    "template.too_long": (
        "is {segments} SMS segments long, more than the {limit} allowed",
        "长达 {segments} 条短信，超过上限 {limit} 条",
    ),
    "template.malformed": (
        "is not a valid template (check the braces)",
        "模板格式有误（请检查花括号）",
    ),
    "activity.future": ("is in the future", "晚于当前时间"),
    "sfa.plan_disabled": ("the plan was disabled when it fell due", "到期时方案已停用"),
    "sfa.bad_step": ("is not a step", "不是有效的步骤"),
    "time.invalid": ("is not a time of day (HH:MM)", "不是有效的时间（时:分）"),
    "sfa.no_steps": ("a plan needs at least one step", "方案至少需要一个步骤"),
    "sfa.too_many_steps": (
        "has {value} steps, more than {limit}",
        "共 {value} 个步骤，超过上限 {limit} 个",
    ),
    "sfa.bad_date": (
        "is not a date (MM-DD, YYYY-MM-DD) or a holiday's name",
        "不是日期（月-日 或 年-月-日）或节日名称",
    ),
    "sfa.negative_offset": ("cannot count days backwards", "天数不能为负"),
    "sfa.offset_not_number": ("is not a whole number of days", "不是整数天数"),
    "sfa.timed_needs_date": (
        "a timed plan's steps fall on dates or birthdays",
        "定时方案的步骤须按日期或生日执行",
    ),
    "sfa.no_customers": ("choose customers or a filter", "请选择客户或筛选条件"),
    "message.no_recipient": (
        "there is no mobile or address to send to",
        "没有可发送的手机号或邮箱",
    ),
    "message.unsubscribed": ("has unsubscribed from marketing messages", "已退订营销信息"),
    "message.unknown_template": ("is not a template", "模板不存在"),
    "message.wrong_channel": ("is a template for another channel", "该模板不适用于此发送方式"),
    "message.no_group": ("choose whom to send to", "请选择发送对象"),
    "activity.other_customer": ("is not the customer's", "不属于该客户"),
    "kb.too_many_tags": ("has more than {max} tags", "标签超过 {max} 个"),
    "kb.status_not_visible": (
        "only editors of the knowledge base see articles that are not published",
        "仅知识库编辑可查看未发布的条目",
    ),
    "task.remind_days": ("must be between 0 and 365", "须在 0 到 365 之间"),
    "payment.over_amount": (
        "apply {applied}, more than the {amount} to apply",
        "冲销合计 {applied}，超过可冲销金额 {amount}",
    ),
    "approval.reason_required": ("a rejection needs a reason", "驳回须填写理由"),
    # complaints (投诉) and repairs (维修)
    "complaint.not_a_complaint_ticket": ("is not a complaint ticket", "不是投诉类工单"),
    "complaint.other_customer": ("is not the customer's", "不属于该客户"),
    "complaint.ticket_taken": ("has a complaint already", "该工单已有投诉单"),
    "complaint.due_passed": ("is a day that has passed", "日期已过"),
    "repair.not_a_repair_ticket": ("is not a repair ticket", "不是维修类工单"),
    "repair.other_customer": ("is not the customer's", "不属于该客户"),
    "repair.product_inactive": ("is a product no longer offered", "该产品已停用"),
    "repair.no_price": (
        "is required: the product has no price",
        "必填：该产品没有价格",
    ),
    # leads (线索)
    "lead.owner_not_yours": (
        "is not you or someone you manage",
        "不是您本人或您的下属",
    ),
}

# Texts that are not field errors (exceptions' summary lines).
SUMMARIES: Final[Mapping[str, tuple[str, str]]] = {
    "validation": ("{count} field(s) are invalid: {fields}", "{count} 个字段有误：{fields}"),
    "duplicate": (
        "a similar {entity} already exists: {matches}",
        "已存在相似的{entity_zh}：{matches}",
    ),
    "not_found": ("{entity} {id} was not found", "未找到{entity_zh} {id}"),
    "permission": ("{actor} may not {action}", "{actor} 无权{action_zh}"),
    "concurrency": (
        "{entity} {id} was changed by someone else (you had version {expected}, it is now "
        "{actual}); reload and try again",
        "{entity_zh} {id} 已被他人修改（您的版本 {expected}，当前版本 {actual}），请刷新后重试",
    ),
    "workflow": (
        "cannot {move} {entity} that is {state}{reason}",
        "{entity_zh}当前状态为“{state_zh}”，不能{move_zh}{reason}",
    ),
    # a verb refused whatever the record's state (EntityService.refusal)
    "workflow_refused": ("cannot {move} {entity}{reason}", "不能{move_zh}{entity_zh}{reason}"),
    "auth_failed": ("wrong login or password", "用户名或密码错误"),
    "auth_locked": (
        "the account is locked after too many failed logins; ask an administrator",
        "登录失败次数过多，账号已锁定，请联系管理员",
    ),
    "auth_locked_until": (
        "the account is locked after too many failed logins; try again after {until}",
        "登录失败次数过多，账号已锁定，请在 {until} 之后再试",
    ),
    "auth_inactive": ("the account is disabled", "账号已停用"),
    # a file that is not a table at all (TableError)
    "table_empty": ("the file is empty", "文件是空的"),
    "table_no_header": ("no header row", "没有表头行"),
    "table_header_encoding": (
        "row {row}: the header row cannot be decoded",
        "第 {row} 行：表头行的字符无法识别（编码错误）",
    ),
    "table_not_xlsx": ("not a readable XLSX file: {detail}", "不是可读取的 XLSX 文件：{detail}"),
    "table_no_sheet": ("no sheet named {sheet!r}", "没有名为“{sheet}”的工作表"),
    # a file that is not a usable backup (BackupError)
    "backup_missing": ("{path} does not exist", "{path} 不存在"),
    "backup_damaged": ("{path} is damaged: {detail}", "{path} 已损坏：{detail}"),
    "backup_not_sqlite": (
        "{path} is not a SQLite database: {detail}",
        "{path} 不是 SQLite 数据库：{detail}",
    ),
    "backup_not_crmkit": (
        "{path} is not a crmkit database (missing {detail})",
        "{path} 不是 crmkit 数据库（缺少 {detail}）",
    ),
}

# What each entity type is called: code -> (English, 简体中文).
ENTITY_NAMES: Final[Mapping[str, tuple[str, str]]] = {
    "customer": ("customer", "客户"),
    "contact": ("contact", "联系人"),
    "user": ("user", "用户"),
    "audit": ("operation log", "操作日志"),
    "dedup_index": ("duplicate index", "查重索引"),
    "merge": ("merge", "合并记录"),
    "co_ownership_request": ("co-ownership request", "共享客户申请"),
    "import": ("import", "导入批次"),
    "product": ("product", "产品"),
    "product_category": ("product category", "产品类别"),
    "product_group": ("product group", "产品分组"),
    "settings": ("settings", "系统设置"),
    "customer_lookup": ("similar-customer lookup", "相似客户查询"),
    "dictionary_entry": ("dictionary entry", "数据字典"),
    "opportunity": ("opportunity", "销售机会"),
    "quote": ("quote", "报价单"),
    "lead": ("lead", "线索"),
    "order": ("order", "销售订单"),
    "approval": ("approval", "审批"),
    "sales_target": ("sales target", "销售目标"),
    "receivable": ("receivable", "应收款"),
    "payment": ("payment", "回款"),
    "write_off": ("write-off", "抹零"),
    "activity": ("activity", "联系记录"),
    "task": ("task", "待办"),
    "message": ("message", "短信/邮件"),
    "message_template": ("message template", "消息模板"),
    "opt_out": ("unsubscribe list", "退订名单"),
    "sfa_plan": ("SFA plan", "SFA方案"),
    "sfa_enrolment": ("SFA enrolment", "SFA执行序列"),
    "sfa_run": ("SFA step run", "SFA执行记录"),
    "ticket": ("ticket", "工单"),
    "sla_policy": ("SLA policy", "服务时效规则"),
    "complaint": ("complaint", "投诉单"),
    "repair": ("repair order", "维修单"),
    "kb_article": ("knowledge-base article", "知识库条目"),
    "qa_record": ("customer question", "问答记录"),
}
ENTITY_NAMES_ZH: Final[Mapping[str, str]] = {k: v[1] for k, v in ENTITY_NAMES.items()}

FIELD_LABELS: Final[Mapping[str, tuple[str, str]]] = {
    "name": ("name", "名称"),
    "kind": ("kind", "类型"),
    "mobile": ("mobile", "手机"),
    "phone": ("phone", "电话"),
    "email": ("email", "邮箱"),
    "region": ("region", "地区"),
    # an import's region columns (combined into the region)
    "province": ("province", "省份"),
    "city": ("city", "城市"),
    "district": ("district", "区县"),
    "uscc": ("unified social credit code", "统一社会信用代码"),
    "owner_id": ("owner", "负责人"),
    "co_owner_ids": ("co-owners", "共享负责人"),
    "parent_id": ("parent customer", "上级客户"),
    "category": ("category", "客户类别"),
    "credit_limit": ("credit limit", "信用额度"),
    "birthday": ("birthday", "生日"),
    "id_number": ("ID number", "身份证号"),
    "id_type": ("ID type", "证件类型"),
    "password": ("password", "密码"),
    "role": ("role", "角色"),
    "manager_id": ("manager", "上级"),
    "login": ("login", "登录名"),
    "customer_id": ("customer", "所属客户"),
    "code": ("code", "编码"),
    "specification": ("specification", "规格型号"),
    "unit": ("unit", "单位"),
    "category_id": ("category", "类别"),
    "group_id": ("group", "分组"),
    "price": ("list price", "标准价格"),
    "cost": ("cost", "成本"),
    "tax_rate": ("tax rate", "税率"),
    # a quote's or an order's lines (crmkit.domain.pricing)
    "lines": ("line", "明细"),
    "quantity": ("quantity", "数量"),
    "unit_price": ("unit price", "单价"),
    "discount": ("discount", "折扣"),
    "unit_cost": ("unit cost", "单位成本"),
    "product_id": ("product", "产品"),
    "active": ("active", "启用"),
    "description": ("description", "说明"),
    "members": ("members", "成员"),
    "sort": ("order", "排序"),
    # what else screens, exports and the operation log show
    "contact": ("contact", "联系人"),
    "channel_type": ("channel type", "渠道类型"),
    "source": ("source", "来源"),
    "industry": ("industry", "行业"),
    "tags": ("tags", "标签"),
    "credit_rating": ("credit rating", "信用等级"),
    "settlement": ("settlement", "结算方式"),
    "address": ("address", "地址"),
    "remarks": ("remarks", "备注"),
    "gender": ("gender", "性别"),
    "title": ("title", "职务"),
    "is_primary": ("primary contact", "主联系人"),
    "contact_name": ("contact name", "联系人姓名"),
    "contact_mobile": ("contact mobile", "联系人手机"),
    "contact_title": ("contact title", "联系人职务"),
    "locked": ("locked", "已锁定"),
    "margin": ("gross margin", "毛利率"),
    "custom": ("custom fields", "自定义字段"),
    "related_customer_ids": ("related customers", "关联客户"),
    "requester_id": ("requester", "申请人"),
    "decided_by": ("decided by", "审批人"),
    "status": ("status", "状态"),
    "reason": ("reason", "理由"),
    "surname": ("surname", "姓氏"),
    "surname_letter": ("surname index letter", "姓氏首字母"),
    "initials": ("initials", "拼音首字母"),
    "name_pinyin": ("name in pinyin", "名称拼音"),
    "number": ("number", "编号"),
    "version": ("version", "版本"),
    "created_by": ("created by", "创建人"),
    "created_at": ("created", "创建时间"),
    "updated_at": ("updated", "修改时间"),
    "deleted_at": ("deleted", "删除时间"),
    "deleted_with": ("deleted with", "随之删除"),
    "merged_into": ("merged into", "合并到"),
    "counts": ("counts", "统计"),
    "source_name": ("file", "文件"),
    "phone_ext": ("extension", "分机"),
    "list": ("list", "字典"),
    "value": ("choice", "选项"),
    "aliases": ("other spellings", "其他写法"),
    "matches": ("customers shown", "显示的客户"),
    "note": ("note", "说明"),
    "decision_note": ("decision note", "审批意见"),
    "decided_at": ("decided at", "审批时间"),
    # the settings an admin may change (crmkit.domain.settings.EDITABLE)
    "recycle_retention_days": ("days in the recycle bin", "回收站保留天数"),
    "lockout_threshold": ("failed logins before a lock", "锁定前允许的登录失败次数"),
    "write_off_limit": ("write-off limit (yuan)", "抹零限额（元）"),
    "write_off_percent": (
        "write-off limit as a percentage of the receivable (0: none)",
        "抹零比例上限（占应收款的百分比，0 为不限）",
    ),
    "order_id": ("sales order", "销售订单"),
    "start": ("from", "起始日期"),
    "end": ("to", "截止日期"),
    "overdue_reminder_days": ("days between overdue reminders", "逾期提醒间隔天数"),
    "admin_lock_minutes": ("minutes the last admin is locked", "最后一位管理员的锁定分钟数"),
    "captcha_after": ("failed logins before a CAPTCHA", "要求验证码前的登录失败次数"),
    "password_min_length": ("shortest password", "密码最短长度"),
    "max_page_size": ("largest page", "每页最多条数"),
    "timezone": ("time zone", "时区"),
    "strict_name_script": ("one script per name (seed 002)", "名称只用一种文字（中英文不混用）"),
    # opportunities (销售机会)
    "need": ("need", "需求"),
    "budget": ("budget", "预算"),
    "amount": ("expected amount", "预计金额"),
    "expected_close": ("expected close date", "预计成交日期"),
    "stage": ("stage", "销售阶段"),
    "probability": ("probability", "赢单概率"),
    "competitors": ("competitors", "竞争对手"),
    "next_step": ("next step", "下一步"),
    "lost_reason": ("lost reason", "丢单原因"),
    "closed_on": ("closed on", "结束日期"),
    "stage_history": ("stage history", "阶段历史"),
    "from_month": ("from month", "起始月份"),
    "to_month": ("to month", "截止月份"),
    "month": ("month", "月份"),
    "group_by": ("grouped by", "汇总方式"),
    # quotes (报价单)
    "quote_number": ("quote number", "报价单号"),
    "revision": ("revision", "版本"),
    "previous_id": ("previous revision", "上一版"),
    "prices_include_tax": ("prices include tax", "含税价"),
    "currency": ("currency", "币种"),
    "valid_until": ("valid until", "有效期至"),
    "net": ("amount without tax", "不含税金额"),
    "tax": ("tax", "税额"),
    "gross": ("total with tax", "价税合计"),
    "margin_rate": ("margin rate", "毛利率"),
    "sent_at": ("sent at", "发送时间"),
    "decided_on": ("answered on", "答复日期"),
    "file": ("file", "文件"),
    # orders (销售订单) and approvals (审批)
    "order_number": ("order number", "订单号"),
    "quote_id": ("quote", "报价单"),
    "signed_on": ("signed on", "签订日期"),
    "delivery_due": ("delivery due", "交货日期"),
    "sign_off_due": ("sign-off due", "验收期限"),
    "signed_off_on": ("signed off on", "验收日期"),
    "renewal_on": ("renewal date", "续费日期"),
    "warranty_until": ("warranty until", "质保到期"),
    "cost_adjustment": ("cost adjustment", "成本微调"),
    "cost_adjustments": ("cost adjustments", "成本微调记录"),
    "freight": ("freight", "运费"),
    "approval": ("approval", "审批状态"),
    "approval_id": ("approval", "审批单"),
    "submitted_at": ("submitted at", "提交时间"),
    "approved_at": ("approved at", "审批通过时间"),
    "deliveries": ("deliveries", "交付计划"),
    "items": ("items", "交付明细"),
    "line": ("line", "明细行"),
    "planned_on": ("planned on", "计划日期"),
    "delivered_on": ("delivered on", "交付日期"),
    "on": ("date", "日期"),
    "cancel_reason": ("cancellation reason", "取消原因"),
    "instalments": ("instalment", "回款计划"),
    "instalment": ("instalment", "期次"),
    "balance": ("balance", "未收余额"),
    "paid": ("paid", "已收金额"),
    "written_off": ("written off", "抹零金额"),
    "received_on": ("received on", "回款日期"),
    "method": ("payment method", "收款方式"),
    "account": ("account", "收款账户"),
    "reference": ("reference", "交易流水号"),
    "unapplied": ("unapplied (prepayment)", "未冲销（预收）"),
    "allocations": ("allocations", "冲销明细"),
    "receivable_id": ("receivable", "应收款"),
    "reverses": ("reverses", "冲回"),
    "reversed_reason": ("reversal reason", "冲回原因"),
    "as_of": ("as of", "截至日期"),
    "at": ("time", "时间"),
    "body": ("text", "正文"),
    "subject": ("subject", "主题"),
    "variables": ("variables", "变量"),
    "content": ("content", "内容"),
    "next_follow_up": ("next follow-up", "下次跟进日期"),
    "followed_up": ("followed up", "已跟进"),
    "due_at": ("due", "截止时间"),
    "remind_days": ("remind days ahead", "提前提醒天数"),
    "remind_at": ("reminder time", "提醒时间"),
    "remind_sms": ("remind by SMS", "短信提醒"),
    "done_at": ("done at", "完成时间"),
    "watchers": ("assigned by", "分派人"),
    "due": ("due date", "到期日"),
    "total": ("total", "总额"),
    "signed_from": ("signed from", "签订日期起"),
    "signed_to": ("signed to", "签订日期止"),
    "by": ("grouped by", "统计维度"),
    "weight": ("weight (kg)", "重量（千克）"),
    "document_type": ("document type", "单据类型"),
    "document_id": ("document", "单据"),
    "document_number": ("document number", "单据编号"),
    "document_version": ("document version", "单据版本"),
    "submitter_id": ("submitted by", "提交人"),
    "steps": ("steps", "审批步骤"),
    "decisions": ("decisions", "审批意见"),
    "decider": ("to be decided by", "待审批人"),
    "step_id": ("approval step", "审批步骤"),
    "comment": ("comment", "意见"),
    # leads (线索)
    "mobile_e164": ("mobile (E.164)", "手机（国际格式）"),
    "phone_e164": ("phone (E.164)", "电话（国际格式）"),
    "disqualified_reason": ("disqualification reason", "无效原因"),
    "contact_id": ("contact", "联系人"),
    "opportunity_id": ("opportunity", "销售机会"),
    "converted_at": ("converted at", "转化时间"),
    # messages and SFA
    "marketing": ("marketing", "营销信息"),
    "channel": ("channel", "发送方式"),
    "text": ("text", "内容"),
    "to": ("to", "接收人"),
    "template": ("template", "模板"),
    "direction": ("direction", "方向"),
    "recipient": ("recipient", "接收号码/地址"),
    "batch_id": ("group send", "群发批次"),
    "outbox_key": ("delivery key", "发送编号"),
    "sent_by": ("sent by", "发送人"),
    "cycle_days": ("cycle (days)", "循环周期（天）"),
    "rounds": ("rounds", "循环次数"),
    "enabled": ("enabled", "启用"),
    "action": ("action", "执行动作"),
    "offset": ("offset (days)", "间隔天数"),
    "plan_id": ("SFA plan", "SFA方案"),
    "anchor": ("start day", "起始日期"),
    "start_step": ("start at step", "起始步骤"),
    "next_due_at": ("next step due", "下次执行时间"),
    "executed": ("steps executed", "已执行步骤"),
    "skipped": ("steps skipped", "已跳过步骤"),
    "paused_at": ("paused at", "暂停时间"),
    "customer_ids": ("customers", "客户"),
    "missed": ("missed steps", "暂停期间的步骤"),
    "count": ("count", "数量"),
    "step": ("step", "步骤"),
    "sms_signature": ("SMS signature", "短信签名"),
    "outcome": ("outcome", "执行结果"),
    "round": ("round", "轮次"),
    "attempts": ("attempts", "发送次数"),
    "last_error": ("last error", "最近错误"),
    "finished_at": ("finished at", "结束时间"),
    "enrolled": ("customers enrolled", "启用客户数"),
    "sms_max_segments": ("most segments per SMS", "每条短信最多计费条数"),
    "quiet_hours": ("quiet hours for marketing", "营销信息免打扰时段"),
    "service_hours": ("service hours (SLA)", "服务时间（时效计算）"),
    "ticket_reopen_days": ("days a resolved ticket may be reopened", "工单解决后可重开天数"),
    "satisfaction_survey": ("satisfaction survey after resolution", "解决后发送满意度调查"),
}

# The labels of crmkit's permissions, by code; the admin's roles screen lists them.
PERMISSION_LABELS: Final[Mapping[str, tuple[str, str]]] = {
    "customer.read": ("View customers", "查看客户"),
    "customer.create": ("Create customers", "新建客户"),
    "customer.write": ("Edit customers", "修改客户"),
    "customer.assign": ("Assign customers to salespeople", "分配客户负责人"),
    "customer.purge": ("Purge the recycle bin", "彻底删除回收站数据"),
    "user.manage": ("Manage users", "管理用户"),
    "audit.read_all": ("Read the whole operation log", "查看全部操作日志"),
    "dedup.review": ("Review and merge duplicates", "查重与合并"),
    "dedup.rebuild": ("Rebuild the duplicate index", "重建查重索引"),
    "sharing.decide": ("Decide co-ownership requests", "审批共享客户申请"),
    "import.revert": ("Revert imports", "撤销导入"),
    "contact.read": ("View contacts", "查看联系人"),
    "contact.create": ("Create contacts", "新建联系人"),
    "contact.write": ("Edit contacts", "修改联系人"),
    "contact.delete": ("Delete contacts", "删除联系人"),
    "product.read": ("View products", "查看产品"),
    "product.create": ("Create products", "新建产品"),
    "product.write": ("Edit products", "修改产品"),
    "product.delete": ("Delete products", "删除产品"),
    "product.purge": ("Purge deleted products", "彻底删除产品"),
    "product_category.read": ("View product categories", "查看产品类别"),
    "product_category.create": ("Create product categories", "新建产品类别"),
    "product_category.write": ("Edit product categories", "修改产品类别"),
    "product_category.delete": ("Delete product categories", "删除产品类别"),
    "product_category.purge": ("Purge deleted product categories", "彻底删除产品类别"),
    "product_group.read": ("View product groups", "查看产品分组"),
    "product_group.create": ("Create product groups", "新建产品分组"),
    "product_group.write": ("Edit product groups and their members", "修改产品分组及成员"),
    "product_group.delete": ("Delete product groups", "删除产品分组"),
    "product_group.purge": ("Purge deleted product groups", "彻底删除产品分组"),
    "settings.write": ("Change the settings", "修改系统设置"),
    "dictionary_entry.read": ("View the data dictionary", "查看数据字典"),
    "dictionary_entry.create": ("Add dictionary choices", "新增数据字典选项"),
    "dictionary_entry.write": ("Edit dictionary choices", "修改数据字典选项"),
    "dictionary_entry.delete": ("Delete dictionary choices", "删除数据字典选项"),
    "dictionary_entry.purge": ("Purge deleted dictionary choices", "彻底删除数据字典选项"),
    "opportunity.read": ("View opportunities", "查看销售机会"),
    "opportunity.create": ("Create opportunities", "新建销售机会"),
    "opportunity.write": ("Edit, win and lose opportunities", "修改销售机会及赢单、输单"),
    "opportunity.delete": ("Delete opportunities", "删除销售机会"),
    "opportunity.purge": ("Purge deleted opportunities", "彻底删除销售机会"),
    "quote.read": ("View quotes", "查看报价单"),
    "quote.create": ("Create and revise quotes", "新建及修订报价单"),
    "quote.write": ("Edit, send and close quotes", "修改、发送报价单及登记客户答复"),
    "quote.delete": ("Delete quotes", "删除报价单"),
    "quote.purge": ("Purge deleted quotes", "彻底删除报价单"),
    "order.read": ("View orders", "查看销售订单"),
    "order.create": ("Create, submit and revise orders", "新建、提交及修订销售订单"),
    "order.write": ("Edit draft orders and plan deliveries", "修改草稿订单及安排交付计划"),
    "order.delete": ("Delete draft orders", "删除草稿订单"),
    "order.purge": ("Purge deleted orders", "彻底删除销售订单"),
    "order.adjust_cost": ("Adjust order costs", "订单成本微调"),
    "order.deliver": ("Record deliveries and sign-offs", "登记交付及验收"),
    "order.cancel": ("Cancel approved orders", "取消已审批订单"),
    "receivable.read": ("View receivables", "查看应收款"),
    "receivable.create": ("Make payment plans", "制定回款计划"),
    "receivable.write": ("Change receivables", "修改应收款"),
    "receivable.delete": ("Delete receivables", "删除应收款"),
    "receivable.purge": ("Purge receivables", "彻底删除应收款"),
    "receivable.write_off": ("Write off small remainders (抹零)", "回款冲销抹零"),
    "receivable.reverse_write_off": ("Reverse write-offs", "冲回抹零"),
    "payment.read": ("View payments", "查看回款"),
    "payment.create": ("Record payments", "登记回款"),
    "payment.write": ("Apply payments to receivables", "回款冲销应收款"),
    "payment.delete": ("Delete payments", "删除回款"),
    "payment.purge": ("Purge payments", "彻底删除回款"),
    "payment.reverse": ("Reverse payments and allocations", "冲回回款及冲销"),
    "activity.read": ("View activities", "查看联系记录"),
    "activity.create": ("Record activities", "登记联系记录"),
    "activity.write": ("Change activities", "修改联系记录"),
    "activity.delete": ("Delete activities", "删除联系记录"),
    "activity.purge": ("Purge activities", "彻底删除联系记录"),
    "task.read": ("View tasks", "查看待办"),
    "task.create": ("Create tasks", "新建待办"),
    "task.write": ("Change tasks", "修改待办"),
    "task.delete": ("Delete tasks", "删除待办"),
    "task.purge": ("Purge tasks", "彻底删除待办"),
    "message.read": ("View the message log", "查看短信/邮件记录"),
    "message.send": ("Send SMS and email to customers", "给客户发送短信/邮件"),
    "message.group_send": ("Send to groups of customers", "群发短信/邮件"),
    "message.resolve": ("Decide about messages in doubt", "确认发送结果不明的消息"),
    "message.receive": ("Record replies and call-backs", "登记回复与回拨"),
    "opt_out.read": ("View the unsubscribe list", "查看退订名单"),
    "opt_out.write": ("Change the unsubscribe list", "修改退订名单"),
    "message_template.read": ("View message templates", "查看消息模板"),
    "message_template.create": ("Create message templates", "新建消息模板"),
    "message_template.write": ("Change message templates", "修改消息模板"),
    "message_template.delete": ("Delete message templates", "删除消息模板"),
    "message_template.purge": ("Purge message templates", "彻底删除消息模板"),
    "sfa_plan.read": ("View SFA plans", "查看SFA方案"),
    "sfa_plan.create": ("Create SFA plans", "新建SFA方案"),
    "sfa_plan.write": ("Change, enable and disable SFA plans", "修改、启用、停用SFA方案"),
    "sfa_plan.delete": ("Delete SFA plans", "删除SFA方案"),
    "sfa_plan.purge": ("Purge SFA plans", "彻底删除SFA方案"),
    "sfa_enrolment.read": ("View SFA enrolments", "查看SFA执行序列"),
    "sfa_enrolment.create": ("Enrol customers in SFA plans", "为客户启用SFA方案"),
    "sfa_enrolment.write": ("Pause, resume and skip SFA steps", "暂停、继续、跳过SFA步骤"),
    "sfa_run.read": ("View SFA step runs", "查看SFA执行记录"),
    "write_off.read": ("View write-offs", "查看抹零记录"),
    "write_off.create": ("Record write-offs", "登记抹零"),
    "write_off.write": ("Change write-offs", "修改抹零记录"),
    "write_off.delete": ("Delete write-offs", "删除抹零记录"),
    "write_off.purge": ("Purge write-offs", "彻底删除抹零记录"),
    "sales_target.read": ("View sales targets", "查看销售目标"),
    "sales_target.create": ("Set sales targets", "制定销售目标"),
    "sales_target.write": ("Change sales targets", "修改销售目标"),
    "sales_target.delete": ("Delete sales targets", "删除销售目标"),
    "sales_target.purge": ("Purge deleted sales targets", "彻底删除销售目标"),
    "approval.read": ("View approvals", "查看审批"),
    "approval.decide": ("Decide approval steps", "审批单据"),
    "lead.read": ("View leads", "查看线索"),
    "lead.create": ("Create leads", "新建线索"),
    "lead.write": ("Edit, convert and disqualify leads", "修改、转化线索及标记无效"),
    "lead.delete": ("Delete leads", "删除线索"),
    "lead.purge": ("Purge deleted leads", "彻底删除线索"),
    "lead.assign": ("Assign leads to salespeople", "分配线索负责人"),
    "ticket.read": ("View tickets", "查看工单"),
    "ticket.create": ("Create tickets", "新建工单"),
    "ticket.write": ("Change tickets", "修改工单"),
    "ticket.delete": ("Delete tickets", "删除工单"),
    "ticket.purge": ("Purge tickets", "彻底删除工单"),
    "sla_policy.read": ("View SLA policies", "查看服务时效规则"),
    "sla_policy.create": ("Create SLA policies", "新建服务时效规则"),
    "sla_policy.write": ("Change SLA policies", "修改服务时效规则"),
    "sla_policy.delete": ("Delete SLA policies", "删除服务时效规则"),
    "sla_policy.purge": ("Purge SLA policies", "彻底删除服务时效规则"),
    "complaint.read": ("View complaints", "查看投诉单"),
    "complaint.create": ("Create complaints", "新建投诉单"),
    "complaint.write": ("Change complaints", "修改投诉单"),
    "complaint.delete": ("Delete complaints", "删除投诉单"),
    "complaint.purge": ("Purge complaints", "彻底删除投诉单"),
    "repair.read": ("View repair orders", "查看维修单"),
    "repair.create": ("Create repair orders", "新建维修单"),
    "repair.write": ("Change repair orders", "修改维修单"),
    "repair.delete": ("Delete repair orders", "删除维修单"),
    "repair.purge": ("Purge repair orders", "彻底删除维修单"),
    "repair.raise_receivable": ("Raise repair charges as receivables", "维修费用生成应收款"),
    "kb_article.read": ("View knowledge-base articles", "查看知识库条目"),
    "kb_article.create": ("Create knowledge-base articles", "新建知识库条目"),
    "kb_article.write": ("Change knowledge-base articles", "修改知识库条目"),
    "kb_article.delete": ("Delete knowledge-base articles", "删除知识库条目"),
    "kb_article.purge": ("Purge knowledge-base articles", "彻底删除知识库条目"),
    "qa_record.read": ("View customer questions", "查看问答记录"),
    "qa_record.create": ("Create customer questions", "新建问答记录"),
    "qa_record.write": ("Change customer questions", "修改问答记录"),
    "qa_record.delete": ("Delete customer questions", "删除问答记录"),
    "qa_record.purge": ("Purge customer questions", "彻底删除问答记录"),
    "ticket.assign": ("Assign tickets", "分派工单"),
}


def active_language() -> Language:
    """The language that messages are rendered in for the current context."""
    return _active.get()


def set_language(lang: Language) -> None:
    """Set the language for the current context (thread or task)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}; use one of {LANGUAGES}")
    _active.set(lang)


@contextlib.contextmanager
def language(lang: Language) -> Iterator[None]:
    """Render messages in ``lang`` inside the ``with`` block."""
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}; use one of {LANGUAGES}")
    token = _active.set(lang)
    try:
        yield
    finally:
        _active.reset(token)


def _render(entry: tuple[str, str], lang: Language, params: Mapping[str, object]) -> str:
    template = entry[0] if lang == "en" else entry[1]
    # A parameter may come in each language too: ``choices_zh`` stands for ``choices`` in a
    # Chinese message (labels people read, where ``choices`` holds the codes).
    suffix = f"_{lang}"
    params = {
        **params,
        **{k.removesuffix(suffix): v for k, v in params.items() if k.endswith(suffix)},
    }
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        # A missing parameter must never hide the error itself.
        return template


def render(code: str, lang: Language | None = None, **params: object) -> str:
    """Render the field-error message ``code`` in ``lang`` (default: the active language)."""
    entry = CATALOG.get(code)
    if entry is None:
        return code
    return _render(entry, lang or active_language(), params)


def render_summary(code: str, lang: Language | None = None, **params: object) -> str:
    """Render an exception summary line."""
    entry = SUMMARIES[code]
    return _render(entry, lang or active_language(), params)


# Where one field name means different things: (entity type, field) -> (English, 简体中文).
ENTITY_FIELD_LABELS: Final[Mapping[tuple[str, str], tuple[str, str]]] = {
    ("ticket", "number"): ("ticket number", "工单编号"),
    ("ticket", "contact_id"): ("contact", "联系人"),
    ("ticket", "type"): ("service type", "服务类型"),
    ("ticket", "channel"): ("source channel", "来源渠道"),
    ("ticket", "priority"): ("priority", "优先级"),
    ("ticket", "subject"): ("subject", "主题"),
    ("ticket", "description"): ("problem description", "问题描述"),
    ("ticket", "status"): ("status", "状态"),
    ("ticket", "assignee_id"): ("handled by", "处理人"),
    ("ticket", "team"): ("service team", "服务组"),
    ("ticket", "opened_at"): ("opened at", "受理时间"),
    ("ticket", "order_id"): ("related order", "相关订单"),
    ("ticket", "product_id"): ("product", "产品"),
    ("ticket", "resolution"): ("resolution", "解决方案"),
    ("ticket", "reason"): ("reason for reopening", "重开原因"),
    ("ticket", "satisfaction"): ("satisfaction", "满意度"),
    ("ticket", "kind"): ("record type", "记录类型"),
    ("ticket", "body"): ("content", "内容"),
    ("ticket", "shared"): ("shared with the team", "团队共享"),
    ("ticket", "article_id"): ("knowledge-base article", "知识库条目"),
    ("ticket", "phone"): ("phone", "电话"),
    ("ticket", "customer_id"): ("customer", "客户"),
    ("ticket", "resolved_at"): ("resolved at", "解决时间"),
    ("ticket", "closed_at"): ("closed at", "关闭时间"),
    ("ticket", "comment"): ("customer comment", "客户评价"),
    ("ticket", "name"): ("name", "名称"),
    ("ticket", "sla"): ("SLA", "服务时效"),
    ("ticket", "by"): ("statistics by", "统计维度"),
    ("sla_policy", "name"): ("name", "规则名称"),
    ("sla_policy", "type"): ("service type", "服务类型"),
    ("sla_policy", "priority"): ("priority", "优先级"),
    ("sla_policy", "response_minutes"): (
        "first response within (service minutes)",
        "首次响应时限（服务分钟）",
    ),
    ("sla_policy", "resolution_minutes"): (
        "resolution within (service minutes)",
        "解决时限（服务分钟）",
    ),
    ("sla_policy", "warn_percent"): ("warn when used (%)", "预警比例（%）"),
    ("sla_policy", "active"): ("active", "启用"),
    ("opportunity", "title"): ("title", "机会名称"),
    ("quote", "margin"): ("gross margin", "毛利"),
    ("order", "margin"): ("gross margin", "毛利"),
    ("order", "amount"): ("amount", "金额"),
    ("order", "status"): ("fulfilment", "执行状态"),
    ("approval", "amount"): ("amount", "金额"),
    ("approval", "status"): ("status", "审批状态"),
    ("sales_target", "amount"): ("target amount", "目标金额"),
    ("receivable", "amount"): ("amount due", "应收金额"),
    ("receivable", "due"): ("due date", "应收日期"),
    ("payment", "amount"): ("amount received", "回款金额"),
    ("payment", "category"): ("category", "回款类别"),
    ("payment", "status"): ("status", "状态"),
    ("write_off", "amount"): ("amount written off", "抹零金额"),
    ("activity", "kind"): ("contact type", "联系方式"),
    ("activity", "owner_id"): ("contacted by", "联系人员"),
    ("activity", "at"): ("contacted at", "联系时间"),
    ("task", "owner_id"): ("assignee", "执行人"),
    ("task", "title"): ("subject", "主题"),
    ("task", "created_by"): ("assigned by", "分派人"),
    ("task", "status"): ("status", "状态"),
    ("sales_target", "owner_id"): ("salesperson", "销售人员"),
    ("message_template", "name"): ("name", "模板名称"),
    ("message_template", "body"): ("text", "模板内容"),
    ("sfa_plan", "name"): ("name", "方案名称"),
    ("sfa_plan", "kind"): ("kind", "方案类型"),
    ("sfa_plan", "steps"): ("step", "步骤"),
    ("sfa_plan", "steps.title"): ("task title", "事务标题"),
    ("sfa_plan", "steps.unit"): ("counted in", "计算方式"),
    ("sfa_plan", "steps.at"): ("time of day", "执行时间"),
    ("sfa_enrolment", "status"): ("status", "执行状态"),
    ("sfa_run", "outcome"): ("outcome", "执行结果"),
    ("message", "at"): ("time", "时间"),
    ("complaint", "owner_id"): ("handled by", "处理人"),
    ("complaint", "ticket_id"): ("ticket", "工单"),
    ("complaint", "severity"): ("severity", "严重程度"),
    ("complaint", "subject"): ("subject", "投诉主题"),
    ("complaint", "description"): ("description", "投诉内容"),
    ("complaint", "root_cause"): ("root cause", "原因分析"),
    ("complaint", "status"): ("status", "处理状态"),
    ("complaint", "conclusion"): ("conclusion", "结案结论"),
    ("complaint", "action_id"): ("corrective action", "整改措施"),
    ("complaint", "due_on"): ("due on", "完成期限"),
    ("complaint", "result"): ("result", "整改结果"),
    ("complaint", "note"): ("follow-up note", "跟进记录"),
    ("complaint", "actions"): ("corrective action", "整改措施"),
    ("repair", "ticket_id"): ("ticket", "工单"),
    ("repair", "product_id"): ("product repaired", "维修产品"),
    ("repair", "serial_number"): ("serial number", "序列号"),
    ("repair", "fault"): ("fault reported", "故障描述"),
    ("repair", "diagnosis"): ("diagnosis", "检测结果"),
    ("repair", "technician_id"): ("technician", "维修人员"),
    ("repair", "warranty"): ("under warranty", "保修"),
    ("repair", "labour"): ("labour", "工时费"),
    ("repair", "charge"): ("charge", "维修费用"),
    ("repair", "status"): ("status", "维修状态"),
    ("repair", "cancel_reason"): ("cancellation reason", "取消原因"),
    ("repair", "due"): ("due date", "应收日期"),
    ("repair", "parts"): ("part", "配件"),
    ("repair", "parts.product_id"): ("product", "产品"),
    ("repair", "parts.quantity"): ("quantity", "数量"),
    ("repair", "parts.unit_price"): ("unit price", "单价"),
    ("kb_article", "title"): ("title", "标题"),
    ("kb_article", "body"): ("answer", "内容"),
    ("kb_article", "category"): ("category", "分类"),
    ("kb_article", "tags"): ("tags", "标签"),
    ("kb_article", "status"): ("status", "发布状态"),
    ("kb_article", "author_id"): ("author", "作者"),
    ("kb_article", "uses"): ("uses", "引用次数"),
    ("kb_article", "helpful"): ("helpful", "有用数"),
    ("qa_record", "customer_id"): ("customer", "客户"),
    ("qa_record", "ticket_id"): ("ticket", "工单"),
    ("qa_record", "article_id"): ("article", "知识库条目"),
    ("qa_record", "question"): ("question", "问题"),
    ("qa_record", "answer"): ("answer", "答复"),
    ("qa_record", "asked_at"): ("asked at", "提问时间"),
    ("qa_record", "answered_by"): ("answered by", "答复人"),
    ("qa_record", "answered_at"): ("answered at", "答复时间"),
}


def field_label(field: str, lang: Language | None = None, entity: str | None = None) -> str:
    """Human label of a field path, e.g. ``mobile`` -> 手机, ``contact.mobile`` -> 联系人手机
    (a parent the catalogue knows names the leaf's owner), ``contacts[0].mobile`` -> 手机;
    ``entity`` picks its own label where it has one (an opportunity's ``title``)."""
    en = (lang or active_language()) == "en"
    *parents, leaf = [part.split("[", 1)[0] for part in field.split(".")]
    # a numbered item of a list (``steps.2.offset``): "步骤 2 · 间隔天数"
    if len(parents) == 2 and parents[1].isdigit():
        collection = ENTITY_FIELD_LABELS.get((entity, parents[0])) if entity else None
        collection = collection or FIELD_LABELS.get(parents[0])
        item = ENTITY_FIELD_LABELS.get((entity, f"{parents[0]}.{leaf}")) if entity else None
        item = item or FIELD_LABELS.get(leaf)
        if collection is not None and item is not None:
            if en:
                return f"{collection[0]} {parents[1]} · {item[0]}"
            return f"{collection[1]} {parents[1]} · {item[1]}"
    if len(parents) == 1 and entity and (entity, f"{parents[0]}.{leaf}") in ENTITY_FIELD_LABELS:
        # a field of a list's items, without the item's number ("steps.title")
        collection = ENTITY_FIELD_LABELS.get((entity, parents[0])) or FIELD_LABELS.get(parents[0])
        item = ENTITY_FIELD_LABELS[(entity, f"{parents[0]}.{leaf}")]
        if collection is not None:
            return f"{collection[0]} {item[0]}" if en else f"{collection[1]}{item[1]}"
    entry = (ENTITY_FIELD_LABELS.get((entity, leaf)) if entity and not parents else None) or (
        FIELD_LABELS.get(leaf)
    )
    if entry is None:
        return leaf  # a custom field's own name, say (``custom.合同编号``)
    text = entry[0] if en else entry[1]
    owner = FIELD_LABELS.get(parents[-1]) if parents else None
    if owner is not None:
        return f"{owner[0]} {text}" if en else f"{owner[1]}{text}"
    return text
