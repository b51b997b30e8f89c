"""Offline evaluation behind ``python -m anonymizer.evaluate`` (also usable from notebooks).

* :mod:`~anonymizer.evaluation.vae`: ``load_autoencoder``, ``synthetic_vae_samples`` /
  ``record_vae_samples``, ``reconstruct``, ``evaluate_vae`` (per-crop results with
  original and reconstruction images), ``summarize_vae`` (per text-height bucket).
* :mod:`~anonymizer.evaluation.text_edit`: ``load_text_edit``, ``synthetic_text_edit_samples`` /
  ``record_text_edit_samples``, ``evaluate_text_edit`` (per-sample results with original,
  reconstruction, edit and glyph images), ``summarize_text_edit``.
* :mod:`~anonymizer.evaluation.anonymize`: ``synthetic_pages`` / ``record_pages``,
  ``evaluate_page`` / ``evaluate_pages`` (counts, output page and audit per page),
  ``summarize_anonymize``.
* :mod:`~anonymizer.evaluation.anonymization_scores`: the anonymization scores of a page
  (leaks, detection precision/recall, value coverage, preserved text, surrogate read-back).
* :mod:`~anonymizer.evaluation.report`: the :class:`~anonymizer.evaluation.report.Evaluation`
  each task returns, and writing it (files, console, W&B).
* :mod:`~anonymizer.evaluation.buckets`: text-height buckets.

The metrics themselves are in :mod:`anonymizer.metrics`.
"""
