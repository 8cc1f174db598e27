# ruff: noqa: RUF001  (Chinese punctuation is meant: full-width colons, commas, brackets)
"""The texts of the suspected duplicates page (admins), in English and Simplified Chinese
(merged into :data:`crm.console.i18n.MESSAGES`, whose test keeps both complete)."""

DUPLICATES: dict[str, dict[str, str]] = {
    "en": {
        "admin.duplicates": "Suspected duplicates",
        "admin.duplicates.about": "customers that likely are one: merge them, or keep both",
        "dup.intro": (
            "Pairs of customers with the same e-mail or phone, or a similar name in the same"
            " company, best match first. Merging moves the other's orders, tickets,"
            " opportunities, interactions, tags and contacts to the one you keep; the merged"
            " customer then points to it. The merge is recorded: who merged whom, and when."
        ),
        "dup.total": "{n} suspected pairs",
        "dup.none": "No suspected duplicates.",
        "dup.pair": "{a} and {b}",
        "dup.score": "Match score {score}",
        "dup.reason.same_email": "same e-mail",
        "dup.reason.same_phone": "same phone",
        "dup.reason.similar_name_same_company": "similar name in the same company",
        "dup.name": "Name",
        "dup.email": "E-mail",
        "dup.phone": "Phone",
        "dup.company": "Company",
        "dup.owner": "Owner",
        "dup.pool": "the shared pool",
        "dup.registered": "Registered",
        "dup.keep": "Keep {name}, merge the other into it",
        "dup.confirm": "Yes: merge {merged} into {survivor}",
        "dup.distinct": "These are two different customers",
        "dup.done.merged": "Merged.",
        "dup.done.distinct": "Kept as two customers; the pair is no longer listed.",
        "customer.merged": "Merged: this customer now holds the other's records.",
    },
    "zh-CN": {
        "admin.duplicates": "疑似重复客户",
        "admin.duplicates.about": "可能是同一客户的记录：合并，或保留为两个客户",
        "dup.intro": (
            "邮箱或电话相同、或同一公司中姓名相近的客户，按匹配度从高到低排列。合并后，另一客户的"
            "订单、工单、商机、互动记录、标签和联系人都归入保留的客户，被合并的客户指向它。"
            "合并会被记录：谁在何时合并了谁。"
        ),
        "dup.total": "共 {n} 对疑似重复",
        "dup.none": "没有疑似重复的客户。",
        "dup.pair": "{a} 与 {b}",
        "dup.score": "匹配度 {score}",
        "dup.reason.same_email": "邮箱相同",
        "dup.reason.same_phone": "电话相同",
        "dup.reason.similar_name_same_company": "同一公司中姓名相近",
        "dup.name": "姓名",
        "dup.email": "邮箱",
        "dup.phone": "电话",
        "dup.company": "公司",
        "dup.owner": "负责人",
        "dup.pool": "公海",
        "dup.registered": "登记时间",
        "dup.keep": "保留 {name}，将另一客户并入",
        "dup.confirm": "确认：将 {merged} 并入 {survivor}",
        "dup.distinct": "这是两个不同的客户",
        "dup.done.merged": "已合并。",
        "dup.done.distinct": "已保留为两个客户，此对不再列出。",
        "customer.merged": "已合并：该客户现包含另一客户的记录。",
    },
}
