"""Webhook subscriptions and their lease, given/when/then on events; the signature against
the Standard Webhooks specification's published example; event types and allowed hosts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm.activities.application.webhook_commands import (
    AllowedHosts,
    checked_event_types,
    internal,
    sign,
    wants,
)
from crm.activities.domain.webhooks import LEASE, Webhook, WebhookLease
from crm.events.webhooks import (
    WebhookDeadLettered,
    WebhookLeaseTaken,
    WebhookRedelivered,
    WebhookRedeliveryRequested,
)
from crm.kernel.errors import InvalidCommand

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def created() -> Webhook:
    hook = Webhook.create("w1")
    hook.register("https://h.example.org/x", ("customer.registered",), "whsec_QUJD", None)
    return Webhook.rehydrate("w1", hook.changes, 0)


def test_the_signature_is_the_specifications_example() -> None:
    signature = sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_dead_letter_is_recorded_once_and_redelivered_on_request() -> None:
    hook = created()
    hook.dead_letter(7, "e7", "customer.registered", "customer-c1", 8, "HTTP 500")
    hook.dead_letter(7, "e7", "customer.registered", "customer-c1", 8, "HTTP 500")  # again
    assert [type(e) for e in hook.changes] == [WebhookDeadLettered]
    with pytest.raises(InvalidCommand) as refused:
        hook.ask_redelivery(8)
    assert refused.value.field == "position"
    hook.ask_redelivery(7)
    hook.ask_redelivery(7)
    hook.redelivered(7)
    assert [type(e) for e in hook.changes] == [
        WebhookDeadLettered,
        WebhookRedeliveryRequested,
        WebhookRedelivered,
    ]
    assert hook.state.dead == frozenset()
    assert hook.state.redeliveries == ()


def test_a_failed_redelivery_is_a_dead_letter_again() -> None:
    hook = created()
    hook.dead_letter(7, "e7", "customer.registered", "customer-c1", 8, "HTTP 500")
    hook.ask_redelivery(7)
    hook.dead_letter(7, "e7", "customer.registered", "customer-c1", 1, "HTTP 502")
    assert hook.state.dead == {7}
    assert hook.state.redeliveries == ()
    assert len(hook.changes) == 3


def test_a_replay_names_a_position_of_the_log() -> None:
    hook = created()
    with pytest.raises(InvalidCommand):
        hook.replay(11, head=10)
    hook.replay(3, head=10)
    assert (hook.state.replays, hook.state.replay_from) == (1, 3)


def test_the_lease_is_one_holders_until_it_runs_out() -> None:
    lease = WebhookLease.create("w1")
    assert lease.take("a", NOW)
    assert lease.take("a", NOW + timedelta(seconds=10))  # held: no new event
    assert not lease.take("b", NOW + timedelta(seconds=59))
    assert lease.take("a", NOW + LEASE / 2 + timedelta(seconds=1))  # renewed past half
    assert lease.take("b", NOW + LEASE * 2)  # ran out
    holders = [e.holder for e in lease.changes if isinstance(e, WebhookLeaseTaken)]
    assert holders == ["a", "a", "b"]


def test_event_types_and_prefixes() -> None:
    assert checked_event_types([" sales.* ", "customer.registered", "sales.*"]) == (
        "customer.registered",
        "sales.*",
    )
    assert wants(("sales.*",), "sales.lead.captured")
    assert not wants(("sales.*",), "salesman.x")
    assert not wants(("customer.registered",), "customer.erased")
    for bad in (["tenant.created"], ["activities.webhook.created"], ["nope.*"], []):
        with pytest.raises(InvalidCommand):
            checked_event_types(bad)


def test_allowed_hosts_and_internal_addresses() -> None:
    allowed = AllowedHosts.parse(" Hooks.Example.com, *.example.org ,10.0.0.7")
    assert allowed.allows("hooks.example.com")
    assert allowed.allows("a.b.example.org")
    assert not allowed.allows("example.org")  # the wildcard is its subdomains
    assert not allowed.allows("evil-example.org")
    assert allowed.allows("10.0.0.7")
    assert not AllowedHosts.parse(None).allows("hooks.example.com")
    for address in ("127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "fe80::1%eth0", "0.0.0.0"):
        assert internal(address), address
    assert not internal("93.184.215.14")
