"""Synthetic document pages (forms, invoices, letters, receipts) with labelled PII.

``python -m anonymizer.data.synth_pages n=20 out=DIR`` writes ``DIR/images/<id>.png`` and
``DIR/records.jsonl`` (:mod:`anonymizer.data.records` format). Each word is one
whitespace-separated token with the box of its ink; each sensitive value is one entity
labelled with its PII type; field labels are ``KEY`` entities linked to their values.
From Python: :func:`generate_page` and :func:`write_pages`.
"""

from anonymizer.data.synth_pages.config import KINDS, PageConfig
from anonymizer.data.synth_pages.generate import Summary, generate_page, page_id, write_pages
from anonymizer.data.synth_pages.scan import ScanConfig

__all__ = ["KINDS", "PageConfig", "ScanConfig", "Summary", "generate_page", "page_id", "write_pages"]
