# ruff: noqa: RUF001  (Chinese punctuation is meant: full-width colons, commas, brackets)
"""The texts of the import page, in English and Simplified Chinese (merged into
:data:`crm.console.i18n.MESSAGES`, whose test keeps both complete)."""

FIELDS = {
    "name": ("Name", "姓名"),
    "kind": ("Person or company", "个人或公司"),
    "email": ("E-mail", "邮箱"),
    "phone": ("Phone", "电话"),
    "company": ("Company", "公司"),
    "title": ("Job title", "职位"),
    "region": ("Region", "地区"),
    "source": ("Source", "来源"),
    "tags": ("Tags", "标签"),
    "external_id": ("Id in the source system", "原系统编号"),
    "customer_id": ("Customer id in this CRM", "本系统客户编号"),
    "merge_into": ("Merge into (customer id or e-mail)", "合并到（客户编号或邮箱）"),
    "customer": ("Customer (id or e-mail)", "客户（编号或邮箱）"),
    "channel": ("Channel", "方式"),
    "direction": ("Direction", "方向"),
    "summary": ("Summary", "摘要"),
    "date": ("Date", "日期"),
    "duration": ("Duration (minutes)", "时长（分钟）"),
    "amount": ("Amount", "金额"),
    "currency": ("Currency", "币种"),
    "quantity": ("Quantity", "数量"),
    "sku": ("Product code (SKU)", "产品编号"),
    "description": ("Description", "描述"),
    "order": ("Order number", "订单号"),
    "price": ("Price", "单价"),
    "discount": ("Discount (%)", "折扣（%）"),
    "status": ("Status", "状态"),
    "invoice_date": ("Invoice date", "开票日期"),
    "due_date": ("Due date", "到期日"),
    "paid": ("Paid (amount, or yes for in full)", "已付（金额，或“是”表示全额）"),
    "paid_date": ("Payment date", "付款日期"),
    "payment_method": ("Payment method", "付款方式"),
}
KIND_NAMES = {
    "customers": ("Customers", "客户"),
    "interactions": ("Interactions", "互动记录"),
    "contacts": ("Contacts", "联系人"),
    "leads": ("Leads", "线索"),
    "opportunities": ("Opportunities", "商机"),
    "products": ("Products", "产品"),
    "orders": ("Orders with their lines", "订单及明细"),
    "invoices": ("Invoices", "发票"),
    "payments": ("Payments", "付款"),
}
SHOWN = {
    "error": ("Failing rows", "失败的行"),
    "duplicate": ("Duplicates", "重复"),
    "update": ("Updates", "更新"),
    "merge": ("Merges", "合并"),
    "unchanged": ("Unchanged", "无需更改"),
    "created": ("Created", "已新建"),
    "updated": ("Updated", "已更新"),
    "merged": ("Merged", "已合并"),
    "failed": ("Failed", "失败"),
}

IMPORTS: dict[str, dict[str, str]] = {
    "en": {
        "nav.imports": "Import",
        "imports.title": "Import",
        "imports.intro": (
            "Bring records in from a CSV or Excel (xlsx) file, a header row first. Nothing is"
            " written until you have seen the dry run and confirmed it."
        ),
        "imports.upload": "Upload a file",
        "imports.file": "File (.csv or .xlsx)",
        "imports.kind": "What the file holds",
        "imports.dates": "Dates such as 03/04/2019 are",
        "imports.month_first": "month first (3 April 2019 is 04/03/2019)",
        "imports.day_first": "day first (3 April 2019 is 03/04/2019)",
        "imports.region": "Country of phone numbers without a country code",
        "imports.on_match": "A row that is a customer already there (same CRM id, e-mail or phone)",
        "imports.on_match.skip": "report it as a duplicate, change nothing",
        "imports.on_match.update": "update that customer with the row's values",
        "imports.check": "Check the file (dry run)",
        "imports.list": "Imports",
        "imports.none": "No import yet.",
        "imports.file_name": "File",
        "imports.status": "Status",
        "imports.rows": "Rows",
        "imports.planned_by": "Planned by",
        "imports.planned_at": "Planned",
        "import.status.planned": "dry run, not confirmed",
        "import.status.running": "running",
        "import.status.finished": "finished",
        "import.title": "Import of {file}",
        "import.back": "All imports",
        "import.summary": "{kind}, {rows} rows, {status}",
        "import.counts": "What the rows will do",
        "import.done": "What the rows did",
        "import.count.create": "create",
        "import.count.update": "update",
        "import.count.merge": "merge",
        "import.count.unchanged": "unchanged",
        "import.count.duplicate": "duplicate",
        "import.count.error": "fail",
        "import.mapping": "Columns and fields",
        "import.mapping_intro": (
            "Each column of the file was matched to a field by its name. Change a match and"
            " check the file again: the dry run below is for the mapping as it is now."
        ),
        "import.column": "Column",
        "import.field": "Field",
        "import.not_imported": "not imported",
        "import.unmapped": "Not imported: {columns}",
        "import.again": "Check again with this mapping",
        "import.confirm": "Confirm and import",
        "import.confirm_hint": "Rows that fail or duplicate are left out; the others are written.",
        "import.progress": "Progress",
        "import.progress_of": "{done} of {rows} rows done",
        "import.running_note": "The page reloads itself until the import has finished.",
        "import.row": "Row",
        "import.outcome": "Outcome",
        "import.record": "Record",
        "import.reason": "Column and reason",
        "import.no_rows": "No row here.",
        "import.customer": "Customer",
        "import.order": "Order",
        "imports.currency": "Currency of prices that name none (products, orders)",
        "import.into": "merged into",
        "import.of": "duplicate of",
        "import.options": "Options",
        "import.stopped": (
            "This import stopped before it finished (the server it ran in stopped). Resuming"
            " goes on after the last rows recorded; no row creates twice."
        ),
        "import.resume": "Resume the import",
    },
    "zh-CN": {
        "nav.imports": "导入",
        "imports.title": "导入",
        "imports.intro": (
            "从 CSV 或 Excel（xlsx）文件导入记录，首行为表头。"
            "在您查看试运行结果并确认之前，不会写入任何数据。"
        ),
        "imports.upload": "上传文件",
        "imports.file": "文件（.csv 或 .xlsx）",
        "imports.kind": "文件内容",
        "imports.dates": "日期（如 03/04/2019）的写法",
        "imports.month_first": "月在前（04/03 为 4 月 3 日）",
        "imports.day_first": "日在前（03/04 为 4 月 3 日）",
        "imports.region": "未写国家区号的电话号码所属国家",
        "imports.on_match": "与已有客户相同的行（相同的本系统编号、邮箱或电话）",
        "imports.on_match.skip": "标记为重复，不做更改",
        "imports.on_match.update": "用该行的值更新该客户",
        "imports.check": "检查文件（试运行）",
        "imports.list": "导入记录",
        "imports.none": "暂无导入。",
        "imports.file_name": "文件",
        "imports.status": "状态",
        "imports.rows": "行数",
        "imports.planned_by": "发起人",
        "imports.planned_at": "发起时间",
        "import.status.planned": "试运行，未确认",
        "import.status.running": "导入中",
        "import.status.finished": "已完成",
        "import.title": "导入 {file}",
        "import.back": "全部导入",
        "import.summary": "{kind}，{rows} 行，{status}",
        "import.counts": "各行将执行的操作",
        "import.done": "各行已执行的操作",
        "import.count.create": "新建",
        "import.count.update": "更新",
        "import.count.merge": "合并",
        "import.count.unchanged": "无需更改",
        "import.count.duplicate": "重复",
        "import.count.error": "失败",
        "import.mapping": "列与字段",
        "import.mapping_intro": (
            "文件的每一列已按列名匹配到字段。修改匹配后请重新检查：下方的试运行结果对应当前的匹配。"
        ),
        "import.column": "列",
        "import.field": "字段",
        "import.not_imported": "不导入",
        "import.unmapped": "不导入的列：{columns}",
        "import.again": "按此匹配重新检查",
        "import.confirm": "确认并导入",
        "import.confirm_hint": "失败或重复的行不会导入，其余的行将被写入。",
        "import.progress": "进度",
        "import.progress_of": "已完成 {done} / {rows} 行",
        "import.running_note": "导入完成前，本页会自动刷新。",
        "import.row": "行",
        "import.outcome": "结果",
        "import.record": "记录",
        "import.reason": "列与原因",
        "import.no_rows": "没有此类行。",
        "import.customer": "客户",
        "import.order": "订单",
        "imports.currency": "未注明币种的价格所用币种（产品、订单）",
        "import.into": "合并到",
        "import.of": "重复于",
        "import.options": "选项",
        "import.stopped": (
            "此次导入在完成前已中断（运行它的服务器已停止）。"
            "继续导入将从最后记录的行之后开始，不会重复创建。"
        ),
        "import.resume": "继续导入",
    },
}

for _key, (_en, _zh) in FIELDS.items():
    IMPORTS["en"][f"import.field.{_key}"] = _en
    IMPORTS["zh-CN"][f"import.field.{_key}"] = _zh
for _key, (_en, _zh) in KIND_NAMES.items():
    IMPORTS["en"][f"import.kind.{_key}"] = _en
    IMPORTS["zh-CN"][f"import.kind.{_key}"] = _zh
for _key, (_en, _zh) in SHOWN.items():
    IMPORTS["en"][f"import.show.{_key}"] = _en
    IMPORTS["zh-CN"][f"import.show.{_key}"] = _zh
