"""TMDB credentials: where they come from and how they reach the wire, never a log line.

The key comes from ``MOVIELAKE_TMDB_API_KEY`` (local development) or from the Secrets Manager
secret ``MOVIELAKE_TMDB_SECRET_ID`` names. ``CredentialTransport`` signs each request below
httpx's own request logging, so no log line, URL or exception message the client produces
contains the key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
from botocore.exceptions import EndpointConnectionError

from movielake.config import ConfigError, Settings


@dataclass(frozen=True)
class Credentials:
    """A TMDB v3 API key or a v4 read access token (used first when both are given).

    ``repr`` never shows either.
    """

    api_key: str | None = field(default=None, repr=False)
    bearer_token: str | None = field(default=None, repr=False)


def credentials_from_secret(secret_string: str) -> Credentials:
    """Parse the TMDB secret: JSON ``{"api_key": ...}`` or ``{"bearer_token": ...}``.

    The error messages name what is wrong with the secret, never its value.
    """
    try:
        document = json.loads(secret_string)
    except ValueError:
        raise ConfigError(
            'the TMDB secret is not JSON: store {"api_key": "<v3 key>"} or {"bearer_token": "<v4 token>"}'
        ) from None
    if not isinstance(document, dict):
        raise ConfigError('the TMDB secret must be a JSON object with "api_key" or "bearer_token"')
    api_key, token = document.get("api_key"), document.get("bearer_token")
    if not (isinstance(api_key, str) and api_key) and not (isinstance(token, str) and token):
        raise ConfigError(
            'the TMDB secret has neither a non-empty "api_key" nor "bearer_token" string '
            f"(keys present: {sorted(document)})"
        )
    return Credentials(
        api_key=api_key if isinstance(api_key, str) and api_key else None,
        bearer_token=token if isinstance(token, str) and token else None,
    )


def secret_string(credentials: Credentials) -> str:
    """The secret value ``credentials_from_secret`` reads back: the key or the token, as JSON."""
    if credentials.bearer_token:
        return json.dumps({"bearer_token": credentials.bearer_token})
    return json.dumps({"api_key": credentials.api_key})


def load_credentials(settings: Settings, secrets_client: Any) -> Credentials:
    """The key from ``MOVIELAKE_TMDB_API_KEY`` (local only), else from Secrets Manager."""
    if settings.tmdb_api_key:
        return Credentials(api_key=settings.tmdb_api_key)
    if not settings.tmdb_secret_id:
        raise ConfigError(
            "no TMDB credentials: set MOVIELAKE_TMDB_SECRET_ID to the Secrets Manager secret holding "
            '{"api_key": ...} or {"bearer_token": ...} (or MOVIELAKE_TMDB_API_KEY for local development)'
        )
    try:
        secret = secrets_client.get_secret_value(SecretId=settings.tmdb_secret_id)
    except EndpointConnectionError:
        raise  # nothing answers at the endpoint: the CLI says so in one line
    except Exception as exc:  # botocore's errors; the message names the secret id, not its value
        raise ConfigError(
            f"cannot read the TMDB secret {settings.tmdb_secret_id!r} ({type(exc).__name__}: {exc}); "
            "check that it exists and that this role may call secretsmanager:GetSecretValue on it"
        ) from exc
    if "SecretString" not in secret:
        raise ConfigError(f"the TMDB secret {settings.tmdb_secret_id!r} has no SecretString")
    return credentials_from_secret(secret["SecretString"])


class CredentialTransport(httpx.AsyncBaseTransport):
    """Signs each request on its way to the wire, after httpx has logged its key-free URL."""

    def __init__(self, inner: httpx.AsyncBaseTransport, credentials: Credentials) -> None:
        if not credentials.bearer_token and not credentials.api_key:
            raise ConfigError("TMDB credentials are empty: give an api_key or a bearer_token")
        self._inner = inner
        self._credentials = credentials

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Forward a signed copy: the request httpx logs and attaches to errors stays unsigned."""
        headers = request.headers.copy()
        url = request.url
        if self._credentials.bearer_token:
            headers["Authorization"] = f"Bearer {self._credentials.bearer_token}"
        else:
            url = url.copy_merge_params({"api_key": self._credentials.api_key})
        signed = httpx.Request(request.method, url, headers=headers, extensions=request.extensions)
        return await self._inner.handle_async_request(signed)

    async def aclose(self) -> None:
        """Close the wrapped transport's connections."""
        await self._inner.aclose()
