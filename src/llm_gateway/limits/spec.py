"""The shape of ``limits.yaml`` (optional, beside ``model_policies.yaml``) and the frozen
limits the gateway enforces from it.

.. code-block:: yaml

    limits:
      nodes:            # by node (its entry in node_requirements.yaml, a pattern entry, or
        writer:         # ``default``); ``"*"`` applies to every node without an entry
          rpm: 600
          tpm: 400000
      keys:             # by client key name (GATEWAY_API_KEYS ``name:key``); ``"*"``: each
        "*": {rpm: 60}  # key without an entry of its own, separately

Per provider model, ``rpm`` and ``tpm`` are fields of the policy in ``model_policies.yaml``.
Every limit is a count per minute; a request counts one against ``rpm`` and its estimated
tokens (input + ``max_tokens``, else the default output cap) against ``tpm``, settled to the
tokens it used once it is answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt

LIMITS_FILE = "limits.yaml"
EVERY = "*"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RateLimitSpec(_Strict):
    """``rpm`` and/or ``tpm``: requests and tokens per minute (positive integers)."""

    rpm: StrictInt | None = Field(default=None, gt=0)
    tpm: StrictInt | None = Field(default=None, gt=0)


class LimitsSection(_Strict):
    nodes: dict[str, RateLimitSpec] = {}
    keys: dict[str, RateLimitSpec] = {}


class LimitsFile(_Strict):
    """The whole of ``limits.yaml``."""

    limits: LimitsSection


@dataclass(frozen=True, slots=True)
class RateLimit:
    """Requests and tokens per minute; ``None``: not limited."""

    rpm: int | None = None
    tpm: int | None = None

    @property
    def any(self) -> bool:
        return self.rpm is not None or self.tpm is not None


@dataclass(frozen=True, slots=True)
class LimitsConfig:
    """The node and client-key limits of ``limits.yaml`` (empty when there is no file)."""

    nodes: Mapping[str, RateLimit] = field(default_factory=lambda: MappingProxyType({}))
    keys: Mapping[str, RateLimit] = field(default_factory=lambda: MappingProxyType({}))

    def for_node(self, label: str) -> RateLimit | None:
        return self.nodes.get(label) or self.nodes.get(EVERY)

    def for_key(self, key_id: str | None) -> RateLimit | None:
        if key_id is None:
            return None
        return self.keys.get(key_id) or self.keys.get(EVERY)


NO_LIMITS = LimitsConfig()


def parse_limits(data: Any) -> LimitsConfig:
    """The frozen limits of the file's data; raises pydantic's ValidationError (the loader
    turns it into issues naming the file and key path)."""
    spec = LimitsFile.model_validate(data)
    return LimitsConfig(
        nodes=MappingProxyType({k: _limit(v) for k, v in spec.limits.nodes.items()}),
        keys=MappingProxyType({k: _limit(v) for k, v in spec.limits.keys.items()}),
    )


def _limit(spec: RateLimitSpec) -> RateLimit:
    return RateLimit(rpm=spec.rpm, tpm=spec.tpm)
