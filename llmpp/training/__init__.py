"""Training and evaluating translation models with Lightning."""
