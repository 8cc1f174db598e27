"""Bearer-token authentication as a FastAPI dependency."""

from __future__ import annotations

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from crm.kernel.auth import Actor, Role, TokenIssuer
from crm.kernel.errors import Forbidden, Unauthenticated

bearer = HTTPBearer(
    auto_error=False, description="A token from `crm token --user NAME --role ROLE`"
)


class Authenticator:
    def __init__(self, tokens: TokenIssuer) -> None:
        self.tokens = tokens

    async def __call__(
        self, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
    ) -> Actor:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise Unauthenticated("a bearer token is required")
        return self.tokens.verify(credentials.credentials)


def require_role(actor: Actor, *roles: Role) -> None:
    if actor.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        raise Forbidden(f"role {actor.role.value} may not do this (needs one of: {allowed})")
