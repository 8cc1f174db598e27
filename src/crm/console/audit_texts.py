# ruff: noqa: RUF001  (Chinese punctuation is meant: full-width colons, commas, brackets)
"""The texts of the audit page, in English and Simplified Chinese (merged into the one
catalogue, :data:`crm.console.i18n.MESSAGES`, whose test keeps both complete)."""

AUDIT: dict[str, dict[str, str]] = {
    "en": {
        "audit.link": "History",
        "audit.title": "History of {kind} {id}",
        "audit.intro": "Every change, latest first: when it happened, when it was recorded, "
        "by whom, and each field before and after.",
        "audit.count": "{shown} of {total} changes",
        "audit.none": "No change recorded.",
        "audit.event": "Change",
        "audit.occurred": "Happened",
        "audit.recorded": "Recorded",
        "audit.actor": "By",
        "audit.field": "Field",
        "audit.before": "Before",
        "audit.after": "After",
    },
    "zh-CN": {
        "audit.link": "变更记录",
        "audit.title": "{kind} {id} 的变更记录",
        "audit.intro": "每一次变更，最新的在前：发生时间、记录时间、操作人，"
        "以及每个字段变更前后的值。",
        "audit.count": "共 {total} 次变更，显示 {shown} 次",
        "audit.none": "尚无变更记录。",
        "audit.event": "变更",
        "audit.occurred": "发生时间",
        "audit.recorded": "记录时间",
        "audit.actor": "操作人",
        "audit.field": "字段",
        "audit.before": "变更前",
        "audit.after": "变更后",
    },
}
