"""The ``activities_consents`` read model: per customer, the latest consent recorded for each
purpose (``customer.consent_recorded``), so customer care never gets in touch with a customer
who withdrew it (see :mod:`crm.activities.application.care`). No personal data: purposes,
yes or no, and when."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from typing_extensions import TypedDict

from crm.events import EventEnvelope
from crm.events.customer import ConsentPurpose, ConsentRecorded
from crm.kernel.handlers import DocKey, Handlers, stream_key
from crm.kernel.read_store import CollectionSpec

CONSENTS = "activities_consents"


class ConsentDoc(TypedDict):
    id: str
    tenant: Annotated[str, Field(exclude=True)]
    granted: dict[str, bool]
    """Per purpose (``marketing_phone``...): the latest record's answer."""
    recorded_at: dict[str, str]
    """Per purpose: when the latest record was made."""


on: Handlers[ConsentDoc] = Handlers()


@on(ConsentRecorded)
def recorded(
    key: DocKey, doc: ConsentDoc | None, e: ConsentRecorded, env: EventEnvelope
) -> ConsentDoc:
    new = ConsentDoc(id=key[1], tenant=env.tenant, granted={}, recorded_at={})
    if doc is not None:
        new = doc.copy()
    purpose = e.purpose.value
    new["granted"] = {**new["granted"], purpose: e.granted}
    new["recorded_at"] = {**new["recorded_at"], purpose: env.occurred_at.isoformat()}
    return new


def withdrawn(doc: ConsentDoc | None, purpose: ConsentPurpose) -> bool:
    """Whether the customer's latest consent for ``purpose`` is a withdrawal (never asked:
    not withdrawn)."""
    return doc is not None and doc["granted"].get(purpose.value) is False


class ConsentsProjection:
    name = CONSENTS
    version = 1
    collections = (CollectionSpec(CONSENTS),)
    event_types = on.event_types
    categories = frozenset({"customer"})
    evolve = staticmethod(on.evolve)

    def keys(self, event: object, envelope: EventEnvelope) -> tuple[DocKey]:
        return (stream_key(CONSENTS, envelope),)


CONSENTS_PROJECTION = ConsentsProjection()
