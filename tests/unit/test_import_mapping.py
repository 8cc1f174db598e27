"""The suggested mapping of the billing files and the customers' owner: headers in English and
Chinese name the kind's own fields (a name several fields share goes to the kind's)."""

from __future__ import annotations

from crm.platform.imports.billing import INVOICE_FIELDS, PAYMENT_FIELDS
from crm.platform.imports.customers import FIELDS as CUSTOMER_FIELDS
from crm.platform.imports.mapping import suggest
from crm.platform.imports.sales import ORDER_FIELDS


def test_an_invoices_file_in_chinese_and_in_english() -> None:
    chinese = ["发票号码", "订单编号", "开票时间", "到期日", "发票金额", "币种"]
    assert list(suggest(chinese, INVOICE_FIELDS).values()) == [
        "invoice",
        "order",
        "invoice_date",
        "due_date",
        "amount",
        "currency",
    ]
    english = ["Invoice No", "Order Number", "Issue date", "Due date", "Amount"]
    assert list(suggest(english, INVOICE_FIELDS).values()) == [
        "invoice",
        "order",
        "invoice_date",
        "due_date",
        "amount",
    ]


def test_a_payments_file_names_its_amount_date_method_and_reference() -> None:
    headers = ["Invoice ID", "回款金额", "收款日期", "支付方式", "交易流水号"]
    assert suggest(headers, PAYMENT_FIELDS) == {
        "Invoice ID": "invoice",
        "回款金额": "amount",
        "收款日期": "paid_date",
        "支付方式": "payment_method",
        "交易流水号": "reference",
    }
    english = ["Order", "Amount paid", "Payment date", "Payment method", "Reference"]
    assert list(suggest(english, PAYMENT_FIELDS).values()) == [
        "order",
        "amount",
        "paid_date",
        "payment_method",
        "reference",
    ]


def test_an_amount_paid_is_the_paid_cell_of_an_orders_file() -> None:
    """(It is a payment's amount in a payments file: the kind's fields decide.)"""
    assert suggest(["Amount paid"], ORDER_FIELDS) == {"Amount paid": "paid"}
    assert suggest(["Amount paid"], PAYMENT_FIELDS) == {"Amount paid": "amount"}


def test_a_customers_owner_column() -> None:
    assert suggest(["负责人", "Tags"], CUSTOMER_FIELDS) == {"负责人": "owner", "Tags": "tags"}
    assert suggest(["Account owner"], CUSTOMER_FIELDS) == {"Account owner": "owner"}
