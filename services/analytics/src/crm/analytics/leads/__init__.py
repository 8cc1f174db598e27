"""Lead scoring: the model, its evaluation and the scorer that records the scores."""
