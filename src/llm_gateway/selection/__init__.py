"""Pure pieces of model selection: hard constraints, scoring, and the signals that feed them."""
