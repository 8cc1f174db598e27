"""Bearer-token authentication as a FastAPI dependency: a token verifies (signature, expiry,
claims) and names a tenant that exists and is active (:mod:`crm.kernel.tenants`), else 401."""

from __future__ import annotations

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from crm.kernel.auth import Actor, Role, TokenIssuer
from crm.kernel.errors import Forbidden, Unauthenticated
from crm.kernel.tenants import TenantDirectory

bearer = HTTPBearer(
    auto_error=False, description="A token from `crm token --user NAME --role ROLE`"
)


class Authenticator:
    """``tenants`` None checks no tenant (a test of the token alone); the platform always
    passes its directory."""

    def __init__(self, tokens: TokenIssuer, tenants: TenantDirectory | None = None) -> None:
        self.tokens = tokens
        self.tenants = tenants

    async def __call__(
        self, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
    ) -> Actor:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise Unauthenticated("a bearer token is required")
        actor = self.tokens.verify(credentials.credentials)
        if self.tenants is not None:
            await self.tenants.require_active(actor.tenant)
        return actor


def require_role(actor: Actor, *roles: Role) -> None:
    if actor.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        raise Forbidden(f"role {actor.role.value} may not do this (needs one of: {allowed})")
