"""``X-Gateway-Cache``: a request asks for caching (``ttl=60``) or refuses it (``no-store``)."""

from __future__ import annotations

from dataclasses import dataclass

from llm_gateway.errors import InvalidRequest

HEADER = "X-Gateway-Cache"


@dataclass(frozen=True, slots=True)
class CacheDirective:
    ttl_s: float | None = None  # cache this answer (and answer from the cache) for ttl_s
    bypass: bool = False  # neither read nor write the cache, whatever the node says


def parse_cache_header(value: str | None, max_ttl_s: float) -> CacheDirective | None:
    """``ttl=<seconds>`` or ``no-store``; anything else is a 400 naming the header."""
    if value is None:
        return None
    text = value.strip().lower()
    if not text:
        return None
    if text in ("no-store", "off"):
        return CacheDirective(bypass=True)
    name, sep, number = text.partition("=")
    if sep and name.strip() == "ttl":
        try:
            ttl = float(number)
        except ValueError:
            ttl = -1.0
        if 0 < ttl <= max_ttl_s:
            return CacheDirective(ttl_s=ttl)
        raise InvalidRequest(
            f"{HEADER}: ttl must be a number of seconds in (0, {max_ttl_s:g}], got "
            f"{number.strip()[:40]!r}",
            param=HEADER,
        )
    raise InvalidRequest(
        f"{HEADER}: expected 'ttl=<seconds>' or 'no-store', got {value.strip()[:40]!r}",
        param=HEADER,
    )
