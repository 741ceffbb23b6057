"""Admin: what the record store holds — metrics over any window and the ledger itself.

GET /metrics?hours=&node=&model=            the guide's trace metrics, from the ledger
GET /ledger?from=&to=&node=&model=&cursor=&limit=&format=json|csv
                                            ledger rows, oldest first, paged by cursor
GET /spend?hours=&bucket_s=&by=node|model&node=&model=&series=
                                            spend over time per node or model, exact
"""

from __future__ import annotations

import base64
import csv
import io
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from llm_gateway.costs.spend_series import TooManyBuckets, spend_series, spend_window
from llm_gateway.errors import InvalidRequest, ValidationFailed, echo
from llm_gateway.routes.deps import gateway_of
from llm_gateway.routes.route_classes import GatewayRoute
from llm_gateway.storage import queries
from llm_gateway.storage.runtime import GatewayRecords, RecordStoreUnavailable
from llm_gateway.storage.spend_queries import spend_cells

router = APIRouter(route_class=GatewayRoute)

MAX_HOURS = 24 * 400


def _records(request: Request) -> GatewayRecords:
    records = gateway_of(request).records
    if records is None:
        raise RecordStoreUnavailable(
            "no record store: DATABASE_URL is empty, so no ledger is kept", code="no_record_store"
        )
    return records


@router.get("/metrics", summary="Trace metrics over a window, from the ledger")
async def get_metrics(
    request: Request,
    hours: float = Query(1.0, gt=0, le=MAX_HOURS),
    node: str | None = Query(None, max_length=128),
    model: str | None = Query(None, max_length=128),
) -> dict[str, Any]:
    gateway = gateway_of(request)
    if gateway.records is not None:
        await gateway.records.writer.flush()
    return await gateway.tracer.get_trace_metrics(hours=hours, node=node, model=model)


def parse_time(value: str | None, name: str, default: datetime) -> datetime:
    """An ISO 8601 time (``2026-12-01``, ``2026-12-01T10:00:00Z``); naive means UTC."""
    if value is None or value == "":
        return default
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(
            f"'{echo(value)}' is not an ISO 8601 time (e.g. 2026-12-01 or 2026-12-01T10:00:00Z)",
            param=name,
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _cursor(row: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(f"{row['at']}|{row['id']}".encode()).decode()


def _after(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    try:
        at, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(at), row_id
    except ValueError:
        raise InvalidRequest("not a cursor this endpoint gave", param="cursor") from None


@router.get(
    "/ledger",
    summary="Ledger rows (one per request), paged; JSON or CSV",
    responses={
        200: {
            "description": "A page of rows: JSON, or with format=csv a CSV document (the next "
            "page's cursor in X-Next-Cursor)",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
async def get_ledger(
    request: Request,
    start: str | None = Query(None, alias="from", description="ISO time; default 24 h ago"),
    end: str | None = Query(None, alias="to", description="ISO time, exclusive; default now"),
    node: str | None = Query(None, max_length=128),
    model: str | None = Query(None, max_length=128),
    cursor: str | None = Query(None, max_length=512, description="next_cursor of a page"),
    limit: int = Query(1000, ge=1, le=10_000),
    output: str = Query("json", alias="format", pattern="^(json|csv)$"),
) -> Any:
    records = _records(request)
    now = datetime.now(UTC)
    begin = parse_time(start, "from", now - timedelta(hours=24))
    finish = parse_time(end, "to", now + timedelta(seconds=1))
    if finish <= begin:
        raise InvalidRequest("'to' must be after 'from'", param="to")
    await records.writer.flush()
    rows = await queries.ledger_page(
        records.store,
        start=begin,
        end=finish,
        node=node,
        model=model,
        after=_after(cursor),
        limit=limit,
    )
    next_cursor = _cursor(rows[-1]) if len(rows) == limit else None
    if output == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=queries.LEDGER_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
        headers = {"x-next-cursor": next_cursor} if next_cursor else {}
        return Response(buffer.getvalue(), media_type="text/csv", headers=headers)
    total = sum((Decimal(r["cost_usd"]) for r in rows), Decimal(0))
    return {
        "from": begin.isoformat(),
        "to": finish.isoformat(),
        "count": len(rows),
        "total_cost_usd": f"{total:f}",
        "next_cursor": next_cursor,
        "rows": rows,
    }


@router.get("/spend", summary="Spend over time per node or model, from the ledger (exact)")
async def get_spend(
    request: Request,
    hours: float = Query(24.0, gt=0, le=MAX_HOURS, description="Window: the last hours"),
    bucket_s: int | None = Query(
        None, ge=60, le=31 * 86400, description="Bucket size in seconds; default: ≤ 100 buckets"
    ),
    by: str = Query("node", pattern="^(node|model)$", description="One series per node or model"),
    node: str | None = Query(None, max_length=128, description="Only this node's requests"),
    model: str | None = Query(None, max_length=128, description="Only this model's requests"),
    series: int = Query(10, ge=1, le=50, description="Series kept; the rest are one 'other'"),
) -> dict[str, Any]:
    """Requests and exact cost per bucket (aligned on the epoch, UTC) and per node or model,
    summed by the record store; at most 500 buckets (422 naming ``bucket_s`` past that)."""
    records = _records(request)
    try:
        window = spend_window(time.time(), hours, bucket_s)
    except TooManyBuckets as exc:
        raise ValidationFailed(str(exc), param="bucket_s", code="too_many_buckets") from None
    await records.writer.flush()
    cells = await spend_cells(
        records.store,
        start=datetime.fromtimestamp(window.start, UTC),
        end=datetime.fromtimestamp(window.end, UTC) + timedelta(seconds=1),
        bucket_s=window.bucket_s,
        by="model" if by == "model" else "node",
        node=node,
        model=model,
    )
    out = spend_series(cells, window, series)
    return {"hours": hours, "by": by, "node": node, "model": model, **out}
