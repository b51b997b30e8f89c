"""The audit record of one anonymized document (``anonymizer.audit/1``).

The command line writes it next to each output as ``<file name>.audit.json``; the HTTP API
returns it with the anonymized file. It holds positions, entity types, scores, surrogates,
value ids and the verification outcome per page, never an original value.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

AUDIT_VERSION = "anonymizer.audit/1"
#: The audit next to an output file: ``scan.pdf`` → ``scan.pdf.audit.json``.
AUDIT_SUFFIX = ".audit.json"


def audit_path(path: Path) -> Path:
    """The audit JSON next to an output file: ``scan.pdf`` → ``scan.pdf.audit.json``."""
    return path.with_name(path.name + AUDIT_SUFFIX)


def is_failed_audit(data: bytes | str) -> bool:
    """Whether ``data`` (a file's content) is an audit of this tool recording a failed document."""
    try:
        audit = json.loads(data)
    except ValueError:
        return False
    return isinstance(audit, dict) and audit.get("schema") == AUDIT_VERSION and audit.get("status") == "failed"


def summarize_pages(pages_audit: list[dict[str, Any]]) -> tuple[Counter, int]:
    """``(entity counts per type, leaks found)`` over the pages' audit entries."""
    entities: Counter = Counter()
    leaks = 0
    for page in pages_audit:
        entities.update(e["type"] for e in page["entities"])
        leaks += len(page["verification"].get("leaks", []))
    return entities, leaks


def verification_passed(status: str, pages_audit: list[dict[str, Any]], leaks: int) -> bool | None:
    """True when the document was done and re-OCR found no original value on any page;
    None when verification was off; False otherwise (a failed document never passed)."""
    if status != "ok":
        return False
    if not pages_audit or not all(p["verification"].get("checked") for p in pages_audit):
        return None
    return leaks == 0


def document_audit(
    *,
    input_name: str,
    output_name: str | None,
    status: str,
    reason: str | None,
    renderer: str,
    ocr: dict[str, Any],
    consistent: bool,
    pages_audit: list[dict[str, Any]],
    seconds: float,
) -> dict[str, Any]:
    """The audit record of one document (:data:`AUDIT_VERSION`); never an original value."""
    entities, leaks = summarize_pages(pages_audit)
    return {
        "schema": AUDIT_VERSION,
        "input": input_name,
        "output": output_name if status == "ok" else None,
        "status": status,
        "reason": reason,
        "renderer": renderer,
        "ocr": ocr,
        "consistent_across_documents": consistent,
        "pages": pages_audit if status == "ok" else [],
        "summary": {
            "pages": len(pages_audit),
            "entities": dict(entities),
            "leaks_found": leaks,
            "verification_passed": verification_passed(status, pages_audit, leaks),
        },
        "seconds": round(seconds, 3),
    }
