"""``admin_ui_router``: ``GET /admin`` (the shell page) and ``GET /admin/assets/<path>`` (its
scripts, styles and icons), read once from the package and served with security headers."""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response

STATIC = Path(__file__).resolve().parent / "static"

# No inline script or style, nothing from another origin, never framed, no form posts anywhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}

admin_ui_router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


@cache
def _asset(relative: str) -> Asset | None:
    """The file under ``static/`` (never outside it), or None."""
    path = (STATIC / relative).resolve()
    if not path.is_relative_to(STATIC) or not path.is_file():
        return None
    body = path.read_bytes()
    media_type = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
    etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    return Asset(body, media_type or "application/octet-stream", etag)


def _serve(request: Request, asset: Asset) -> Response:
    # Revalidated on every load (ETag), so an upgraded gateway never runs yesterday's script.
    headers = {**SECURITY_HEADERS, "ETag": asset.etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


@admin_ui_router.get("/admin")
async def dashboard(request: Request) -> Response:
    asset = _asset("index.html")
    assert asset is not None, "the package is missing admin_ui/static/index.html"
    return _serve(request, asset)


@admin_ui_router.get("/admin/assets/{path:path}")
async def dashboard_asset(path: str, request: Request) -> Response:
    asset = _asset(path) if path and path != "index.html" else None
    if asset is None:
        return Response(
            '{"error": {"type": "not_found", "message": "no such dashboard asset"}}',
            status_code=404,
            media_type="application/json",
            headers=SECURITY_HEADERS,
        )
    return _serve(request, asset)
