"""The customer timeline's words (pure): newest first, ties in the order the happenings were
given reversed, money and users as the reader reads them, in both languages."""

# ruff: noqa: RUF001  (Chinese texts are meant)

from __future__ import annotations

from crm.console.i18n import Translator
from crm.console.timeline import Happening, from_sales, from_stream, lines, users_named
from crm.events.customer import CustomerKind, CustomerRegistered, CustomerTagged

EUR = {"amount": "1200.00", "currency": "EUR"}


def test_lines_are_newest_first_in_the_readers_language() -> None:
    happened = [
        *from_stream(
            [
                (
                    "2027-01-01T09:00:00+00:00",
                    "ana",
                    CustomerRegistered(kind=CustomerKind.PERSON, name="Ada"),
                ),
                ("2027-01-02T09:00:00+00:00", "ana", CustomerTagged(tag="vip")),
            ]
        ),
        *from_sales(
            "/console",
            [],
            [{"id": "o1", "placed_at": "2027-01-03T09:00:00+00:00", "total": EUR}],
            [],
        ),
    ]
    names = {"ana": "Ana"}
    en = lines(happened, Translator("en"), names)
    assert [line.text for line in en] == [
        "Order placed: €1,200.00",
        "Tagged vip",
        "Registered by Ana",
    ]
    assert en[0].link == "/console/orders/o1"
    zh = lines(happened, Translator("zh-CN"), names)
    assert [line.text for line in zh] == ["下单：€1,200.00", "添加标签 vip", "由 Ana 登记"]


def test_the_tags_given_at_registration_are_lines_after_it() -> None:
    registered = CustomerRegistered(kind=CustomerKind.PERSON, name="Ada", tags=("vip", "b2b"))
    happened = from_stream([("2027-01-01T09:00:00+00:00", "ana", registered)])
    texts = [line.text for line in lines(happened, Translator("en"), {"ana": "Ana"})]
    assert texts == ["Tagged b2b", "Tagged vip", "Registered by Ana"]


def test_at_the_same_moment_the_later_given_comes_first_and_the_limit_keeps_the_newest() -> None:
    at = "2027-01-01T09:00:00+00:00"
    happened = [Happening(at, "tagged", {"tag": t}) for t in ("a", "b", "c")]
    happened.append(Happening("2026-01-01T00:00:00+00:00", "tagged", {"tag": "old"}))
    shown = lines(happened, Translator("en"), {}, limit=3)
    assert [line.text for line in shown] == ["Tagged c", "Tagged b", "Tagged a"]


def test_a_quote_answered_and_an_invoice_paid_are_lines_of_their_own() -> None:
    quote = {
        "id": "q1",
        "created_at": "2027-01-01T09:00:00+00:00",
        "sent_at": "2027-01-02T09:00:00+00:00",
        "answered_at": "2027-01-03T09:00:00+00:00",
        "status": "accepted",
        "total": EUR,
    }
    invoice = {
        "id": "i1",
        "created_at": "2027-01-04T09:00:00+00:00",
        "amount": EUR,
        "payments": [{"recorded_at": "2027-01-05T09:00:00+00:00", "amount": EUR}],
    }
    texts = [
        line.text
        for line in lines(from_sales("/console", [quote], [], [invoice]), Translator("en"), {})
    ]
    assert texts == [
        "Payment received: €1,200.00",
        "Invoice issued: €1,200.00",
        "Quote accepted: €1,200.00",
        "Quote sent: €1,200.00",
        "Quote drafted: €1,200.00",
    ]


def test_the_users_named_are_those_of_the_lines_shown() -> None:
    happened = [
        Happening("2027-01-02T09:00:00+00:00", "registered", {"user": "ana"}),
        Happening("2027-01-03T09:00:00+00:00", "tagged", {"tag": "vip"}),
        Happening("2020-01-01T09:00:00+00:00", "registered", {"user": "old-rep"}),
    ]
    assert users_named(happened) == {"ana", "old-rep"}
    assert users_named(happened, limit=2) == {"ana"}  # the oldest line is not shown
