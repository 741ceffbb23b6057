"""The comparison's similarity: word-bigram Jaccard, hand-checked."""

from __future__ import annotations

import pytest

from llm_gateway.compare.similarity import similarity


def test_identical_texts_are_1_and_case_and_punctuation_do_not_count() -> None:
    assert similarity("The river shaped the city.", "the river, shaped THE city") == 1.0


def test_known_value() -> None:
    # bigrams a: {the river, river shaped, shaped cities}; b: {the river, river fed, fed cities}
    assert similarity("the river shaped cities", "the river fed cities") == pytest.approx(1 / 5)


def test_order_matters_where_a_bag_of_words_would_not() -> None:
    assert similarity("dog bites man", "man bites dog") == 0.0


def test_a_truncated_answer_scores_low_not_perfect() -> None:
    full = "rivers gave early cities water trade routes and fertile land for farming"
    assert similarity(full, "rivers gave early cities") < 0.3


def test_empty_texts() -> None:
    assert similarity("", "") == 1.0
    assert similarity("", "words here") == 0.0
    assert similarity("word", "word") == 1.0
