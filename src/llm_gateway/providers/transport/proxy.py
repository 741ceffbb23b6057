"""Whether an HTTP(S) proxy applies to a URL, read from the environment the way aiohttp's
``trust_env`` reads it: ``http_proxy``/``https_proxy`` by the URL's scheme (either case),
``no_proxy`` exempting hosts, domains and ``*``."""

from __future__ import annotations

import urllib.request
from urllib.parse import urlsplit


def proxy_applies(url: str) -> bool:
    """True when requests to ``url`` would go through a proxy configured in the environment."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    if not proxies.get(parts.scheme):
        return False
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    # Undocumented but stable since Python 3.2; what urllib's own openers use for no_proxy.
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    return not bypass(host, proxies)
