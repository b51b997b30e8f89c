"""Configuration of the page generator, validated on construction with clear messages."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any

from anonymizer.data.checks import check_known_fields, check_pair
from anonymizer.data.fonts import DEFAULT_FAMILIES
from anonymizer.data.synth_pages.scan import ScanConfig
from anonymizer.data.synth_pages.values import SUPPORTED_LOCALES

KINDS = ("form", "invoice", "letter", "receipt")
IMAGE_FORMATS = ("png", "jpg")
MIN_WIDTH, MIN_HEIGHT, MIN_RECEIPT_WIDTH = 500, 600, 260


def _default_kinds() -> dict[str, float]:
    return {k: 1.0 for k in KINDS}


@dataclass
class PageConfig:
    """What pages look like.

    Attributes:
        width, height: page size in pixels (850 x 1100 is US letter at 100 dpi).
        receipt_width: width of receipts; their height is their content's (at most ``height``).
        kinds: weight of each page kind (``form``, ``invoice``, ``letter``, ``receipt``); 0 disables one.
        locales: Faker locales, one drawn per page (en_US, en_GB, de_DE, fr_FR).
        font_dirs: folders searched for fonts (None: the system's).
        font_families: font family name prefixes (find_fonts).
        font_size: body text size range in pixels; headings are larger.
        line_spacing: line pitch as a multiple of the font size.
        margin: page margin range in pixels (receipts use a third of it).
        image_format: ``png`` or ``jpg`` (quality 92) for the written files.
        scan: paper and scan effects (:class:`ScanConfig`).
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

    def __post_init__(self) -> None:
        for name in ("width", "height", "receipt_width"):
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
    if not isinstance(kinds, dict) or not kinds:
        raise ValueError(f"kinds must be a mapping of page kind to weight, e.g. {{form: 1.0}}, got {kinds!r}")
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
