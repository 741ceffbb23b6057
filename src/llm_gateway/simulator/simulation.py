"""The simulator's one core: scenario + fault injector + attempt log, turning a request body
into a :class:`~llm_gateway.simulator.timeline.Timeline`. The HTTP server and the in-process
provider both call :meth:`Simulation.attempt`; neither decides anything itself."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from llm_gateway.simulator.attempts import AttemptLog, AttemptRecord
from llm_gateway.simulator.engine import ChatRequest, RequestInvalid, natural_error, parse_request
from llm_gateway.simulator.faults import FaultInjector
from llm_gateway.simulator.scenario import (
    ModelProfile,
    ModelSpec,
    Scenario,
    ScenarioSource,
    load_scenario,
)
from llm_gateway.simulator.timeline import Timeline, build_timeline, reply_timeline
from llm_gateway.simulator.wire import Reply, error_body


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """What the attempt log keeps of the caller: never a header's secret value."""

    authorization: bool = False
    http_referer: str | None = None
    x_title: str | None = None
    path: str = ""


class Simulation:
    """Not thread-safe: use it from one event loop (the server's, or the provider's).

    ``catalog`` maps provider model ids to what the gateway's policies imply (see
    :func:`~llm_gateway.simulator.scenario.catalog_specs`): models the scenario does not price
    get the policy's prices and context window, so simulated costs match the catalogue.
    """

    def __init__(
        self,
        scenario: ScenarioSource = None,
        *,
        catalog: Mapping[str, ModelSpec] | None = None,
        clock: Callable[[], float] = time.monotonic,
        log_size: int = 100_000,
    ) -> None:
        self._clock = clock
        self.log = AttemptLog(log_size)
        self.catalog: Mapping[str, ModelSpec] = dict(catalog or {})
        self._scenario = load_scenario(scenario)
        self._injector = FaultInjector(self._scenario, clock)
        self._profiles: dict[tuple[str, int], tuple[ModelSpec | None, ModelProfile]] = {}

    @property
    def scenario(self) -> Scenario:
        return self._scenario

    def set_scenario(self, scenario: ScenarioSource) -> Scenario:
        """Replace the scenario; fault counters and outages start afresh (the log is kept)."""
        self._scenario = load_scenario(scenario)
        self._injector = FaultInjector(self._scenario, self._clock)
        self._profiles.clear()
        return self._scenario

    def models(self) -> list[str]:
        """The models to list: the scenario's, then the catalogue's."""
        declared = self._scenario.declared_models()
        return declared + [model for model in self.catalog if model not in declared]

    def profile(self, model: str, policy_spec: ModelSpec | None = None) -> ModelProfile:
        """The model's resolved behaviour (cached per model and policy spec)."""
        spec = policy_spec if policy_spec is not None else self.catalog.get(model)
        key = (model, id(spec))
        cached = self._profiles.get(key)
        if cached is None or cached[0] is not spec:
            cached = self._profiles[key] = (spec, self._scenario.profile(model, spec))
        return cached[1]

    def attempt(
        self,
        body: Any,
        client: ClientInfo = ClientInfo(),
        policy_spec: ModelSpec | None = None,
    ) -> Timeline:
        """Decide everything about one attempt, log it, and return what to send when."""
        received = self._clock()
        scenario = self._scenario
        try:
            request = parse_request(body)
        except RequestInvalid as exc:
            timeline = reply_timeline(Reply(400, error_body(400, exc.message)), "invalid_request")
            self._log_invalid(received, body, client, timeline)
            return timeline
        attempt = self._injector.next_attempt(request.model)
        if scenario.strict_models and not scenario.knows(request.model):
            message = f"{request.model} is not a valid model ID"
            timeline = reply_timeline(Reply(400, error_body(400, message)), "unknown_model")
        elif scenario.require_auth and not client.authorization:
            reply = Reply(401, error_body(401, "No auth credentials found"))
            timeline = reply_timeline(reply, "unauthenticated")
        else:
            profile = self.profile(request.model, policy_spec)
            fault = self._injector.pick(profile, request, attempt)
            natural = natural_error(request, profile)
            timeline = build_timeline(request, profile, scenario, fault, natural)
        self.log.add(_record(received, request, client, timeline, attempt))
        return timeline

    def _log_invalid(
        self, received: float, body: Any, client: ClientInfo, timeline: Timeline
    ) -> None:
        fields = body if isinstance(body, Mapping) else {}
        model = fields.get("model")
        messages = fields.get("messages")
        self.log.add(
            AttemptRecord(
                t=received,
                model=model if isinstance(model, str) else None,
                stream=fields.get("stream") is True,
                message_count=len(messages) if isinstance(messages, list) else 0,
                prefill=False,
                messages_hash=None,
                authorization=client.authorization,
                http_referer=client.http_referer,
                x_title=client.x_title,
                provider=fields.get("provider"),
                models=fields.get("models"),
                fault=timeline.fault,
                status=timeline.status,
                attempt=0,
                path=client.path,
            )
        )


def _record(
    received: float, request: ChatRequest, client: ClientInfo, timeline: Timeline, attempt: int
) -> AttemptRecord:
    return AttemptRecord(
        t=received,
        model=request.model,
        stream=request.stream,
        message_count=len(request.messages),
        prefill=request.prefill is not None,
        messages_hash=request.messages_key.hex(),
        authorization=client.authorization,
        http_referer=client.http_referer,
        x_title=client.x_title,
        provider=request.body.get("provider"),
        models=request.body.get("models"),
        fault=timeline.fault,
        status=timeline.status,
        attempt=attempt,
        path=client.path,
    )
