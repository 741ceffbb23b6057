"""The comparison's similarity score: :func:`llm_gateway.similarity.similarity`, the measure
the shadow comparisons use too, so ``llm-gateway compare`` and the shadow evidence in the cost
report can be read side by side.

It is the mean of the Jaccard index of the two answers' word sets (shared vocabulary) and of
their word bigrams (shared phrasing), 0..1. Why it fits a check of a writer's outputs across
models: two models rarely word an answer the same way, so character or edit-distance measures
call equivalent answers different; the bigram half keeps the right words in a scrambled order
from scoring high; both halves are symmetric, so a truncated answer loses score (unlike
rapidfuzz's ``token_set_ratio``, which gives a perfect 100 to an answer whose words are a
subset of the other's); and it is deterministic and needs no model. It measures wording, not
quality: read it beside the lengths, and judge quality with a person or an evaluator pass.
"""

from llm_gateway.similarity import similarity

__all__ = ["similarity"]
