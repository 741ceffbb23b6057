"""How alike two answers are: Jaccard similarity of their word bigrams (2-word shingles).

Why this measure for comparing a writer's outputs across models:

- it sees order as well as vocabulary: two texts using the same words in another arrangement
  share few bigrams, where a bag-of-words measure would call them identical;
- it is symmetric and penalises length differences on both sides. rapidfuzz's
  ``token_set_ratio`` scores 100 whenever one text's words are a subset of the other's — a
  truncated answer would look perfect, exactly the failure a migration check must catch;
- it is cheap, deterministic and needs no model (an embedding similarity would be a better
  judge of meaning, but it needs weights this check should not depend on).

It measures lexical agreement, not quality: two good answers in different words score low.
Read it beside the lengths and, for a quality verdict, a human or evaluator pass. The score is
in 0..1; two empty texts are 1.0, one empty text 0.0; a text of one word is compared by words.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+", re.UNICODE)


def _shingles(text: str, size: int) -> set[tuple[str, ...]]:
    words = [w.casefold() for w in _WORD.findall(text)]
    if len(words) < size:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


def similarity(a: str, b: str, *, shingle: int = 2) -> float:
    """Jaccard similarity of the word ``shingle``-grams of ``a`` and ``b`` (case-folded)."""
    left, right = _shingles(a, shingle), _shingles(b, shingle)
    if not left and not right:
        return 1.0
    if not left or not right:
        return 0.0
    return len(left & right) / len(left | right)
