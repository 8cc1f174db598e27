"""Request and response bodies. Unknown fields are refused, so a typo is a 422 naming it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, EmailStr, Field, StringConstraints

from crm.events.customer import Channel, ConsentPurpose, CustomerKind, Direction
from crm.kernel.http.body import Body
from crm.kernel.http.params import Phone

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Language = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")
]
UserId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class NewCustomer(Body):
    kind: CustomerKind = CustomerKind.PERSON
    name: Name
    email: EmailStr | None = None
    phone: Phone | None = None
    company: Short | None = None
    title: Short | None = None
    region: Short | None = None
    source: Short | None = None
    billing_address: Address | None = Field(
        default=None, description="Free text, one line per address line"
    )
    shipping_address: Address | None = None
    visit_address: Address | None = None
    birthday: date | None = None
    anniversary: date | None = None
    preferred_channel: Channel | None = None
    preferred_language: Language | None = Field(default=None, examples=["en", "zh-CN"])
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    custom: dict[str, Any] = Field(
        default_factory=dict,
        max_length=100,
        description="The tenant's custom fields by key (GET /custom-fields?entity=customer)",
    )
    owner_id: UserId | None = Field(
        default=None, description="The owning rep; leave out to register into the shared pool"
    )
    confirm_distinct: bool = Field(
        default=False,
        description="Register even if likely duplicates exist (the 409 possible_duplicate "
        "named them): the user says this is another person or company",
    )


class ProfileChanges(Body):
    """Only the fields present are changed; ``null`` clears an optional field."""

    kind: CustomerKind | None = None
    name: Name | None = None
    email: EmailStr | None = None
    phone: Phone | None = None
    company: Short | None = None
    title: Short | None = None
    region: Short | None = None
    source: Short | None = None
    billing_address: Address | None = Field(
        default=None, description="Free text, one line per address line"
    )
    shipping_address: Address | None = None
    visit_address: Address | None = None
    birthday: date | None = None
    anniversary: date | None = None
    preferred_channel: Channel | None = None
    preferred_language: Language | None = Field(default=None, examples=["en", "zh-CN"])
    custom: dict[str, Any] | None = Field(
        default=None, max_length=100, description="Custom fields to change; null clears one"
    )
    confirm_distinct: bool = Field(
        default=False, description="Change even if the result matches another customer"
    )


class OwnerAssignment(Body):
    owner_id: UserId


class Release(Body):
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class NewTag(Body):
    tag: Tag


class NewInteraction(Body):
    channel: Channel
    direction: Direction = Direction.OUTBOUND
    summary: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
    occurred_at: datetime | None = Field(default=None, description="When it happened; default now")
    duration_minutes: int | None = Field(default=None, ge=0, le=24 * 60)


class NewConsent(Body):
    purpose: ConsentPurpose
    granted: bool
    method: Annotated[str, StringConstraints(max_length=200)] | None = None


class Erasure(Body):
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class NewContact(Body):
    """A person at a company customer."""

    name: Name
    title: Short | None = Field(default=None, description="Their role at the company")
    email: EmailStr | None = None
    phone: Phone | None = None
    primary: bool = Field(default=False, description="The company's main contact (one at most)")
    note: Note | None = None


class ContactChanges(Body):
    """Only the fields present are changed; ``null`` clears an optional one."""

    name: Name | None = None
    title: Short | None = None
    email: EmailStr | None = None
    phone: Phone | None = None
    primary: bool | None = None
    note: Note | None = None


class InteractionView(BaseModel):
    interaction_id: str
    channel: Channel
    direction: Direction
    summary: str
    occurred_at: datetime
    duration_minutes: int | None
    logged_by: str
    logged_at: str
    position: int
