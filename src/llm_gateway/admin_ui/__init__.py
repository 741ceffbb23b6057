"""The admin dashboard at ``/admin``: static pages built on the admin API and nothing else.

Every asset is served by the gateway itself (no CDN), under a strict Content-Security-Policy
(scripts and styles from this origin only, no inline code). The browser signs in with the admin
token, kept in session storage and sent as a bearer header to ``/api/admin/gateway/...``; the
pages themselves are public files that hold no data.
"""

from llm_gateway.admin_ui.router import admin_ui_router

__all__ = ["admin_ui_router"]
