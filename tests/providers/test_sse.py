"""The SSE decoder: framing rules of the spec, fed the way a network delivers bytes."""

from __future__ import annotations

import pytest

from llm_gateway.providers.sse import EventTooLarge, SSEDecoder


def feed_all(decoder: SSEDecoder, *parts: bytes) -> list[bytes]:
    events: list[bytes] = []
    for part in parts:
        events.extend(decoder.feed(part))
    return events


def test_one_event_per_blank_line() -> None:
    decoder = SSEDecoder()
    assert feed_all(decoder, b'data: {"a":1}\n\ndata: {"a":2}\n\n') == [b'{"a":1}', b'{"a":2}']


def test_multi_line_data_is_joined_with_newlines() -> None:
    decoder = SSEDecoder()
    assert feed_all(decoder, b"data: first\ndata: second\ndata:third\n\n") == [
        b"first\nsecond\nthird"
    ]


@pytest.mark.parametrize("eol", [b"\r\n", b"\n", b"\r"])
def test_every_line_ending_of_the_spec(eol: bytes) -> None:
    body = b"data: x" + eol + b"data: y" + eol + eol + b": ping" + eol + eol
    decoder = SSEDecoder()
    assert feed_all(decoder, body) == [b"x\ny"]
    assert decoder.finish() is None  # a trailing CR waits for a possible LF until the end
    assert decoder.comments == 1


def test_crlf_split_between_reads_is_one_line_ending() -> None:
    decoder = SSEDecoder()
    events = feed_all(decoder, b"data: a\r", b"\n\r", b"\ndata: b\r\n\r\n")
    assert events == [b"a", b"b"]


def test_byte_by_byte_delivery_gives_the_same_events() -> None:
    body = b': OPENROUTER PROCESSING\r\n\r\ndata: {"x": "1"}\r\n\r\ndata: [DONE]\r\n\r\n'
    decoder = SSEDecoder()
    events = feed_all(decoder, *(body[i : i + 1] for i in range(len(body))))
    assert events == [b'{"x": "1"}', b"[DONE]"]
    assert decoder.comments == 1


def test_comments_and_other_fields_are_not_data() -> None:
    decoder = SSEDecoder()
    body = b": OPENROUTER PROCESSING\n\nevent: message\nid: 7\nretry: 10\ndata: z\n\n"
    assert feed_all(decoder, body) == [b"z"]
    assert decoder.comments == 1


def test_comment_only_events_produce_nothing() -> None:
    decoder = SSEDecoder()
    assert feed_all(decoder, b": a\n\n: b\n\n") == []
    assert decoder.comments == 2


def test_finish_returns_an_unterminated_event() -> None:
    decoder = SSEDecoder()
    assert feed_all(decoder, b'data: {"a":1}\n\ndata: {"b"') == [b'{"a":1}']
    assert decoder.finish() == b'{"b"'
    assert decoder.finish() is None


def test_finish_after_a_clean_end_returns_none() -> None:
    decoder = SSEDecoder()
    feed_all(decoder, b"data: a\n\n")
    assert decoder.finish() is None


def test_an_oversized_event_is_refused() -> None:
    decoder = SSEDecoder(max_event_bytes=64)
    with pytest.raises(EventTooLarge):
        feed_all(decoder, b"data: " + b"x" * 40 + b"\n", b"data: " + b"y" * 40 + b"\n")


def test_an_oversized_unterminated_line_is_refused() -> None:
    decoder = SSEDecoder(max_event_bytes=64)
    with pytest.raises(EventTooLarge):
        feed_all(decoder, b"data: " + b"x" * 100)
