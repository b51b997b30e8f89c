"""Training-run machinery of ``python -m anonymizer.train``: config checks, callback and
logger instantiation, W&B modes, resuming, DDP and sweep helpers, and the Lightning
callbacks (``training.callbacks``)."""
