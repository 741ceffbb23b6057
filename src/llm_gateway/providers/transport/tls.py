"""The TLS context for https providers (OpenRouter and others): system defaults, certifi's CA
bundle when it is installed, ALPN offering HTTP/1.1 only (this client speaks nothing else)."""

from __future__ import annotations

import functools
import ssl


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """One shared client context: certificate and host name verification on (SNI is the host)."""
    try:
        import certifi
    except ImportError:  # the system's trust store then
        cafile = None
    else:
        cafile = certifi.where()
    context = ssl.create_default_context(cafile=cafile)
    context.set_alpn_protocols(["http/1.1"])
    return context
