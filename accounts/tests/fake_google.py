"""Google, faked at its HTTP edge only.

Web flow: allauth POSTs the authorization code to Google's token endpoint with
`requests` and reads the `id_token` from the answer; it skips the signature
check because it fetched the token itself over TLS. So faking that one POST is
the whole of Google.

Mobile flow: the app sends an `id_token` it got from Google Sign-In; allauth
verifies the RS256 signature against Google's published keys, fetched by
`jwtkit.fetch_key`. We sign with our own RSA key and serve its public half.
"""

import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from unittest import mock

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings

TOKEN_URL = "https://oauth2.googleapis.com/token"
ISSUER = "https://accounts.google.com"


def id_token_claims(*, sub: str, email: str, name: str = "", email_verified: bool = True) -> dict:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": settings.GOOGLE_CLIENT_ID,
        "azp": settings.GOOGLE_CLIENT_ID,
        "sub": sub,
        "email": email,
        "email_verified": email_verified,
        "iat": now,
        "exp": now + 3600,
    }
    if name:
        claims["name"] = name
        claims["given_name"] = name.split()[0]
    return claims


@dataclass
class TokenEndpoint:
    """Records what allauth sent to Google's token endpoint."""

    id_token: str
    calls: list[dict] = field(default_factory=list)

    def request(self, session, method, url, **kwargs):
        self.calls.append({"method": method, "url": url, "data": kwargs.get("data")})
        if url != TOKEN_URL:
            raise AssertionError(f"unexpected outbound request {method} {url}")
        response = requests.Response()
        response.status_code = 200
        response.headers["content-type"] = "application/json"
        response._content = json.dumps(
            {
                "access_token": "ya29.fake-access-token",
                "expires_in": 3599,
                "scope": "openid email profile",
                "token_type": "Bearer",
                "id_token": self.id_token,
            }
        ).encode()
        return response


@contextmanager
def google_token_endpoint(claims: dict):
    """Answer allauth's token POST with an (HS256, unverified) id_token for `claims`."""
    endpoint = TokenEndpoint(
        id_token=jwt.encode(claims, "allauth-does-not-check-this-signature", algorithm="HS256")
    )

    def fake_request(session, method, url, **kwargs):
        return endpoint.request(session, method, url, **kwargs)

    with mock.patch.object(requests.Session, "request", fake_request):
        yield endpoint


class GoogleSigningKey:
    """An RSA key standing in for one of Google's published signing keys."""

    kid = "test-key-1"

    def __init__(self):
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def sign(self, claims: dict) -> str:
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": self.kid})

    @contextmanager
    def published(self):
        """Make allauth's key lookup return this key's public half."""
        key = self.private_key.public_key()
        with mock.patch(
            "allauth.socialaccount.internal.jwtkit.fetch_key", return_value=("RS256", key)
        ) as fetch_key:
            yield fetch_key
