"""Discovery of the system fonts used to render synthetic documents.

Only plain Latin text faces are kept (Regular, Bold, Italic/Oblique, BoldItalic) of the
families DejaVu, Liberation and Noto by default: width/weight variants (Condensed,
Light, ...) and Noto's hundreds of script-specific families are skipped.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import ImageFont

log = logging.getLogger(__name__)

DEFAULT_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts")
DEFAULT_FAMILIES = ("DejaVu", "Liberation", "Noto")

_EXTENSIONS = (".ttf", ".otf")
# Style suffixes (after the "-" in the file name) of the four faces that are kept.
_STYLES = {
    "": (False, False),
    "Regular": (False, False),
    "Book": (False, False),
    "Roman": (False, False),
    "Bold": (True, False),
    "Italic": (False, True),
    "Oblique": (False, True),
    "BoldItalic": (True, True),
    "BoldOblique": (True, True),
}
# Family-name fragments of width/weight variants and non-text fonts that are skipped.
_EXCLUDED = ("Condensed", "Extra", "Semi", "Light", "Thin", "Black", "Medium", "Math", "Emoji", "Color")
# Noto ships one family per script; only these are the Latin text faces.
_NOTO_TEXT_FAMILIES = ("NotoSans", "NotoSerif", "NotoSansMono")

INSTALL_HINT = "apt-get install fonts-dejavu-core fonts-liberation fonts-noto-core"


class FontNotFoundError(RuntimeError):
    """No usable font file was found."""


@dataclass(frozen=True)
class FontFile:
    """One font file: its path, family (from the file name) and face."""

    path: str
    family: str
    bold: bool
    italic: bool


def parse_font_name(path: str) -> FontFile | None:
    """Return the :class:`FontFile` for a file named ``Family[-Style].ttf``, or None if skipped."""
    stem = os.path.splitext(os.path.basename(path))[0]
    family, _, style = stem.partition("-")
    if style not in _STYLES or not family or any(tok in family for tok in _EXCLUDED):
        return None
    if family.startswith("Noto") and family not in _NOTO_TEXT_FAMILIES:
        return None
    bold, italic = _STYLES[style]
    return FontFile(path=path, family=family, bold=bold, italic=italic)


def _loads(path: str) -> bool:
    # FreeTypeFont rather than ImageFont.truetype: on failure truetype silently falls back
    # to a system font with the same file name, which would hide a broken file.
    try:
        ImageFont.FreeTypeFont(path, 12, layout_engine=ImageFont.Layout.BASIC)
    except OSError as err:
        log.warning("Skipping unreadable font file %s: %s", path, err)
        return False
    return True


def find_fonts(font_dirs: Sequence[str] | None = None, families: Sequence[str] | None = None) -> list[FontFile]:
    """Find the Regular/Bold/Italic/BoldItalic faces of ``families`` under ``font_dirs``.

    Directories are scanned recursively for ``.ttf``/``.otf`` files whose name starts with
    one of the family prefixes. When the same file name occurs twice (e.g. in
    ``liberation`` and ``liberation2``) the first one, in directory order then sorted
    path order, is kept. The result is sorted by (family, bold, italic, path).

    Raises:
        FontNotFoundError: when no readable font is found.
    """
    dirs = tuple(font_dirs) if font_dirs is not None else DEFAULT_FONT_DIRS
    prefixes = tuple(families) if families is not None else DEFAULT_FAMILIES
    seen: set[str] = set()
    found: list[FontFile] = []
    for d in dirs:
        root = os.path.expanduser(d)
        paths = []
        for dirpath, _, files in os.walk(root, followlinks=True):
            paths += [os.path.join(dirpath, f) for f in files if f.lower().endswith(_EXTENSIONS)]
        for path in sorted(paths):
            name = os.path.basename(path)
            if name in seen or not name.startswith(prefixes):
                continue
            font = parse_font_name(path)
            if font is not None and _loads(path):
                seen.add(name)
                found.append(font)
    if not found:
        raise FontNotFoundError(
            f"No usable fonts of the families {list(prefixes)} found in {list(dirs)} "
            f"(searched recursively for .ttf/.otf Regular/Bold/Italic faces). "
            f"Install them with `{INSTALL_HINT}` or pass font_dirs pointing at a folder with such fonts."
        )
    return sorted(found, key=lambda f: (f.family, f.bold, f.italic, f.path))
