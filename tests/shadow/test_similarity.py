"""The similarity measure shared by shadow traffic and ``llm-gateway compare``."""

from __future__ import annotations

import pytest

from llm_gateway.similarity import similarity, words


def test_identical_texts_score_one_and_disjoint_zero() -> None:
    text = "The quick brown fox jumps over the lazy dog."
    assert similarity(text, text) == 1.0
    assert similarity(text, "Completely unrelated answer here") == 0.0


def test_case_punctuation_and_wrapping_do_not_count() -> None:
    assert similarity("Hello, World!\nHow are you?", "hello world how are   you") == 1.0
    assert words("It's 2.5-pro") == ["it", "s", "2", "5", "pro"]


def test_order_counts_through_phrasing() -> None:
    original = "the cat sat on the mat"
    reordered = "mat the on sat cat the"
    paraphrase = "the cat sat on the rug"
    assert similarity(original, reordered) < similarity(original, paraphrase) < 1.0
    assert similarity(original, reordered) > 0.0  # same vocabulary still counts for half


@pytest.mark.parametrize(
    ("a", "b"),
    [("alpha beta gamma", "beta gamma delta"), ("one", "one two"), ("x y", "y x z w")],
)
def test_symmetric_and_bounded(a: str, b: str) -> None:
    assert similarity(a, b) == similarity(b, a)
    assert 0.0 <= similarity(a, b) <= 1.0


def test_empty_and_single_word_texts() -> None:
    assert similarity("", "") == 1.0
    assert similarity("...", "") == 1.0
    assert similarity("", "answer") == 0.0
    assert similarity("yes", "yes") == 1.0
    assert similarity("yes", "no") == 0.0
    assert similarity("alpha beta gamma", "alpha beta delta") == pytest.approx(
        (2 / 4 + 1 / 3) / 2, abs=1e-6
    )
