"""The HTTP(S) proxy that applies to a URL, read from the environment the way aiohttp's
``trust_env`` reads it: ``http_proxy``/``https_proxy`` by the URL's scheme (either case),
``no_proxy`` exempting hosts, domains and ``*``. Read once per provider, when it is created."""

from __future__ import annotations

import urllib.request
from urllib.parse import urlsplit


def proxy_for(url: str) -> str | None:
    """The proxy URL requests to ``url`` go through (credentials included), or None."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parts.scheme)
    if not proxy:
        return None
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    # Undocumented but stable since Python 3.2; what urllib's own openers use for no_proxy.
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    return None if bypass(host, proxies) else proxy
