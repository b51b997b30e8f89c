"""Models: builders, loss modules, LightningModules and export."""
