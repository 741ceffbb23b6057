"""The rollout flags: which share of legacy traffic takes v2, per node, shadowed, and whether
the gateway may fall back to OpenRouter — their start-up defaults and the live values.

The environment gives the defaults (read once, :func:`flags_from_settings`); an admin's
``PUT /api/admin/gateway/flags`` (or the rollback guard) overlays some fields. The overlay is one
control-state entry (kind ``flag``, key ``rollout``): durable in the record store and applied on
every replica by the control plane, so the next request anywhere sees it. :class:`LiveFlags`
holds both and answers :meth:`LiveFlags.current` in O(1); :func:`current_flags` is the process's.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from llm_gateway.errors import ValidationFailed
from llm_gateway.rollout.switch import v2_switch_on
from llm_gateway.settings import Settings, get_settings

FLAG_KIND = "flag"
ROLLOUT_KEY = "rollout"
GUARD_KEY = "guard"
Share = Annotated[int, Field(ge=0, le=100)]

WRITABLE = (
    "v2_enabled",
    "v2_percentage",
    "node_percentages",
    "shadow_percentage",
    "openrouter_fallback_enabled",
    "pinned",
)


class RolloutFlags(BaseModel):
    """One consistent set of flags (immutable; a change makes a new one)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    v2_enabled: bool = False
    v2_percentage: int = Field(default=0, ge=0, le=100)
    node_percentages: dict[str, Share] = Field(default_factory=dict)
    shadow_percentage: int = Field(default=0, ge=0, le=100)
    openrouter_fallback_enabled: bool = True
    pinned: bool = False
    """A person fixed the percentage: the rollback guard does not move it."""

    def percentage_for(self, node: str | None) -> int:
        """The share of ``node``'s legacy requests that take v2 (0 with the switch off)."""
        if not self.v2_enabled:
            return 0
        if node is not None and node in self.node_percentages:
            return self.node_percentages[node]
        return self.v2_percentage


class FlagsUpdate(BaseModel):
    """A ``PUT /flags`` body: any subset of the writable fields, and why."""

    model_config = ConfigDict(extra="forbid", strict=True)

    v2_enabled: bool | None = None
    v2_percentage: int | None = Field(default=None, ge=0, le=100)
    node_percentages: dict[str, Share] | None = None
    shadow_percentage: int | None = Field(default=None, ge=0, le=100)
    openrouter_fallback_enabled: bool | None = None
    pinned: bool | None = None
    reason: str | None = Field(default=None, max_length=500)

    def fields(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude={"reason"})


def parse_node_percentages(text: str | None, where: str) -> dict[str, int]:
    """``writer=10,formatter=50`` → ``{"writer": 10, "formatter": 50}``; ValidationFailed
    naming ``where`` and the entry otherwise."""
    out: dict[str, int] = {}
    for raw in (text or "").split(","):
        entry = raw.strip()
        if not entry:
            continue
        node, sep, value = entry.partition("=")
        if not sep or not node.strip() or not value.strip().isdigit():
            raise ValidationFailed(f"{where}: '{entry}' is not node=percentage", param=where)
        pct = int(value)
        if pct > 100:
            raise ValidationFailed(
                f"{where}: {node.strip()}: must be 0-100 (got {pct})", param=where
            )
        out[node.strip()] = pct
    return out


def flags_from_settings(settings: Settings) -> RolloutFlags:
    """The start-up defaults. As in the guide's ``Settings``, ``GATEWAY_V2_PERCENTAGE`` is 0
    unless set: the master switch alone (the guide's Phase 1 ``ENABLE_GATEWAY_V2=true``) moves
    no traffic; Phase 5 raises the share on purpose."""
    return RolloutFlags(
        v2_enabled=v2_switch_on(settings),
        v2_percentage=settings.GATEWAY_V2_PERCENTAGE,
        node_percentages=parse_node_percentages(
            settings.GATEWAY_V2_NODE_PERCENTAGES, "GATEWAY_V2_NODE_PERCENTAGES"
        ),
        shadow_percentage=settings.GATEWAY_V2_SHADOW_PERCENTAGE,
        openrouter_fallback_enabled=settings.OPENROUTER_FALLBACK_ENABLED,
    )


class LiveFlags:
    """The defaults with the admin overlay applied; a follower of the control plane."""

    def __init__(self, defaults: RolloutFlags) -> None:
        self.defaults = defaults
        self.overlay: dict[str, Any] = {}
        self.guard_step: dict[str, Any] | None = None
        self._current = defaults

    def current(self) -> RolloutFlags:
        return self._current

    def merged(self, fields: Mapping[str, Any]) -> RolloutFlags:
        """The flags with ``fields`` (writable names) over the current ones; ValidationFailed
        naming the field when the result is not valid."""
        values = {**self._current.model_dump(), **fields}
        try:
            return RolloutFlags.model_validate(values)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(p) for p in error["loc"]) or "flags"
            raise ValidationFailed(f"{field}: {error['msg']}", param=field) from None

    def overlay_value(self, fields: Mapping[str, Any], actor: str) -> dict[str, Any]:
        """The control-state value for an overlay that adds ``fields`` to today's."""
        admin = {k: v for k, v in self.overlay.items() if k in WRITABLE}
        return {**admin, **fields, "updated_by": actor, "updated_at": time.time()}

    def source(self) -> dict[str, str]:
        return {name: ("admin" if name in self.overlay else "env") for name in WRITABLE}

    # -- the control plane's follower protocol ------------------------------------------------

    def apply_control(self, state: Any) -> None:
        entries = state.kind(FLAG_KIND)
        self._install(entries.get(ROLLOUT_KEY))
        self.guard_step = entries.get(GUARD_KEY)

    def apply_change(self, kind: str, key: str, value: Any) -> None:
        if kind != FLAG_KIND:
            return
        if key == ROLLOUT_KEY:
            self._install(value)
        elif key == GUARD_KEY:
            self.guard_step = value

    def _install(self, value: Mapping[str, Any] | None) -> None:
        overlay = dict(value or {})
        fields = {k: v for k, v in overlay.items() if k in WRITABLE}
        try:
            flags = RolloutFlags.model_validate({**self.defaults.model_dump(), **fields})
        except ValidationError:
            return  # written by this code, so valid; a hand-edited row keeps the last good flags
        self.overlay = overlay
        self._current = flags


_live: LiveFlags | None = None


def live_flags() -> LiveFlags:
    """The process's live flags (from ``get_settings()`` until a serving app installs its own)."""
    global _live
    if _live is None:
        _live = LiveFlags(flags_from_settings(get_settings()))
    return _live


def set_live_flags(flags: LiveFlags | None) -> None:
    """Install the serving app's flags; ``None`` resets (the next read rebuilds from settings)."""
    global _live
    _live = flags


def current_flags() -> RolloutFlags:
    """The flags in force on this replica now (what the next request uses)."""
    return live_flags().current()
