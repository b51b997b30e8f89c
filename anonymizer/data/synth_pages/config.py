"""Configuration of the page generator, validated on construction with clear messages."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any

from anonymizer.core.fonts import DEFAULT_FAMILIES
from anonymizer.data.checks import check_known_fields, check_number, check_pair
from anonymizer.data.synth_pages.scan import ScanConfig
from anonymizer.data.synth_pages.values import SUPPORTED_LOCALES

#: The original page kinds (the default mix of :class:`PageConfig`, which the benchmarks use).
BASE_KINDS = ("form", "invoice", "letter", "receipt")
#: Page kinds shaped like real documents (tax and claim forms, pay stubs, statements, cards, free text).
REAL_KINDS = ("tax_form", "claim_form", "pay_stub", "statement", "id_card", "business_card", "free_text")
CARD_KINDS = ("id_card", "business_card")
KINDS = BASE_KINDS + REAL_KINDS
KIND_SETS = {"base": BASE_KINDS, "real": REAL_KINDS, "all": KINDS}
IMAGE_FORMATS = ("png", "jpg")
MIN_WIDTH, MIN_HEIGHT, MIN_RECEIPT_WIDTH, MIN_CARD_WIDTH, MAX_CARD_WIDTH = 500, 600, 260, 400, 2000
#: Handwriting-like font files (names without extension) from Debian's fonts-dkg-handwriting,
#: fonts-breip, fonts-comic-neue and fonts-humor-sans.
HAND_FONTS = ("dkg", "Breip", "ComicNeue-Regular", "Humor-Sans")


def _default_kinds() -> dict[str, float]:
    return {k: 1.0 for k in BASE_KINDS}


@dataclass
class PageConfig:
    """What pages look like.

    Attributes:
        width, height: page size in pixels (850 x 1100 is US letter at 100 dpi).
        receipt_width: width of receipts; their height is their content's (at most ``height``).
        card_width: width of ID and business card pages (their height follows the card's aspect
            ratio); cards scanned on a full page use ``width`` x ``height``.
        kinds: weight of each page kind (:data:`KINDS`); 0 disables one. Also accepted: a list or
            a comma-separated string of kinds and kind sets (``base``, ``real``, ``all``) with equal
            weights (on the command line, ``page.kinds=real`` replaces the YAML's mapping, which
            ``page.kinds={tax_form: 2}`` would merge into). The default is the original four
            (:data:`BASE_KINDS`); ``anonymizer/conf/synth_pages.yaml`` adds :data:`REAL_KINDS`.
        locales: Faker locales, one drawn per page (en_US, en_GB, de_DE, fr_FR).
        font_dirs: folders searched for fonts (None: the system's).
        font_families: font family name prefixes (find_fonts).
        font_size: body text size range in pixels; headings are larger.
        line_spacing: line pitch as a multiple of the font size.
        margin: page margin range in pixels (receipts use a third of it).
        image_format: ``png`` or ``jpg`` (quality 92) for the written files.
        scan: paper and scan effects (:class:`ScanConfig`).
        hand_fonts: handwriting-like font files (names without extension) searched in the font
            folders; the real-document kinds fill in values by hand with them (none found: typed,
            with one warning).
        hand_prob: probability that a page of the real-document kinds is filled in by hand.
    """

    width: int = 850
    height: int = 1100
    receipt_width: int = 380
    kinds: dict[str, float] = field(default_factory=_default_kinds)
    locales: tuple[str, ...] = SUPPORTED_LOCALES
    font_dirs: tuple[str, ...] | None = None
    font_families: tuple[str, ...] = DEFAULT_FAMILIES
    font_size: tuple[int, int] = (13, 19)
    line_spacing: tuple[float, float] = (1.3, 1.6)
    margin: tuple[int, int] = (50, 100)
    image_format: str = "png"
    scan: ScanConfig = field(default_factory=ScanConfig)
    card_width: int = 640
    hand_fonts: tuple[str, ...] = HAND_FONTS
    hand_prob: float = 0.35

    def __post_init__(self) -> None:
        for name in ("width", "height", "receipt_width", "card_width"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise ValueError(f"{name} must be an integer number of pixels, got {value!r}")
        if self.width < MIN_WIDTH or self.height < MIN_HEIGHT:
            raise ValueError(
                f"page size {self.width}x{self.height} is too small: width must be >= {MIN_WIDTH} "
                f"and height >= {MIN_HEIGHT} pixels"
            )
        if not MIN_RECEIPT_WIDTH <= self.receipt_width <= self.width:
            raise ValueError(f"receipt_width must be in [{MIN_RECEIPT_WIDTH}, width={self.width}], "
                             f"got {self.receipt_width}")
        if not MIN_CARD_WIDTH <= self.card_width <= MAX_CARD_WIDTH:  # card pages have their own size
            raise ValueError(f"card_width must be in [{MIN_CARD_WIDTH}, {MAX_CARD_WIDTH}], got {self.card_width}")
        self.kinds = _kinds(self.kinds)
        self.locales = tuple(self.locales)
        bad = [loc for loc in self.locales if loc not in SUPPORTED_LOCALES]
        if not self.locales or bad:
            raise ValueError(
                f"locales must be a non-empty subset of {list(SUPPORTED_LOCALES)}, got {list(self.locales)}"
            )
        self.font_dirs = tuple(self.font_dirs) if self.font_dirs is not None else None
        self.font_families = tuple(self.font_families)
        self.font_size = check_pair("font_size", self.font_size, 10, 40, integer=True)
        self.margin = check_pair("margin", self.margin, 10, min(self.width, self.height) // 5, integer=True)
        self.line_spacing = check_pair("line_spacing", self.line_spacing, 1.25, 3.0)
        if not isinstance(self.hand_fonts, (list, tuple)) or not all(isinstance(f, str) and f for f in self.hand_fonts):
            raise ValueError(f"hand_fonts must be a list of font file names without extension, got {self.hand_fonts!r}")
        self.hand_fonts = tuple(self.hand_fonts)
        self.hand_prob = check_number("hand_prob", self.hand_prob, 0.0, 1.0)
        if self.image_format not in IMAGE_FORMATS:
            raise ValueError(f"image_format must be one of {list(IMAGE_FORMATS)}, got {self.image_format!r}")
        if isinstance(self.scan, dict):
            self.scan = ScanConfig.from_mapping(self.scan)
        if not isinstance(self.scan, ScanConfig):
            raise ValueError(f"scan must be a ScanConfig or a mapping, got {type(self.scan).__name__}")

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> PageConfig:
        """Build from plain data (e.g. a resolved Hydra config); unknown keys are an error."""
        check_known_fields(cls, data, "page")
        return cls(**data)


def _kinds(kinds: Any) -> dict[str, float]:
    """Weights per kind from a mapping, or equal weights from a list or a comma-separated string of
    kinds and kind sets (``base``, ``real``, ``all``)."""
    given = kinds
    if isinstance(kinds, str):
        kinds = [k.strip() for k in kinds.split(",") if k.strip()]
    if isinstance(kinds, (list, tuple)):
        names = [k for name in kinds for k in KIND_SETS.get(name, (name,))]
        kinds = {k: 1.0 for k in names} if names else {}
    if not isinstance(kinds, dict) or not kinds:
        raise ValueError(f"kinds must be a mapping of page kind to weight, e.g. {{form: 1.0}}, or kinds and kind "
                         f"sets {sorted(KIND_SETS)} separated by commas, e.g. 'tax_form,id_card' or 'real'; "
                         f"got {given!r}")
    unknown = sorted(str(k) for k in kinds if k not in KINDS)
    if unknown:
        raise ValueError(f"unknown page kind(s) {unknown}; known kinds: {list(KINDS)}")
    out = {}
    for k, w in kinds.items():
        if isinstance(w, bool) or not isinstance(w, numbers.Real) or not w >= 0:
            raise ValueError(f"the weight of kind {k!r} must be a number >= 0, got {w!r}")
        out[str(k)] = float(w)
    if not sum(out.values()) > 0:
        raise ValueError("at least one page kind needs a weight > 0")
    return out
