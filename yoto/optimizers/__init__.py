"""Loss-weight distributions and the multi-loss optimizers."""
