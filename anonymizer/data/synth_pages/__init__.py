"""Synthetic document pages with labelled PII: forms, invoices, letters and receipts, and
kinds shaped like real documents (tax and claim forms, pay stubs, bank statements, ID and
business cards, free-text letters).

``python -m anonymizer.data.synth_pages n=20 out=DIR`` writes ``DIR/images/<id>.png`` and
``DIR/records.jsonl`` (:mod:`anonymizer.core.records` format). Each word is one
whitespace-separated token with the box of its ink; each sensitive value is one entity
labelled with its PII type; field labels are ``KEY`` entities linked to their values.
From Python: :func:`generate_page` and :func:`write_pages`.
"""

from anonymizer.data.synth_pages.config import BASE_KINDS, KINDS, REAL_KINDS, PageConfig
from anonymizer.data.synth_pages.generate import Summary, generate_page, generate_record, page_id, write_pages
from anonymizer.data.synth_pages.scan import ScanConfig

__all__ = ["BASE_KINDS", "KINDS", "REAL_KINDS", "PageConfig", "ScanConfig", "Summary", "generate_page",
           "generate_record", "page_id", "write_pages"]
