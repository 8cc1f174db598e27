# ruff: noqa: RUF001  (Chinese punctuation is meant: full-width colons, commas, brackets)
"""Every text the console shows, in English and Simplified Chinese, from one catalogue; and
dates, money and numbers formatted for the locale (Babel's CLDR data).

A key missing from a locale falls back to English, and a test keeps both complete.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from babel.dates import format_time
from babel.numbers import format_decimal

from crm.console.analytics_texts import ADMIN, ANALYTICS
from crm.console.audit_texts import AUDIT
from crm.console.contacts_texts import CONTACTS
from crm.console.desk_texts import DESK
from crm.console.duplicates_texts import DUPLICATES
from crm.console.fields_texts import FIELDS
from crm.console.imports_texts import IMPORTS
from crm.console.moments import medium
from crm.console.money_format import money as money_of
from crm.console.people_texts import PEOPLE
from crm.console.quotes_texts import QUOTES
from crm.console.reports_texts import REPORTS
from crm.console.rule_texts import FAMILIES
from crm.console.rule_texts import TEXTS as RULE_TEXTS
from crm.console.sales_texts import SALES
from crm.console.sla import Countdown, split_duration
from crm.console.tasks_texts import TASKS
from crm.console.webhook_texts import WEBHOOKS
from crm.kernel.errors import RuleViolated

LOCALES = ("en", "zh-CN")
DEFAULT = "en"
NAMES = {"en": "English", "zh-CN": "中文"}

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "app": "CRM",
        "skip": "Skip to content",
        "nav": "Main",
        "nav.my_day": "My day",
        "nav.customers": "Customers",
        "nav.pipeline": "Pipeline",
        "nav.new_customer": "New customer",
        "signed_in_as": "Signed in as {name} ({role})",
        "sign_in": "Sign in",
        "sign_in.title": "Sign in to the CRM",
        "sign_out": "Sign out",
        "live.changed": "This page has changed since you opened it.",
        "live.show": "Show the changes",
        "tenant": "Tenant",
        "user_id": "User name",
        "password": "Password",
        "sign_in.failed": "Wrong user name or password, or the account is locked or deactivated.",
        "sign_in.locked": "Too many failed attempts: the account is locked for 15 minutes.",
        "sign_in.or": "or",
        "sign_in.oidc": "Sign in with your organisation's account",
        "sign_in.oidc_failed": (
            "Signing in with your organisation's account did not work, "
            "or that account has no active user in this tenant."
        ),
        "language": "Language",
        "change": "Change",
        "role.admin": "Admin",
        "role.manager": "Manager",
        "role.sales_rep": "Sales rep",
        "role.agent": "Service agent",
        "role.analyst": "Analyst",
        "my_day.title": "My day",
        "my_day.greeting": "Good day, {name}",
        "my_day.opportunities": "My open opportunities",
        "my_day.no_opportunities": "No open opportunities.",
        "my_day.at_risk": "My customers at risk of churning",
        "my_day.no_risk": "None of your customers is at risk.",
        "my_day.customers": "My customers",
        "my_day.not_for_role": "Nothing to show for your role here yet.",
        "opportunity": "Opportunity",
        "stage": "Stage",
        "next_step": "Next step",
        "move_to": "Move to {stage}",
        "close_by": "Close by",
        "amount": "Amount",
        "probability": "Probability",
        "risk": "Risk",
        "reasons": "Reasons",
        "risk.high": "high",
        "risk.medium": "medium",
        "risk.low": "low",
        "customers.title": "Customers",
        "customers.search": "Search name, company, e-mail or phone",
        "customers.search_button": "Search",
        "customers.filter_owner": "Owner",
        "customers.filter_owner.any": "Anyone",
        "customers.filter_owner.mine": "Mine",
        "customers.filter_owner.pool": "Shared pool",
        "customers.tag": "Tag",
        "customers.region": "Region",
        "customers.sort": "Sort by",
        "sort.-created_at": "Newest first",
        "sort.created_at": "Oldest first",
        "sort.name": "Name A-Z",
        "sort.-name": "Name Z-A",
        "sort.-updated_at": "Recently changed",
        "customers.none": "No customer matches.",
        "customers.count": "{total} customers",
        "page.previous": "Previous page",
        "page.next": "Next page",
        "page.of": "Page {page} of {pages}",
        "name": "Name",
        "company": "Company",
        "email": "E-mail",
        "phone": "Phone",
        "title": "Job title",
        "kind": "Kind",
        "kind.person": "Person",
        "kind.company": "Company",
        "owner": "Owner",
        "pool": "Shared pool",
        "tags": "Tags",
        "created": "Created",
        "source": "Source",
        "customer.new": "Register a customer",
        "customer.register": "Register",
        "customer.registered": "Customer registered.",
        "customer.saved": "Saved.",
        "customer.profile": "Profile",
        "customer.edit": "Edit profile",
        "customer.save": "Save",
        "customer.tag": "Add a tag",
        "customer.tag_button": "Tag",
        "customer.claim": "Claim from the pool",
        "customer.release": "Release to the pool",
        "customer.interaction": "Log an interaction",
        "customer.log": "Log",
        "channel": "Channel",
        "channel.call": "Call",
        "channel.email": "E-mail",
        "channel.meeting": "Meeting",
        "channel.visit": "Visit",
        "channel.chat": "Chat",
        "summary": "Summary",
        "customer.360": "At a glance",
        "customer.spend": "Spend",
        "customer.orders": "Orders",
        "customer.open_invoices": "Open invoices",
        "customer.open_tickets": "Open tickets",
        "customer.churn": "Churn risk",
        "customer.segment": "Segment",
        "customer.interactions": "Interactions",
        "customer.no_interactions": "No interaction logged yet.",
        "customer.opportunities": "Open opportunities",
        "customer.no_360": "The 360° view is not available for your role.",
        "when": "When",
        "by": "By",
        "yes": "yes",
        "customer.billing_address": "Billing address",
        "customer.shipping_address": "Shipping address",
        "customer.visit_address": "Visit address",
        "customer.birthday": "Birthday",
        "customer.anniversary": "Anniversary",
        "customer.preferred_channel": "Preferred channel",
        "customer.preferred_language": "Preferred language",
        "customer.custom": "More fields",
        "no": "no",
        "none": "—",
        "error.title": "Something is not right",
        "error.not_found": "This page does not exist, or you may not see it.",
        "error.forbidden": "Your role may not do this.",
        "error.csrf": (
            "The form expired or did not come from this site. Reload the page and try again."
        ),
        "error.invalid": "Please check {field}: {detail}",
        "back_home": "Back to My day",
        "pipeline.title": "Pipeline",
        "pipeline.empty": "No open opportunities in this stage.",
        "pipeline.moved": "Moved.",
        "segment.prospect": "Prospect",
        "segment.new": "New",
        "segment.repeat": "Repeat",
        "segment.loyal": "Loyal",
        "my_day.tickets": "My tickets by SLA due time",
        "my_day.changed": "Changed since you last signed in ({since})",
        "my_day.nothing_changed": "Nothing of yours changed since then.",
        "my_day.changed.customer": "Customer",
        "my_day.changed.opportunity": "Opportunity",
        "my_day.changed.ticket": "Ticket",
        "my_day.at_risk_all": "Customers at risk of churning",
        "my_day.reports": "Reports",
        "footer.api_docs": "API documentation (for developers)",
        "my_day.no_tickets": "No open ticket is assigned to you.",
        "ticket.subject": "Ticket",
        "ticket.priority": "Priority",
        "ticket.status": "Status",
        "ticket.due": "Due",
        "ticket.breached": "SLA breached",
        "priority.low": "low",
        "priority.normal": "normal",
        "priority.high": "high",
        "priority.urgent": "urgent",
        "status.new": "new",
        "status.assigned": "assigned",
        "status.in_progress": "in progress",
        "consent.title": "Consent",
        "consent.purpose": "Purpose",
        "consent.answer": "The customer's answer",
        "consent.given": "given",
        "consent.withdrawn": "withdrawn",
        "consent.unknown": "not asked",
        "consent.record": "Record consent",
        "purpose.marketing_email": "Marketing e-mails",
        "purpose.marketing_phone": "Marketing calls",
        "purpose.marketing_sms": "Marketing SMS",
        "purpose.profiling": "Profiling",
        "purpose.third_party_sharing": "Sharing with third parties",
        "erase.title": "Erase personal data",
        "erase.explain": "Deletes the customer's key: their name, contact and notes read as"
        " erased everywhere, for good. The figures stay.",
        "erase.confirm": "I understand that this cannot be undone",
        "erase.button": "Erase",
        "erase.done": "erased",
        "confirm": "the confirmation",
        "nav.users": "Users",
        "users.title": "Users",
        "users.add": "Add a user",
        "users.added": "Saved.",
        "users.display_name": "Display name",
        "users.role": "Role",
        "users.team": "Team or support group",
        "users.status": "Status",
        "users.active": "active",
        "users.deactivated": "deactivated",
        "users.locked": "locked",
        "users.deactivate": "Deactivate",
        "users.activate": "Activate",
        "users.set_role": "Change role",
        "users.save_role": "Save",
        "users.actions": "Actions",
        "stage.prospecting": "Prospecting",
        "stage.qualification": "Qualification",
        "stage.needs_analysis": "Needs analysis",
        "stage.proposal": "Proposal",
        "stage.negotiation": "Negotiation",
        "stage.won": "Won",
        "stage.lost": "Lost",
    },
    "zh-CN": {
        "app": "客户关系管理",
        "skip": "跳到正文",
        "nav": "主导航",
        "nav.my_day": "我的一天",
        "nav.customers": "客户",
        "nav.pipeline": "销售管道",
        "nav.new_customer": "新建客户",
        "signed_in_as": "当前用户：{name}（{role}）",
        "sign_in": "登录",
        "sign_in.title": "登录客户关系管理系统",
        "sign_out": "退出登录",
        "live.changed": "此页面在您打开后已有更新。",
        "live.show": "显示更新",
        "tenant": "租户",
        "user_id": "用户名",
        "password": "密码",
        "sign_in.failed": "用户名或密码错误，或账户已被锁定或停用。",
        "sign_in.locked": "失败次数过多：账户已锁定 15 分钟。",
        "sign_in.or": "或",
        "sign_in.oidc": "使用企业账号登录",
        "sign_in.oidc_failed": "企业账号登录未成功，或该账号在此租户中没有启用的用户。",
        "language": "语言",
        "change": "切换",
        "role.admin": "管理员",
        "role.manager": "经理",
        "role.sales_rep": "销售代表",
        "role.agent": "客服专员",
        "role.analyst": "分析师",
        "my_day.title": "我的一天",
        "my_day.greeting": "您好，{name}",
        "my_day.opportunities": "我的进行中商机",
        "my_day.no_opportunities": "没有进行中的商机。",
        "my_day.at_risk": "有流失风险的客户",
        "my_day.no_risk": "您的客户目前都没有流失风险。",
        "my_day.customers": "我的客户",
        "my_day.not_for_role": "此处暂无适合您角色的内容。",
        "opportunity": "商机",
        "stage": "阶段",
        "next_step": "下一步",
        "move_to": "推进到「{stage}」",
        "close_by": "预计成交日期",
        "amount": "金额",
        "probability": "赢单概率",
        "risk": "风险",
        "reasons": "原因",
        "risk.high": "高",
        "risk.medium": "中",
        "risk.low": "低",
        "customers.title": "客户",
        "customers.search": "搜索姓名、公司、邮箱或电话",
        "customers.search_button": "搜索",
        "customers.filter_owner": "负责人",
        "customers.filter_owner.any": "所有人",
        "customers.filter_owner.mine": "我的",
        "customers.filter_owner.pool": "公海",
        "customers.tag": "标签",
        "customers.region": "地区",
        "customers.sort": "排序",
        "sort.-created_at": "最新创建",
        "sort.created_at": "最早创建",
        "sort.name": "名称 A-Z",
        "sort.-name": "名称 Z-A",
        "sort.-updated_at": "最近修改",
        "customers.none": "没有符合条件的客户。",
        "customers.count": "共 {total} 位客户",
        "page.previous": "上一页",
        "page.next": "下一页",
        "page.of": "第 {page} 页，共 {pages} 页",
        "name": "名称",
        "company": "公司",
        "email": "电子邮箱",
        "phone": "电话",
        "title": "职位",
        "kind": "类型",
        "kind.person": "个人",
        "kind.company": "企业",
        "owner": "负责人",
        "pool": "公海",
        "tags": "标签",
        "created": "创建时间",
        "source": "来源",
        "customer.new": "登记新客户",
        "customer.register": "登记",
        "customer.registered": "客户已登记。",
        "customer.saved": "已保存。",
        "customer.profile": "基本信息",
        "customer.edit": "编辑信息",
        "customer.save": "保存",
        "customer.tag": "添加标签",
        "customer.tag_button": "添加",
        "customer.claim": "从公海领取",
        "customer.release": "退回公海",
        "customer.interaction": "记录一次互动",
        "customer.log": "记录",
        "channel": "渠道",
        "channel.call": "电话",
        "channel.email": "邮件",
        "channel.meeting": "会议",
        "channel.visit": "拜访",
        "channel.chat": "在线聊天",
        "summary": "摘要",
        "customer.360": "概览",
        "customer.spend": "消费总额",
        "customer.orders": "订单",
        "customer.open_invoices": "未结发票",
        "customer.open_tickets": "未关闭工单",
        "customer.churn": "流失风险",
        "customer.segment": "客户分群",
        "customer.interactions": "互动记录",
        "customer.no_interactions": "暂无互动记录。",
        "customer.opportunities": "进行中的商机",
        "customer.no_360": "您的角色无法查看 360° 视图。",
        "when": "时间",
        "by": "记录人",
        "yes": "是",
        "no": "否",
        "none": "—",
        "customer.billing_address": "账单地址",
        "customer.shipping_address": "收货地址",
        "customer.visit_address": "拜访地址",
        "customer.birthday": "生日",
        "customer.anniversary": "纪念日",
        "customer.preferred_channel": "首选联系方式",
        "customer.preferred_language": "首选语言",
        "customer.custom": "更多字段",
        "error.title": "出了点问题",
        "error.not_found": "该页面不存在，或您无权查看。",
        "error.forbidden": "您的角色无权执行此操作。",
        "error.csrf": "表单已过期或并非来自本站。请刷新页面后重试。",
        "error.invalid": "请检查「{field}」：{detail}",
        "back_home": "返回我的一天",
        "pipeline.title": "销售管道",
        "pipeline.empty": "此阶段没有进行中的商机。",
        "pipeline.moved": "已推进。",
        "segment.prospect": "潜在客户",
        "segment.new": "新客户",
        "segment.repeat": "回头客",
        "segment.loyal": "忠实客户",
        "my_day.tickets": "我的工单（按 SLA 到期时间）",
        "my_day.changed": "自您上次登录（{since}）以来的变化",
        "my_day.nothing_changed": "此后与您相关的记录没有变化。",
        "my_day.changed.customer": "客户",
        "my_day.changed.opportunity": "商机",
        "my_day.changed.ticket": "工单",
        "my_day.at_risk_all": "有流失风险的客户",
        "my_day.reports": "报表",
        "footer.api_docs": "API 文档（供开发者）",
        "my_day.no_tickets": "没有分配给您的未结工单。",
        "ticket.subject": "工单",
        "ticket.priority": "优先级",
        "ticket.status": "状态",
        "ticket.due": "到期时间",
        "ticket.breached": "已违反 SLA",
        "priority.low": "低",
        "priority.normal": "普通",
        "priority.high": "高",
        "priority.urgent": "紧急",
        "status.new": "新建",
        "status.assigned": "已分配",
        "status.in_progress": "处理中",
        "consent.title": "授权同意",
        "consent.purpose": "用途",
        "consent.answer": "客户的答复",
        "consent.given": "已同意",
        "consent.withdrawn": "已撤回",
        "consent.unknown": "未询问",
        "consent.record": "记录授权",
        "purpose.marketing_email": "营销邮件",
        "purpose.marketing_phone": "营销电话",
        "purpose.marketing_sms": "营销短信",
        "purpose.profiling": "用户画像",
        "purpose.third_party_sharing": "向第三方共享",
        "erase.title": "删除个人数据",
        "erase.explain": (
            "删除该客户的密钥：其姓名、联系方式和备注将在所有地方永久显示为已删除。统计数据保留。"
        ),
        "erase.confirm": "我了解此操作无法撤销",
        "erase.button": "删除",
        "erase.done": "已删除",
        "confirm": "确认",
        "nav.users": "用户",
        "users.title": "用户",
        "users.add": "添加用户",
        "users.added": "已保存。",
        "users.display_name": "显示名称",
        "users.role": "角色",
        "users.team": "团队或支持组",
        "users.status": "状态",
        "users.active": "启用",
        "users.deactivated": "已停用",
        "users.locked": "已锁定",
        "users.deactivate": "停用",
        "users.activate": "启用",
        "users.set_role": "更改角色",
        "users.save_role": "保存",
        "users.actions": "操作",
        "stage.prospecting": "初步接触",
        "stage.qualification": "资格确认",
        "stage.needs_analysis": "需求分析",
        "stage.proposal": "方案报价",
        "stage.negotiation": "商务谈判",
        "stage.won": "赢单",
        "stage.lost": "输单",
    },
}


for _part in (
    DESK,
    SALES,
    QUOTES,
    TASKS,
    REPORTS,
    ANALYTICS,
    ADMIN,
    WEBHOOKS,
    AUDIT,
    PEOPLE,
    IMPORTS,
    FIELDS,
    DUPLICATES,
    CONTACTS,
    RULE_TEXTS,
):
    for _locale, _texts in _part.items():
        MESSAGES[_locale].update(_texts)


def chosen(locale: str | None) -> str:
    return locale if locale in LOCALES else DEFAULT


def from_accept_language(header: str | None) -> str:
    """The locale a browser asks for first (``zh``, ``zh-CN``, ``zh-Hans``: Chinese)."""
    for part in (header or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT


def _babel(locale: str) -> str:
    return "zh_Hans_CN" if locale == "zh-CN" else "en_GB"


class Translator:
    """The texts and formats of one locale, as the templates call them."""

    def __init__(self, locale: str) -> None:
        self.locale = chosen(locale)
        self._messages = MESSAGES[self.locale]
        self._babel = _babel(self.locale)
        self._moment, self._day = medium(self._babel)

    def __call__(self, key: str, **values: object) -> str:
        text = self._messages.get(key) or MESSAGES[DEFAULT].get(key) or key
        return text.format(**values) if values else text

    def reason(self, reason: Mapping[str, object]) -> str:
        """A churn reason in the reader's words: its code's text from the catalogue (the
        assessment's own English text for a code the catalogue does not know)."""
        key = f"reason.{reason.get('code', '')}"
        return self(key) if key in self._messages else str(reason.get("text", ""))

    def refusal(self, e: RuleViolated) -> str:
        """A rule's refusal in the reader's words: its code's text
        (:mod:`crm.console.rule_texts`), or its family's with the status named (a lead that is
        converted); else the domain's own (English) message."""
        key = f"rule.{e.code}"
        if key in self._messages:
            return self(key)
        for prefix, (statuses, _, _) in FAMILIES.items():
            status = e.code.removeprefix(prefix)
            if e.code.startswith(prefix) and statuses + status in self._messages:
                return self(f"rule.family.{prefix}", status=self(statuses + status))
        return str(e)

    def _parsed(self, value: str | dt.date | None) -> dt.date | None:
        if isinstance(value, str):
            try:
                return dt.datetime.fromisoformat(value)
            except ValueError:
                return None
        return value

    def date(self, value: str | dt.date | None) -> str:
        """A moment (or a day), medium length: "3 Dec 2026, 07:15:00", "2026年12月3日 07:15:00"."""
        parsed = self._parsed(value)
        if parsed is None:
            return str(value) if value else self("none")
        if isinstance(parsed, dt.datetime):
            return self._moment(parsed)
        return self._day(parsed)

    def day(self, value: str | dt.date | None) -> str:
        """The day alone."""
        parsed = self._parsed(value)
        if parsed is None:
            return str(value) if value else self("none")
        return self._day(parsed)

    def money(self, amount: object, currency: str | None = None) -> str:
        """``{"amount": "12.50", "currency": "EUR"}`` (or the two apart) for the locale."""
        if isinstance(amount, dict):
            money: dict[str, object] = amount
            amount, currency = money.get("amount"), str(money.get("currency") or "") or None
        if amount is None or currency is None:
            return self("none")
        try:
            value = Decimal(str(amount))
        except InvalidOperation:
            return f"{amount} {currency}"
        return money_of(self._babel, currency)(value)

    def time(self, value: str | dt.datetime | None) -> str:
        """The time of day of a moment: "09:30"."""
        parsed = self._parsed(value)
        if not isinstance(parsed, dt.datetime):
            return self("none")
        return format_time(parsed, "short", locale=self._babel)

    def duration(self, seconds: int) -> str:
        """The two largest units of ``|seconds|``: "2 d 3 h", "45 min", "1 小时 5 分钟"."""
        days, hours, minutes = split_duration(seconds)
        parts = [
            self(f"duration.{unit}", n=n)
            for unit, n in (("d", days), ("h", hours), ("m", minutes))
            if n
        ]
        return " ".join(parts[:2]) if parts else self("duration.m", n=0)

    def countdown(self, c: Countdown) -> str:
        """An SLA target as the agent reads it: "due in 2 h 5 min", "overdue by 30 min"."""
        state = c.state
        if state in ("met", "met_late"):
            return self(f"sla.{state}")
        if state == "running":
            return self("sla.due_in", d=self.duration(c.seconds_left))
        return self(f"sla.{state}", d=self.duration(c.seconds_left))

    def stage(self, name: str | None) -> str:
        """A pipeline stage: the default stages by their names in the catalogue, a stage a
        manager configured as it was named."""
        if not name:
            return self("none")
        return self._messages.get(f"stage.{name}") or name.replace("_", " ")

    def number(self, value: float | int | None) -> str:
        if value is None:
            return self("none")
        return format_decimal(value, locale=self._babel)

    def percent(self, value: float | int | None) -> str:
        if value is None:
            return self("none")
        return f"{format_decimal(value, locale=self._babel)} %"
