"""All page kinds: their layout functions and, for the real-document kinds, their page sizes."""

from __future__ import annotations

import random
from collections.abc import Callable

from anonymizer.data.synth_pages import layouts
from anonymizer.data.synth_pages.cards import CARD_ASPECT, business_card, id_card
from anonymizer.data.synth_pages.claim_forms import claim_form
from anonymizer.data.synth_pages.prose import free_text
from anonymizer.data.synth_pages.statements import pay_stub, statement
from anonymizer.data.synth_pages.tax_forms import tax_form
from anonymizer.data.synth_pages.typeset import Ctx

LAYOUTS: dict[str, Callable[[Ctx], None]] = {
    **layouts.LAYOUTS,
    "tax_form": tax_form,
    "claim_form": claim_form,
    "pay_stub": pay_stub,
    "statement": statement,
    "id_card": id_card,
    "business_card": business_card,
    "free_text": free_text,
}


def page_size(kind: str, rng: random.Random, width: int, height: int, card_width: int) -> tuple[int, int]:
    """``(width, height)`` of a page of a real-document ``kind``: a card page (landscape, the card
    and a thin margin) for most cards, else the configured page."""
    if kind in CARD_ASPECT and rng.random() < 0.7:
        return card_width, round(card_width / CARD_ASPECT[kind])
    return width, height
