"""The lowest layer: notions every other package shares, importing nothing else of ``anonymizer``.

* :mod:`~anonymizer.core.geometry`: the :data:`~anonymizer.core.geometry.Box` type, box
  checks, clipping and dilation, and image <-> tensor conversion ([-1, 1] <-> uint8).
* :mod:`~anonymizer.core.text`: the text normalisers, each named by what it does.
* :mod:`~anonymizer.core.months`: the one table of month names (detection, surrogates and
  the synthetic data).
* :mod:`~anonymizer.core.entry`: what the Hydra commands share: the config folder, exit
  codes, :class:`~anonymizer.core.entry.UsageError` and :func:`~anonymizer.core.entry.hydra_command`.
"""
