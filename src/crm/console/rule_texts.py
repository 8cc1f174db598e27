# ruff: noqa: RUF001  (Chinese punctuation is meant: full-width colons, commas, brackets)
"""The domain's refusals in the reader's words: one text per rule's ``code``
(:class:`~crm.kernel.errors.RuleViolated`), in English and Simplified Chinese, so a Chinese
reader is not shown the engine's English (a code without a text here falls back to it).
Codes of a family that name a status (``lead_converted``, ``quote_not_sent``) are said by
:data:`FAMILIES` with the status in the reader's words."""

RULES: dict[str, tuple[str, str]] = {
    "already_escalated_to_manager": (
        "The ticket is already escalated to a manager.",
        "该工单已升级给经理。",
    ),
    "already_exists": ("This record exists already.", "该记录已存在。"),
    "already_in_pool": ("The customer is in the shared pool already.", "该客户已在公海中。"),
    "already_invoiced": ("The order is invoiced already.", "该订单已开票。"),
    "invoice_number_taken": (
        "Another invoice has this number already.",
        "已有其他发票使用该发票号。",
    ),
    "article_retired": (
        "The article is retired: it is no longer edited.",
        "该文章已停用，不能再编辑。",
    ),
    "article_version_mismatch": (
        "Someone published a newer version of the article meanwhile.",
        "他人已同时发布了该文章的新版本。",
    ),
    "calendar_already_defined": ("A calendar with this id exists already.", "已有此编号的日历。"),
    "calendar_in_use": (
        "An SLA policy still uses this calendar: let it use another one first.",
        "仍有服务级别策略使用此日历，请先改用其他日历。",
    ),
    "calendar_missing": ("There is no such business calendar.", "没有此工作日历。"),
    "calendar_retired": ("The calendar is retired.", "该日历已停用。"),
    "campaign_ended": ("The campaign has ended.", "该营销活动已结束。"),
    "campaign_over": ("The campaign is over.", "该营销活动已结束。"),
    "changed_meanwhile": (
        "Someone changed this meanwhile: reload the page to see it as it is now.",
        "他人已同时修改了此内容，请刷新页面查看最新状态。",
    ),
    "company_has_contacts": (
        "A company with contacts cannot become a person: remove its contacts first.",
        "有联系人的公司客户不能改为个人，请先删除其联系人。",
    ),
    "contact_exists": (
        "A contact of this company has this e-mail address already.",
        "该公司已有使用此邮箱的联系人。",
    ),
    "contract_ended": ("The contract has ended.", "该合同已到期。"),
    "contract_in_force": ("A contract is in force already.", "已有生效中的合同。"),
    "conversion_mismatch": (
        "The lead converts into another customer and opportunity.",
        "该线索转化为其他客户和商机。",
    ),
    "currency_fixed": (
        "The currency is fixed: changing it must be asked for explicitly.",
        "币种已固定，更改币种须明确确认。",
    ),
    "currency_mismatch": ("The currencies do not match.", "币种不一致。"),
    "customer_erased": (
        "The customer was erased: nothing new is recorded for them.",
        "该客户已被删除，不能再记录新内容。",
    ),
    "customer_merged": (
        "The customer was merged into another: work on that one.",
        "该客户已合并到另一客户，请在该客户上操作。",
    ),
    "follow_up_already_recorded": ("The follow-up is recorded already.", "回访已记录。"),
    "invoice_has_payments": (
        "The invoice has payments: refund them rather than void it.",
        "该发票已有付款，请退款而不是作废。",
    ),
    "invoice_void": ("The invoice is void.", "该发票已作废。"),
    "last_policy": (
        "This is the last SLA policy: define another before retiring it.",
        "这是最后一个服务级别策略，请先定义其他策略再停用。",
    ),
    "lead_already_converted": ("The lead is converted already.", "该线索已转化。"),
    "lead_not_qualified": ("Only a qualified lead is converted.", "只有已确认的线索才能转化。"),
    "line_exists": (
        "The quote has this line already: change it instead.",
        "报价中已有此行，请修改该行。",
    ),
    "no_conversion_requested": ("No conversion was asked for.", "未请求转化。"),
    "no_follow_up_due": ("No follow-up is due.", "没有待回访的事项。"),
    "not_a_company": (
        "Only a company customer has contacts; this customer is a person.",
        "只有公司客户才有联系人，该客户是个人。",
    ),
    "not_confirmed": ("It is not confirmed yet.", "尚未确认。"),
    "not_in_pool": ("The customer is not in the shared pool.", "该客户不在公海中。"),
    "not_merged": ("The customer was not merged.", "该客户未被合并。"),
    "not_submitted": ("It is not submitted yet.", "尚未提交。"),
    "opportunity_closed": (
        "The opportunity is closed: only reopening changes it.",
        "该商机已关闭，只能重新打开后再修改。",
    ),
    "opportunity_open": (
        "The opportunity is open: only a won or lost one is reopened.",
        "该商机仍在进行中，只有赢单或输单的商机才能重新打开。",
    ),
    "order_not_billable": (
        "The order is cancelled or returned: it cannot be invoiced.",
        "该订单已取消或退货，不能开票。",
    ),
    "outside_working_hours": ("The slot is outside working hours.", "该时段不在工作时间内。"),
    "overpayment": (
        "The payment is more than what is left to pay.",
        "付款金额超过了未付余额。",
    ),
    "own_statement": ("You may not approve your own statement.", "不能审批自己的对账单。"),
    "payment_id_reused": (
        "This payment is recorded already with another amount or date.",
        "该付款已以其他金额或日期记录。",
    ),
    "plan_ended": ("The plan has ended.", "该方案已结束。"),
    "policy_exists": ("A policy exists already for this level.", "该级别已有策略。"),
    "possible_duplicate": (
        "This looks like a customer already there: check the candidates, or confirm it is"
        " someone else.",
        "这可能是已有客户：请查看候选客户，或确认是另一位客户。",
    ),
    "primary_contact_exists": (
        "The company has a primary contact already: make that one not primary first.",
        "该公司已有主要联系人，请先取消其主要联系人身份。",
    ),
    "product_retired": ("The product is retired.", "该产品已停售。"),
    "quote_empty": ("The quote has no lines.", "报价没有明细行。"),
    "quote_expired": ("The quote has expired: draft a new one.", "报价已过期，请新建报价。"),
    "quote_not_accepted": (
        "Only an accepted quote becomes an order.",
        "只有已接受的报价才能转为订单。",
    ),
    "quote_not_ordered_as_this": (
        "The quote did not become this order.",
        "该报价未转为此订单。",
    ),
    "quote_ordered": ("The quote became an order already.", "该报价已转为订单。"),
    "quote_validity_passed": (
        "The quote's validity has passed: draft a new one.",
        "报价有效期已过，请新建报价。",
    ),
    "refund_exceeds_payment": (
        "The refund is more than what is left of the payment.",
        "退款金额超过了该笔付款的剩余金额。",
    ),
    "refund_id_reused": (
        "This refund is recorded already with another amount or date.",
        "该退款已以其他金额或日期记录。",
    ),
    "reopen_window_passed": (
        "The ticket was closed too long ago to be reopened.",
        "该工单关闭已久，不能重新打开。",
    ),
    "satisfaction_already_recorded": ("The satisfaction is recorded already.", "满意度已记录。"),
    "sku_taken": ("This SKU is in the catalogue already.", "该货号已在产品目录中。"),
    "slot_in_past": ("The slot has already begun.", "该时段已经开始。"),
    "statement_closed": ("The statement is closed.", "该对账单已关闭。"),
    "subject_erased": ("The data subject was erased.", "该数据主体已被删除。"),
    "target_already_set": ("The target is set already: revise it instead.", "目标已设定，请修改。"),
    "target_id_mismatch": ("This is not that target.", "这不是该目标。"),
    "team_exists": ("A team with this id exists already.", "已有此编号的团队。"),
    "technician_double_booked": (
        "The technician has another visit at that time.",
        "该技术员在此时段已有其他上门服务。",
    ),
    "tenant_exists": ("The tenant exists already.", "该租户已存在。"),
    "ticket_at_max_tier": ("The ticket is at the highest tier already.", "该工单已在最高级别。"),
    "ticket_closed": ("The ticket is closed.", "该工单已关闭。"),
    "ticket_not_assigned": ("The ticket is not assigned.", "该工单尚未分配。"),
    "ticket_not_resolved": ("The ticket is not resolved.", "该工单尚未解决。"),
    "too_many_comments": ("The ticket has too many comments.", "该工单的评论过多。"),
    "too_many_contacts": ("The company has too many contacts.", "该公司的联系人过多。"),
    "too_many_lines": ("The document has too many lines.", "明细行过多。"),
    "too_many_tags": ("The customer has too many tags.", "该客户的标签过多。"),
    "user_exists": ("A user with this id exists already.", "已有此编号的用户。"),
    "value_model_unavailable": (
        "There is too little order history to value customers yet.",
        "订单历史太少，尚无法评估客户价值。",
    ),
    "visit_not_started": ("The visit has not started.", "该上门服务尚未开始。"),
    "webhook_exists": ("A webhook with this id exists already.", "已有此编号的 Webhook。"),
}
"""A rule's code → (English, Chinese)."""

FAMILIES: dict[str, tuple[str, str, str]] = {
    "lead_": (
        "lead_status.",
        "The lead is {status}: this cannot be done now.",
        "该线索为“{status}”，现在不能这样做。",
    ),
    "quote_not_": (
        "quote_status.",
        "Only a quote that is {status} can do this.",
        "只有“{status}”的报价才能这样做。",
    ),
    "order_not_": (
        "order_status.",
        "Only an order that is {status} can do this.",
        "只有“{status}”的订单才能这样做。",
    ),
    "campaign_": (
        "campaign.status.",
        "The campaign is {status}: this cannot be done now.",
        "该营销活动为“{status}”，现在不能这样做。",
    ),
    "visit_": (
        "visit.",
        "The visit is {status}: this cannot be done now.",
        "该上门服务为“{status}”，现在不能这样做。",
    ),
    "ticket_": (
        "status.",
        "The ticket is {status}: this cannot be done now.",
        "该工单为“{status}”，现在不能这样做。",
    ),
    "task_": (
        "task_status.",
        "The task is {status}: this cannot be done now.",
        "该任务为“{status}”，现在不能这样做。",
    ),
}
"""A code's prefix → (the catalogue's prefix of its statuses, English, Chinese): the code's
rest is the status."""

TEXTS: dict[str, dict[str, str]] = {
    "en": {f"rule.{code}": en for code, (en, _) in RULES.items()}
    | {f"rule.family.{prefix}": en for prefix, (_, en, _) in FAMILIES.items()}
    | {
        "error.refused": "This cannot be done: {reason}",
        "error.changed": (
            "Someone else changed this at the same time. Reload the page to see the latest"
            " state, then try again."
        ),
        "error.engine": "(The platform said: {detail})",
    },
    "zh-CN": {f"rule.{code}": zh for code, (_, zh) in RULES.items()}
    | {f"rule.family.{prefix}": zh for prefix, (_, _, zh) in FAMILIES.items()}
    | {
        "error.refused": "无法执行：{reason}",
        "error.changed": "他人同时修改了此记录。请刷新页面查看最新状态后重试。",
        "error.engine": "（系统原文：{detail}）",
    },
}
