"""The texts of a company customer's contacts on its page, in English and Simplified Chinese
(merged into the one catalogue, :data:`crm.console.i18n.MESSAGES`, whose test keeps both
complete)."""

CONTACTS: dict[str, dict[str, str]] = {
    "en": {
        "contacts.title": "Contacts",
        "contacts.none": "No contact yet.",
        "contacts.name": "Name",
        "contacts.job": "Title or role",
        "contacts.email": "E-mail",
        "contacts.phone": "Phone",
        "contacts.primary": "Primary contact",
        "contacts.is_primary": "primary",
        "contacts.note": "Note",
        "contacts.add": "Add a contact",
        "contacts.add_button": "Add",
        "contacts.edit": "Edit",
        "contacts.save": "Save contact",
        "contacts.remove": "Remove",
        "contacts.remove_confirm": "Remove this contact from the company",
    },
    "zh-CN": {
        "contacts.title": "联系人",
        "contacts.none": "暂无联系人。",
        "contacts.name": "姓名",
        "contacts.job": "职位或角色",
        "contacts.email": "邮箱",
        "contacts.phone": "电话",
        "contacts.primary": "主要联系人",
        "contacts.is_primary": "主要",
        "contacts.note": "备注",
        "contacts.add": "添加联系人",
        "contacts.add_button": "添加",
        "contacts.edit": "编辑",
        "contacts.save": "保存联系人",
        "contacts.remove": "删除",
        "contacts.remove_confirm": "从该公司删除此联系人",
    },
}
