"""Whose fault is a failed attempt: the model's, or the request's?

A circuit breaker protects everyone from a model that is down, so it must only ever hear about
failures that say something about the model. One request says little: it may be malformed in a
way no validation foresaw, and then it fails on every model it is tried on. So, per request:

- each model's failures count **once** against it, however many retries it had;
- a failure that repeats identically (same kind, same upstream status, same message once model
  names and numbers are taken out) on a second model points at the request: the chain stops
  there, the error is surfaced, and none of those identical failures count against any model —
  unless different requests (three distinct bodies within a minute, :class:`SharedFailures`)
  fail the same way: that is the provider, not the request, and the failures count as usual;
- failures are told to the breakers when the request's chain ends (:meth:`settle`), so the
  verdict covers everything the request saw.

The identical-failure rule judges only answers that can come from the request: a 500 (the
upstream broke on it) or a 4xx. A 502, 503 or 504 is the upstream saying it is unavailable, a
429 is account-wide pressure the retry policy handles, and a context-length refusal is what
falling back to a larger model is for: those count as usual.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from llm_gateway.errors import ContextLengthExceeded, ProviderError, ProviderRateLimited

if TYPE_CHECKING:
    from llm_gateway.model_policy import ModelPolicy

_NUMBERS = re.compile(r"\d+")
_ASIDES = re.compile(r"\([^)]*\)")  # "(upstream provider Google)": differs per model
Signature = tuple[str, int, str]


def failure_signature(error: ProviderError, policy: ModelPolicy) -> Signature | None:
    """What identifies a failure across models; None for failures the rule does not judge
    (no upstream answer, rate limits, context length)."""
    status = error.upstream_status
    if status is None or not (status == 500 or 400 <= status < 500):
        return None
    if isinstance(error, ProviderRateLimited | ContextLengthExceeded):
        return None
    text = error.message.lower()
    for name in (policy.provider_model_id, policy.logical_id):
        text = text.replace(name.lower(), "<model>")
    return type(error).__name__, status, _NUMBERS.sub("#", _ASIDES.sub("", text))


@dataclass(slots=True)
class RequestFailures:
    """The failures of one request's chain, per model, until :meth:`settle`."""

    first: dict[str, tuple[ModelPolicy, ProviderError, float]] = field(default_factory=dict)
    signatures: dict[Signature, set[str]] = field(default_factory=dict)

    def add(self, policy: ModelPolicy, error: ProviderError, latency_ms: float) -> Signature | None:
        """Note a failure; its signature when it repeats, identically, one seen on another
        model (else None)."""
        model = policy.logical_id
        self.first.setdefault(model, (policy, error, latency_ms))
        signature = failure_signature(error, policy)
        if signature is None:
            return None
        models = self.signatures.setdefault(signature, set())
        models.add(model)
        return signature if len(models) > 1 else None

    def acquit(self, signature: Signature) -> None:
        """The signature is the provider's (other requests fail the same way): count it."""
        self.signatures.pop(signature, None)

    def blamed_on_request(self, model: str) -> bool:
        return any(model in models and len(models) > 1 for models in self.signatures.values())

    def counted(self) -> list[tuple[ModelPolicy, ProviderError, float]]:
        """One failure per model, except those that repeated identically on another model."""
        return [entry for model, entry in self.first.items() if not self.blamed_on_request(model)]

    def excused(self) -> list[str]:
        """Models whose failures were put down to the request."""
        return [model for model in self.first if self.blamed_on_request(model)]


class SharedFailures:
    """Identical failures seen across different requests: the evidence that tells a provider
    outage (many different requests fail the same way) from one bad request (the same body,
    or one caller, failing everywhere).

    ``confirmed(signature, body)`` notes that a request with body digest ``body`` failed with
    ``signature`` and says whether at least ``distinct_bodies`` different bodies did so within
    ``window_s``. Bounded: at most ``max_signatures`` signatures, each with at most
    ``distinct_bodies`` digests.
    """

    def __init__(
        self, *, distinct_bodies: int = 3, window_s: float = 60.0, max_signatures: int = 256
    ) -> None:
        self.distinct_bodies = distinct_bodies
        self.window_s = window_s
        self.max_signatures = max_signatures
        self._seen: dict[Signature, dict[int, float]] = {}

    def confirmed(self, signature: Signature, body: int, now: float) -> bool:
        bodies = self._seen.pop(signature, None) or {}
        bodies = {b: t for b, t in bodies.items() if now - t < self.window_s}
        bodies[body] = now
        if len(bodies) > self.distinct_bodies:
            del bodies[min(bodies, key=bodies.__getitem__)]
        self._seen[signature] = bodies  # re-inserted: the newest signature is last
        while len(self._seen) > self.max_signatures:
            del self._seen[next(iter(self._seen))]
        return len(bodies) >= self.distinct_bodies
