"""The comparison's similarity (the project's one measure), hand-checked on the properties the
comparison relies on."""

from __future__ import annotations

import pytest

from llm_gateway.compare.similarity import similarity


def test_identical_texts_are_1_and_case_and_punctuation_do_not_count() -> None:
    assert similarity("The river shaped the city.", "the river, shaped THE city") == 1.0


def test_known_value() -> None:
    # words {the, river, shaped, cities} vs {the, river, fed, cities}: 3/5;
    # bigrams {the river, river shaped, shaped cities} vs {the river, river fed, fed cities}: 1/5
    assert similarity("the river shaped cities", "the river fed cities") == pytest.approx(0.4)


def test_order_counts_against_a_scrambled_answer() -> None:
    assert similarity("dog bites man", "man bites dog") == pytest.approx(0.5)


def test_a_truncated_answer_scores_low_not_perfect() -> None:
    full = "rivers gave early cities water trade routes and fertile land for farming"
    assert similarity(full, "rivers gave early cities") < 0.4


def test_empty_texts() -> None:
    assert similarity("", "") == 1.0
    assert similarity("", "words here") == 0.0
