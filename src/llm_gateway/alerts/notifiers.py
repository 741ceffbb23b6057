"""The notifying actions: PagerDuty, Slack, e-mail and a signed webhook.

Each one turns a :class:`Notification` into one delivery and raises :class:`DeliveryFailed`
(``retryable`` or not) when it did not go through; retries and counting live in
:mod:`.delivery`. Targets are base URLs from the settings, so a test points them at a local
receiver. A failure's message never carries the URL or a key (they are credentials).

- ``page_oncall``: PagerDuty Events API v2 — ``POST {GATEWAY_PAGERDUTY_URL}`` with
  ``routing_key``, ``event_action`` (``trigger`` / ``resolve``), ``dedup_key`` and, on a trigger,
  ``payload`` {``summary``, ``source``, ``severity``, ``timestamp``, ``custom_details``}.
- ``slack_alert``: a Slack incoming-webhook message (``text`` and ``blocks``).
- ``email_admin``: one message over SMTP (STARTTLS when set; login when a user is set), sent
  with :mod:`smtplib` in a worker thread.
- ``webhook``: the notification as JSON, ``X-Gateway-Signature: sha256=<hex>`` the HMAC-SHA256
  of the exact body with ``GATEWAY_ALERTS_WEBHOOK_SECRET``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any, Protocol

import httpx
import orjson

from llm_gateway.alerts.notification import Notification, Step
from llm_gateway.settings import Settings


class DeliveryFailed(Exception):
    """One delivery did not go through; the message is safe to log (no URL, no key)."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class Notifier(Protocol):
    name: str

    def configured(self) -> str | None:
        """None when it can deliver; else what is missing (named by its setting)."""
        ...

    async def send(self, note: Notification) -> None: ...


async def post_json(
    client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]
) -> None:
    """POST ``body``; DeliveryFailed (retryable on 429, 5xx and transport errors)."""
    try:
        response = await client.post(
            url, content=body, headers={"content-type": "application/json", **headers}
        )
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{type(exc).__name__}") from None
    if response.status_code >= 300:
        retryable = response.status_code == 429 or response.status_code >= 500
        raise DeliveryFailed(f"HTTP {response.status_code}", retryable=retryable)


class PagerDuty:
    name = "page_oncall"

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self._key = settings.PAGERDUTY_ROUTING_KEY
        self._url = settings.GATEWAY_PAGERDUTY_URL
        self._client = client

    def configured(self) -> str | None:
        return None if self._key is not None else "PAGERDUTY_ROUTING_KEY is not set"

    def event(self, note: Notification) -> dict[str, Any]:
        """The Events API v2 event for ``note`` (a repeat re-triggers the same dedup key)."""
        assert self._key is not None
        event: dict[str, Any] = {
            "routing_key": self._key.get_secret_value(),
            "event_action": "resolve" if note.step is Step.RESOLVE else "trigger",
            "dedup_key": note.dedup_key,
        }
        if note.step is not Step.RESOLVE:
            event["payload"] = {
                "summary": note.title[:1024],
                "source": note.source,
                "severity": "info" if note.step is Step.TEST else note.severity,
                "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
                "component": note.scope,
                "group": "llm-gateway",
                "class": note.rule,
                "custom_details": note.as_dict(),
            }
        return event

    async def send(self, note: Notification) -> None:
        await post_json(self._client, self._url, orjson.dumps(self.event(note)), {})


class Slack:
    name = "slack_alert"

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self._url = settings.SLACK_WEBHOOK_URL
        self._client = client

    def configured(self) -> str | None:
        return None if self._url is not None else "SLACK_WEBHOOK_URL is not set"

    @staticmethod
    def message(note: Notification) -> dict[str, Any]:
        icon = {
            Step.TRIGGER: ":rotating_light:",
            Step.REPEAT: ":rotating_light:",
            Step.RESOLVE: ":white_check_mark:",
            Step.TEST: ":test_tube:",
        }[note.step]
        facts = f"*rule* `{note.rule}` · *scope* `{note.scope}` · *condition* `{note.condition}`"
        return {
            "text": f"{icon} {note.title}",
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": f"{icon} *{note.title}*"}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": facts}]},
            ],
        }

    async def send(self, note: Notification) -> None:
        assert self._url is not None
        body = orjson.dumps(self.message(note))
        await post_json(self._client, self._url.get_secret_value(), body, {})


class Webhook:
    name = "webhook"

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self._url = settings.GATEWAY_ALERTS_WEBHOOK_URL
        self._secret = settings.GATEWAY_ALERTS_WEBHOOK_SECRET
        self._client = client

    def configured(self) -> str | None:
        if self._url is None:
            return "GATEWAY_ALERTS_WEBHOOK_URL is not set"
        if self._secret is None:
            return "GATEWAY_ALERTS_WEBHOOK_SECRET is not set (the body is signed with it)"
        return None

    async def send(self, note: Notification) -> None:
        assert self._url is not None and self._secret is not None
        body = orjson.dumps(note.as_dict())
        headers = {
            "X-Gateway-Signature": sign(self._secret.get_secret_value(), body),
            "X-Gateway-Event": note.step.value,
        }
        await post_json(self._client, self._url.get_secret_value(), body, headers)


def sign(secret: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``body`` with ``secret`` (what a receiver recomputes)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Email:
    name = "email_admin"

    def __init__(self, settings: Settings) -> None:
        self._host = settings.GATEWAY_SMTP_HOST
        self._port = settings.GATEWAY_SMTP_PORT
        self._starttls = settings.GATEWAY_SMTP_STARTTLS
        self._user = settings.GATEWAY_SMTP_USERNAME
        self._password = settings.GATEWAY_SMTP_PASSWORD
        self._sender = settings.GATEWAY_ALERTS_EMAIL_FROM
        self._to = [a.strip() for a in settings.GATEWAY_ALERTS_EMAIL_TO.split(",") if a.strip()]

    def configured(self) -> str | None:
        if not self._host:
            return "GATEWAY_SMTP_HOST is not set"
        if not self._to:
            return "GATEWAY_ALERTS_EMAIL_TO is not set"
        return None

    def message(self, note: Notification) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = ", ".join(self._to)
        message["Subject"] = note.title[:200]
        lines = [f"{key}: {value}" for key, value in note.as_dict().items() if value is not None]
        message.set_content("\n".join(lines) + "\n")
        return message

    async def send(self, note: Notification) -> None:
        await asyncio.to_thread(self._send_blocking, self.message(note))

    def _send_blocking(self, message: EmailMessage) -> None:
        assert self._host is not None
        try:
            with smtplib.SMTP(self._host, self._port, timeout=10) as smtp:
                if self._starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self._user:
                    password = self._password.get_secret_value() if self._password else ""
                    smtp.login(self._user, password)
                smtp.send_message(message)
        except smtplib.SMTPResponseException as exc:
            transient = 400 <= exc.smtp_code < 500
            raise DeliveryFailed(f"SMTP {exc.smtp_code}", retryable=transient) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(type(exc).__name__) from None
