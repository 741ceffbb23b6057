"""How alike two model outputs are: :func:`similarity`, a score in [0, 1].

The measure is the mean of two Jaccard indices over the texts' words (lower-cased, punctuation
dropped): of their word *sets* (shared vocabulary) and of their word *bigrams* (shared
phrasing). Why this one, for comparing what v1 and v2 answered to the same prompt:

- two LLMs (or one, twice) rarely give the same wording, so exact or character-level measures
  (edit distance) say "different" for answers a reader finds equivalent, and cost O(n·m) on long
  answers; word shingles cost O(n) and ignore line wrapping, case and punctuation;
- the set part credits the same content in another order; the bigram part keeps a bag of the
  right words in a scrambled or unrelated order from scoring high;
- it needs no model and no dependency (an embedding similarity would be better at paraphrase,
  but needs a model at hand for every shadow comparison), is symmetric, 1.0 for texts with the
  same words in the same order, 0.0 for texts that share no word.

It measures overlap of wording, not correctness: read a low mean as "v2 answers differently,
look at the recent pairs", not as "v2 is worse". The same function scores ``llm-gateway
compare`` and the shadow comparisons, so their numbers can be read side by side.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Hashable, Set

_WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    """The lower-cased words of ``text`` (runs of letters, digits and underscores)."""
    return _WORD.findall(text.lower())


def jaccard(a: Set[Hashable], b: Set[Hashable]) -> float:
    """The size of the intersection over the size of the union; 1.0 when both are empty."""
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def similarity(a: str, b: str) -> float:
    """How alike ``a`` and ``b`` are, from 0.0 (no word in common) to 1.0 (the same words in the
    same order); two texts without words (empty, or punctuation only) are alike (1.0)."""
    wa, wb = words(a), words(b)
    if not wa or not wb:
        return 1.0 if not wa and not wb else 0.0
    vocabulary = jaccard(set(wa), set(wb))
    pairs_a, pairs_b = set(itertools.pairwise(wa)), set(itertools.pairwise(wb))
    if not pairs_a and not pairs_b:  # one word each: no phrasing to compare
        return round(vocabulary, 6)
    return round((vocabulary + jaccard(pairs_a, pairs_b)) / 2, 6)
