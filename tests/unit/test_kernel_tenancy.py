"""Tenant-qualified aggregate ids (crm.kernel.tenancy), shared by sales and the service desk."""

from __future__ import annotations

import pytest

from crm.kernel.errors import InvalidCommand
from crm.kernel.event_store import AppendResult
from crm.kernel.tenancy import local_id, qualified, split_qualified, tenant_own


@pytest.mark.parametrize(
    ("tenant", "local"),
    [("acme", "c-1"), ("a:b", "c-1"), ("a%3Ab", "x:y"), ("t/1 ü", ""), ("a", "b:c")],
)
def test_a_qualified_id_splits_back_into_tenant_and_local_id(tenant: str, local: str) -> None:
    aggregate_id = qualified(tenant, local)
    assert split_qualified(aggregate_id) == (tenant, local)
    assert local_id(aggregate_id) == local


def test_no_tenant_name_makes_its_id_another_tenant_s() -> None:
    pairs = [("a", "b:c"), ("a:b", "c"), ("a%3Ab", "c"), ("a", "b%3Ac")]
    assert len({qualified(t, local) for t, local in pairs}) == len(pairs)


def test_blank_tenant_and_unqualified_ids_are_refused() -> None:
    with pytest.raises(InvalidCommand):
        qualified("", "c-1")
    for unqualified in ("c-1", ":c-1"):
        with pytest.raises(InvalidCommand):
            split_qualified(unqualified)


def test_an_answer_names_the_stream_by_the_local_id() -> None:
    result = AppendResult("servicecontract-a%3Ab:c-1", 3, 42, replayed=True)
    assert tenant_own(result) == AppendResult("servicecontract-c-1", 3, 42, replayed=True)
    target = AppendResult("target-acme:rep-r1-2026-Q1", 1, 7)
    assert tenant_own(target).stream_id == "target-rep-r1-2026-Q1"
