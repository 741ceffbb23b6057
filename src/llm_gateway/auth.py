"""Who may call what: the admin bearer token and the optional client API keys.

- :class:`AdminAuth` guards every ``/api/admin/gateway`` endpoint. The token is
  ``GATEWAY_ADMIN_TOKEN``; when none is configured one is generated per process (``llm-gateway
  serve`` generates it before starting workers and prints it). Comparison is constant-time.
  No ``Authorization`` header (or not a bearer one) is 401; a wrong token is 403.
- :class:`ClientKeys` guards the chat and ``/v1`` endpoints when keys are configured
  (``GATEWAY_API_KEYS``, comma-separated, and/or ``GATEWAY_API_KEYS_FILE``, one per line). An entry
  is ``key`` or ``name:key``; the name (or a digest prefix) identifies the caller in traces and
  the ledger, the key itself is never stored in clear nor returned. Without configured keys every
  caller is accepted. Keys are looked up by SHA-256 digest, so the time a lookup takes says
  nothing about the key's characters.

Both raise :class:`~llm_gateway.errors.AuthenticationFailed` / ``PermissionDenied``; the HTTP
layer renders them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from llm_gateway.errors import AuthenticationFailed, ConfigError, ConfigIssue, PermissionDenied
from llm_gateway.redaction import register_secret, register_secrets
from llm_gateway.settings import Settings

_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = token.strip()
    return token or None


@dataclass(frozen=True, slots=True)
class AdminAuth:
    """The admin token. ``generated`` is True when the process made it up."""

    token: str
    generated: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> AdminAuth:
        if settings.GATEWAY_ADMIN_TOKEN is not None:
            auth = cls(settings.GATEWAY_ADMIN_TOKEN.get_secret_value())
        else:
            auth = cls(generate_admin_token(), generated=True)
        register_secret(auth.token)
        return auth

    def check(self, authorization: str | None) -> None:
        """Return when ``authorization`` carries the token; raise 401 / 403 otherwise."""
        presented = bearer_token(authorization)
        if presented is None:
            raise AuthenticationFailed(
                "admin endpoints need 'Authorization: Bearer <GATEWAY_ADMIN_TOKEN>'",
                code="missing_admin_token",
            )
        if not hmac.compare_digest(presented.encode(), self.token.encode()):
            raise PermissionDenied("the admin token is not valid", code="invalid_admin_token")


def generate_admin_token() -> str:
    return "gw-admin-" + secrets.token_urlsafe(24)


class ClientKeys:
    """The accepted client keys, by SHA-256 digest → caller name."""

    __slots__ = ("_by_digest",)

    def __init__(self, keys: Mapping[str, str] | None = None) -> None:
        """``keys`` maps key → caller name (each key is masked in every log and error)."""
        register_secrets(keys or {})
        self._by_digest = {_digest(key): name for key, name in (keys or {}).items()}

    @property
    def enabled(self) -> bool:
        return bool(self._by_digest)

    def __len__(self) -> int:
        return len(self._by_digest)

    @classmethod
    def from_settings(cls, settings: Settings) -> ClientKeys:
        """Keys from GATEWAY_API_KEYS and GATEWAY_API_KEYS_FILE; ConfigError if one is bad."""
        entries: list[tuple[str, str]] = []
        if settings.GATEWAY_API_KEYS is not None:
            raw = settings.GATEWAY_API_KEYS.get_secret_value().split(",")
            entries += [("GATEWAY_API_KEYS", item) for item in raw]
        if settings.GATEWAY_API_KEYS_FILE is not None:
            entries += _read_keys_file(settings.GATEWAY_API_KEYS_FILE)
        return cls(_parse_entries(entries))

    def identify(self, authorization: str | None) -> str | None:
        """The caller's name for a valid key; None when no keys are configured; else 401."""
        if not self._by_digest:
            return None
        presented = bearer_token(authorization)
        if presented is None:
            raise AuthenticationFailed(
                "an API key is required: 'Authorization: Bearer <key>'", code="missing_api_key"
            )
        name = self._by_digest.get(_digest(presented))
        if name is None:
            raise AuthenticationFailed("the API key is not valid", code="invalid_api_key")
        return name


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _read_keys_file(path: Path) -> list[tuple[str, str]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        issue = ConfigIssue(str(path), "", f"cannot read the API keys file ({exc.strerror})")
        raise ConfigError([issue]) from None
    return [
        (f"{path.name}:{number}", line)
        for number, line in enumerate(lines, start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]


def _parse_entries(entries: Iterable[tuple[str, str]]) -> dict[str, str]:
    """``key`` or ``name:key`` entries → key → name. Issues name the source, never the key."""
    keys: dict[str, str] = {}
    issues: list[ConfigIssue] = []
    for source, raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        name, sep, key = entry.partition(":")
        if not sep or not _NAME.match(name):
            name, key = "key-" + _digest(entry)[:8], entry
        key = key.strip()
        if len(key) < 8:
            issues.append(ConfigIssue(source, "", "an API key must have at least 8 characters"))
            continue
        keys[key] = name
    if issues:
        raise ConfigError(issues)
    return keys
