"""The live rollout flags of a remote gateway, followed by a legacy client in another process.

A legacy shim that reaches the gateway over ``GATEWAY_URL`` chooses v1 or v2 before calling it,
so it needs the gateway's live flags, not its own process's start-up defaults. One
:class:`RemoteFlags` per gateway URL and key reads ``GET /v1/rollout`` on a daemon thread every
``GATEWAY_ROLLOUT_POLL_S`` (1 s): an admin's ``PUT /flags`` or emergency rollback reaches every
such client within that, without a restart. Reads never wait on the network after the first
(which waits up to :data:`FIRST_READ_WAIT_S`). While the gateway does not answer, the last flags
read stay in force (before any was read: this process's settings), said once per outage.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import httpx

from llm_gateway.rollout.flags import RolloutFlags, flags_from_settings
from llm_gateway.settings import get_settings

logger = logging.getLogger("llm_gateway.rollout")

ROLLOUT_PATH = "/v1/rollout"
PUBLIC_FIELDS = ("v2_enabled", "v2_percentage", "node_percentages", "shadow_percentage")
FIRST_READ_WAIT_S = 2.0


class RemoteFlags:
    """The flags of the gateway at ``base_url``, refreshed in the background."""

    def __init__(self, base_url: str, api_key: str | None, poll_s: float) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self._poll_s = poll_s
        self._flags: RolloutFlags | None = None
        self._first = threading.Event()
        self._stop = threading.Event()
        self._failing: str | None = None
        self._thread = threading.Thread(
            target=self._follow, name="llm-gateway-remote-flags", daemon=True
        )
        self._thread.start()

    def current(self) -> RolloutFlags:
        """The flags in force: the gateway's as last read, else this process's defaults."""
        if self._flags is None:
            self._first.wait(FIRST_READ_WAIT_S)
        return self._flags if self._flags is not None else flags_from_settings(get_settings())

    def close(self) -> None:
        self._stop.set()

    def _follow(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=httpx.Timeout(5.0, connect=2.0)) as http:
            while not self._stop.is_set():
                self._read(http)
                self._first.set()
                self._stop.wait(self._poll_s)

    def _read(self, http: httpx.Client) -> None:
        try:
            answer = http.get(ROLLOUT_PATH, headers=self._headers)
            if answer.status_code != 200:
                raise ValueError(f"HTTP {answer.status_code} from {ROLLOUT_PATH}")
            flags = RolloutFlags.model_validate(_flag_fields(answer.json()))
        except (httpx.HTTPError, ValueError) as exc:
            reason = str(exc) or type(exc).__name__
            if self._failing is None:
                logger.warning(
                    "rollout flags of %s unreadable (%s): keeping the %s",
                    self.base_url,
                    reason,
                    "last flags read" if self._flags is not None else "start-up defaults",
                )
            self._failing = reason
            return
        if self._failing is not None:
            logger.warning("rollout flags of %s readable again", self.base_url)
            self._failing = None
        self._flags = flags


def _flag_fields(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValueError("the rollout answer is not an object")
    return {k: body[k] for k in PUBLIC_FIELDS if k in body}


_FOLLOWED: dict[tuple[str, str | None], RemoteFlags] = {}
_LOCK = threading.Lock()


def remote_flags(base_url: str, api_key: str | None) -> RemoteFlags:
    """The one follower of ``base_url``'s flags in this process (started on first use)."""
    ident = (base_url.rstrip("/"), api_key)
    with _LOCK:
        follower = _FOLLOWED.get(ident)
        if follower is None:
            follower = _FOLLOWED[ident] = RemoteFlags(
                base_url, api_key, get_settings().GATEWAY_ROLLOUT_POLL_S
            )
        return follower


def forget_remote_flags() -> None:
    """Stop every follower (tests; a process that changes GATEWAY_URL)."""
    with _LOCK:
        for follower in _FOLLOWED.values():
            follower.close()
        _FOLLOWED.clear()
