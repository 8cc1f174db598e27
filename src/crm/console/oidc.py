"""Sign-in through OpenID Connect: the authorization code flow with PKCE, the ID token
verified against the provider's published keys (JWKS).

Configured by ``CRM_OIDC_ISSUER`` and ``CRM_OIDC_CLIENT_ID`` (``CRM_OIDC_CLIENT_SECRET`` for
a confidential client, ``CRM_OIDC_REDIRECT_URL``, ``CRM_OIDC_USERNAME_CLAIM``,
``CRM_OIDC_SCOPES``), the sign-in page offers "Sign in with your organisation's account":

1. ``POST /console/oidc/start`` (with the page's CSRF token and the tenant) makes a
   ``state``, a ``nonce`` and a PKCE ``code_verifier`` (43+ random characters; its S256
   ``code_challenge`` goes to the provider), keeps the three, the tenant and where to go
   next in a signed cookie of its own (``crm_oidc``, HttpOnly, SameSite=Lax, 10 minutes,
   path ``/console/oidc/``), and sends the browser to the provider's authorization endpoint
   (read from its discovery document, whose ``issuer`` must be the configured one).
2. ``GET /console/oidc/callback?code=&state=``: the state must be the cookie's; the code is
   exchanged at the token endpoint with the verifier (and the client's secret by HTTP Basic
   when one is set); the ID token's signature is checked with the provider's key of its
   ``kid`` (the JWKS read once and again when an unknown ``kid`` appears), its algorithm
   must be asymmetric and one the provider announces, and its ``iss``, ``aud`` (and ``azp``
   when several audiences), ``exp``, ``iat`` and ``nonce`` must be right.
3. The claim ``CRM_OIDC_USERNAME_CLAIM`` names the console user in the tenant: the user must
   exist there and be active and not locked out (the directory still holds roles and teams;
   the provider proves who the person is, not what they may do). The sign-in is recorded
   like a password sign-in and the session is the same.

Every refusal is the sign-in page with one message, the reason only in the log.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from crm.console.pages import PREFIX, Console, guarded, safe_next, see
from crm.console.users import sign_in_verified
from crm.kernel.settings import Settings

log = logging.getLogger(__name__)

COOKIE = "crm_oidc"
FLOW_SECONDS = 600
CALLBACK = f"{PREFIX}/oidc/callback"
ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
LEEWAY_SECONDS = 60
"""Clock skew allowed between the provider and us on ``exp``, ``iat`` and ``nbf``."""
METADATA_SECONDS = 3600.0


class OidcRefused(Exception):
    """The provider's answer does not sign anybody in (the reason is the message)."""


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    client_id: str
    client_secret: str | None
    redirect_url: str | None
    username_claim: str
    scopes: str

    @classmethod
    def of(cls, settings: Settings) -> OidcSettings | None:
        if not settings.oidc_issuer:
            return None
        if not settings.oidc_client_id:
            raise ValueError("CRM_OIDC_ISSUER is set without CRM_OIDC_CLIENT_ID")
        if "openid" not in settings.oidc_scopes.split():
            raise ValueError("CRM_OIDC_SCOPES must include openid")
        return cls(
            settings.oidc_issuer.rstrip("/"),
            settings.oidc_client_id,
            settings.oidc_client_secret,
            settings.oidc_redirect_url,
            settings.oidc_username_claim,
            settings.oidc_scopes,
        )


def pkce_challenge(verifier: str) -> str:
    """RFC 7636's S256: BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class OidcClient:
    """The relying party's side of the provider: discovery, the token exchange and the ID
    token's verification (the provider's metadata and keys cached)."""

    def __init__(self, settings: OidcSettings) -> None:
        self.settings = settings
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: dict[str | None, jwt.PyJWK] = {}

    async def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One call to the provider (sign-ins are rare: a client per call, nothing to close)."""
        async with httpx.AsyncClient(timeout=10) as http:
            return await http.request(method, url, **kwargs)

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None or time.monotonic() - self._metadata_at > METADATA_SECONDS:
            url = f"{self.settings.issuer}/.well-known/openid-configuration"
            answer = await self._request("GET", url)
            answer.raise_for_status()
            found: dict[str, Any] = answer.json()
            if str(found.get("issuer", "")).rstrip("/") != self.settings.issuer:
                raise OidcRefused(f"the discovery document names issuer {found.get('issuer')!r}")
            for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(found.get(key), str):
                    raise OidcRefused(f"the discovery document has no {key}")
            self._metadata, self._metadata_at = found, time.monotonic()
        return self._metadata

    async def authorization_url(
        self, redirect_uri: str, state: str, nonce: str, verifier: str
    ) -> str:
        meta = await self.metadata()
        query = {
            "response_type": "code",
            "client_id": self.settings.client_id,
            "redirect_uri": redirect_uri,
            "scope": self.settings.scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce_challenge(verifier),
            "code_challenge_method": "S256",
        }
        endpoint: str = meta["authorization_endpoint"]
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"

    async def exchange(self, code: str, redirect_uri: str, verifier: str) -> str:
        """The ID token the token endpoint answers for ``code``."""
        meta = await self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        auth = None
        if self.settings.client_secret is None:
            form["client_id"] = self.settings.client_id
        else:
            auth = httpx.BasicAuth(self.settings.client_id, self.settings.client_secret)
        answer = await self._request("POST", meta["token_endpoint"], data=form, auth=auth)
        if answer.status_code != 200:
            raise OidcRefused(f"the token endpoint answered {answer.status_code}")
        token = answer.json().get("id_token")
        if not isinstance(token, str):
            raise OidcRefused("the token endpoint answered no id_token")
        return token

    async def _key(self, kid: str | None) -> jwt.PyJWK:
        if kid not in self._keys:  # unknown: the provider may have rotated its keys
            meta = await self.metadata()
            answer = await self._request("GET", meta["jwks_uri"])
            answer.raise_for_status()
            keys = {}
            for entry in answer.json().get("keys", []):
                if entry.get("use", "sig") != "sig":
                    continue
                try:
                    keys[entry.get("kid")] = jwt.PyJWK(entry)
                except jwt.PyJWTError:
                    continue  # a key type we do not know: not the one that signed
            self._keys = keys
        if kid not in self._keys:
            if kid is None and len(self._keys) == 1:
                return next(iter(self._keys.values()))
            raise OidcRefused(f"no key {kid!r} in the provider's JWKS")
        return self._keys[kid]

    async def verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The ID token's claims once its signature and claims check out."""
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError as e:
            raise OidcRefused(f"the id_token is not a JWT: {e}") from e
        meta = await self.metadata()
        allowed = [
            a
            for a in meta.get("id_token_signing_alg_values_supported", ["RS256"])
            if a in ASYMMETRIC
        ]
        if header.get("alg") not in allowed:
            raise OidcRefused(f"the id_token is signed with {header.get('alg')!r}")
        key = await self._key(header.get("kid"))
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key,
                algorithms=allowed,
                audience=self.settings.client_id,
                issuer=meta["issuer"],
                leeway=LEEWAY_SECONDS,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            )
        except jwt.PyJWTError as e:
            raise OidcRefused(f"the id_token does not verify: {e}") from e
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.settings.client_id:
            raise OidcRefused("the id_token has several audiences and another azp")
        if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise OidcRefused("the id_token's nonce is not this sign-in's")
        return claims


def oidc_router(console: Console, settings: OidcSettings, client: OidcClient) -> APIRouter:
    api = APIRouter(include_in_schema=False)
    runtime = console.runtime
    page = guarded(console)

    def redirect_uri(request: Request) -> str:
        return settings.redirect_url or str(request.url_for("oidc_callback"))

    async def refused(request: Request, tenant: str, reason: str) -> Response:
        log.warning("OpenID Connect sign-in refused: %s", reason)
        visit = await console.visit(request)
        answer = console.render(
            visit, request, "sign_in.html", status=401, tenant=tenant, next=f"{PREFIX}/", failed=3
        )
        answer.delete_cookie(COOKIE, path=f"{PREFIX}/oidc/")
        return answer

    @api.post(f"{PREFIX}/oidc/start")
    @page
    async def oidc_start(
        request: Request,
        tenant: str = Form(max_length=63),
        next: str = Form(default=f"{PREFIX}/", max_length=2000),
    ) -> Response:
        await console.check_csrf(request)
        tenant = tenant.strip() or console.default_tenant
        flow = {
            "state": secrets.token_urlsafe(24),
            "nonce": secrets.token_urlsafe(24),
            "verifier": secrets.token_urlsafe(48),  # 64 characters of [A-Za-z0-9_-]
            "tenant": tenant,
            "next": safe_next(next),
        }
        try:
            target = await client.authorization_url(
                redirect_uri(request), flow["state"], flow["nonce"], flow["verifier"]
            )
        except (httpx.HTTPError, OidcRefused, ValueError) as e:
            return await refused(request, tenant, f"the provider is not reachable: {e}")
        answer = RedirectResponse(target, status_code=303)
        answer.set_cookie(
            COOKIE,
            console.sessions.seal("oidc", flow),
            max_age=FLOW_SECONDS,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path=f"{PREFIX}/oidc/",
        )
        return answer

    @api.get(CALLBACK, name="oidc_callback")
    @page
    async def oidc_callback(
        request: Request,
        state: str = "",
        code: str | None = None,
        error: str | None = None,
        error_description: str | None = None,
        session_state: str | None = None,
        iss: str | None = None,
    ) -> Response:
        flow = console.sessions.unseal("oidc", request.cookies.get(COOKIE), FLOW_SECONDS)
        tenant = flow["tenant"] if flow else console.default_tenant
        if flow is None:
            return await refused(request, tenant, "no sign-in in flight (or it is too old)")
        if not secrets.compare_digest(state, flow["state"]):
            return await refused(request, tenant, "the state is not this sign-in's")
        if error is not None or code is None:
            return await refused(request, tenant, f"the provider said {error}: {error_description}")
        if iss is not None and iss.rstrip("/") != settings.issuer:  # RFC 9207
            return await refused(request, tenant, f"the answer names issuer {iss!r}")
        try:
            id_token = await client.exchange(code, redirect_uri(request), flow["verifier"])
            claims = await client.verify(id_token, flow["nonce"])
        except (httpx.HTTPError, OidcRefused) as e:
            return await refused(request, tenant, str(e))
        name = claims.get(settings.username_claim)
        if not isinstance(name, str):
            return await refused(request, tenant, f"the id_token has no {settings.username_claim}")
        outcome = None
        if await runtime.tenants.status(tenant) == "active":
            outcome = await sign_in_verified(runtime.commands, tenant, name, runtime.clock.now())
        if outcome is None or outcome.actor is None:
            return await refused(request, tenant, f"{name!r} may not sign in to {tenant!r}")
        visit = await console.visit(request)
        session = console.sessions.signed_in(
            visit.session, tenant, outcome.actor.id, outcome.locale, outcome.generation
        )
        target = flow["next"]
        if target == f"{PREFIX}/":
            target += f"?min_position={outcome.position}"
        answer = see(target)
        console.sessions.write(request, answer, session)
        answer.delete_cookie(COOKIE, path=f"{PREFIX}/oidc/")
        return answer

    return api
