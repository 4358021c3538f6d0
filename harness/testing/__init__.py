"""Contract test kits that plug-in authors reuse (like ``optuna.testing``)."""
