"""A small OpenID Connect provider the tests start on loopback: discovery, an authorization
endpoint with a sign-in form, a token endpoint for the authorization code grant that
checks the client, the redirect URI, the code's single use and PKCE (S256 only, required),
and RS256 ID tokens whose keys are published as a JWKS. It is the provider's side written
from the specifications (OpenID Connect Core 1.0, RFC 6749, RFC 7636) for testing the
console's relying party; it is not a product, and is never run outside the tests.

``tamper`` lets a test make the next ID token wrong in one way (another audience, another
nonce, expired, signed by a key the JWKS does not have) to see the console refuse it."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.support.tansu import free_port


@dataclass
class Provider:
    url: str
    client_id: str
    client_secret: str | None
    redirect_uri: str
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    kid: str = "key-1"
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    tamper: dict[str, Any] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)

    def jwks(self) -> dict[str, Any]:
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def id_token(self, grant: dict[str, Any]) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "sub": f"sub-{grant['username']}",
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
            "auth_time": now,
            "nonce": grant["nonce"],
            "preferred_username": grant["username"],
            "name": grant["username"].title(),
        }
        tamper, self.tamper = self.tamper, {}
        key: Any = self.key
        if tamper.pop("foreign_key", False):
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        claims.update(tamper)
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": self.kid})

    # -- endpoints ------------------------------------------------------------------------

    async def discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "jwks_uri": f"{self.url}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": (
                    ["client_secret_basic"] if self.client_secret else ["none"]
                ),
            }
        )

    async def keys(self, request: Request) -> Response:
        return JSONResponse(self.jwks())

    async def authorize_form(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != self.client_id or q.get("redirect_uri") != self.redirect_uri:
            return HTMLResponse("unknown client or redirect_uri", status_code=400)
        if q.get("response_type") != "code" or "openid" not in q.get("scope", "").split():
            return self._error(q.get("state", ""), "invalid_request")
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return self._error(q.get("state", ""), "invalid_request")  # PKCE is required
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in q.items()
        )
        return HTMLResponse(
            f'<form method="post" action="/authorize">{hidden}'
            '<label for="username">Username</label><input id="username" name="username">'
            '<button type="submit">Sign in at the provider</button></form>'
        )

    async def authorize(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        if form.get("redirect_uri") != self.redirect_uri:
            return HTMLResponse("unknown redirect_uri", status_code=400)
        code = secrets.token_urlsafe(24)
        self.codes[code] = {
            "client_id": form["client_id"],
            "redirect_uri": form["redirect_uri"],
            "nonce": form.get("nonce", ""),
            "challenge": form["code_challenge"],
            "username": form["username"],
            "used": False,
        }
        query = urlencode({"code": code, "state": form.get("state", ""), "iss": self.url})
        return RedirectResponse(f"{self.redirect_uri}?{query}", status_code=302)

    def _error(self, state: str, error: str) -> Response:
        query = urlencode({"error": error, "state": state})
        return RedirectResponse(f"{self.redirect_uri}?{query}", status_code=302)

    async def token(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        self.token_requests.append(form)
        client = self._client(request, form)
        if client is None:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self.codes.get(form.get("code", ""))
        if form.get("grant_type") != "authorization_code" or grant is None or grant["used"]:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        grant["used"] = True  # once, whatever happens next
        if grant["client_id"] != client or grant["redirect_uri"] != form.get("redirect_uri"):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        verifier = form.get("code_verifier", "")
        digest = hashlib.sha256(verifier.encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant["challenge"]:
            return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"}, 400)
        return JSONResponse(
            {
                "access_token": secrets.token_urlsafe(24),
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": self.id_token(grant),
            }
        )

    def _client(self, request: Request, form: dict[str, str]) -> str | None:
        """The authenticated client: HTTP Basic for a confidential one, the form's client_id
        for a public one."""
        if self.client_secret is None:
            return form.get("client_id") if form.get("client_id") == self.client_id else None
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        ok = user == self.client_id and secrets.compare_digest(password, self.client_secret)
        return user if ok else None

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/jwks", self.keys),
                Route("/authorize", self.authorize_form, methods=["GET"]),
                Route("/authorize", self.authorize, methods=["POST"]),
                Route("/token", self.token, methods=["POST"]),
            ]
        )


@contextmanager
def running_provider(
    redirect_uri: str, *, client_id: str = "crm-console", client_secret: str | None = "s3cret"
) -> Iterator[Provider]:
    """The provider served by uvicorn on a free loopback port, in a thread of its own."""
    port = free_port()
    provider = Provider(f"http://127.0.0.1:{port}", client_id, client_secret, redirect_uri)
    config = uvicorn.Config(provider.app(), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the OpenID provider did not start"
        time.sleep(0.02)
    try:
        yield provider
    finally:
        server.should_exit = True
        thread.join(timeout=10)
