"""Postal address blocks found from their shape, without labels or NER.

Letters, invoices, statements and envelopes print the addressee and the sender as a block
of left-aligned lines: a name (person or organisation, sometimes both), a street line and a
postal line (``Springfield, IL 62704``, ``1025 RX Amsterdam``, ``75001 Paris``,
``London SW1A 1AA``), then perhaps a country. :class:`AddressBlocks` reads a page's OCR
lines as cells (words separated by less than ``word_gap`` × the line height; a wider gap
starts another column), chains the cells that stand left-aligned one below the other into
blocks, and takes a block as an address when it holds a postal line that is
unambiguous on its own (US state + ZIP, Dutch and UK and Canadian postcodes) or a postal
line of the ``12345 City`` kind right under a street line.

Then: the postal line and the street lines above it (``12 Main Street``, ``Hauptstraße 5``,
``Weena 664``, ``P.O. Box 12``, ``Suite 400``) are ``LOCATION``; up to
``name_lines`` lines above those are the addressee (``PERSON`` when
:func:`~anonymizer.pipeline.names.person_score` reads a person's name, else
``ORGANIZATION``), unless they are labels (``Bill to:``), headings in capitals, dates,
e-mail addresses, phone numbers or sentences. A leading ``Attn:``/``c/o``/``T.a.v.`` stays.
A country line below the postal line is kept: a country alone says little about a person.
One-line addresses (``Badweg 48, 8401 BL Gorredijk``) are found inside a cell too.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from anonymizer.pipeline.countries import COUNTRIES
from anonymizer.pipeline.names import NOT_SURNAMES, letters, person_score
from anonymizer.pipeline.page_text import Detection, PageText

SOURCE = "address_block"

_STATES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH "
    "OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP AB BC MB NB NL NS NT NU ON PE QC SK YT"
).split()
_CITY = r"[A-ZÀ-Þ][\w'’.-]*(?:[ -][A-ZÀ-Þa-z][\w'’.-]*){0,3}"
#: Postal lines that are addresses on their own (city + US state + ZIP; Dutch, UK, Canadian postcodes).
STRONG_POSTAL = [
    re.compile(rf"{_CITY},? +(?:{'|'.join(_STATES)})\.?[ ,-]+\d{{5}}(?:-\d{{4}})?", re.IGNORECASE),
    re.compile(rf"\d{{4}} ?[A-Z]{{2}},? +{_CITY}"),  # 1025 RX Amsterdam (Netherlands)
    re.compile(r"(?:[A-Z][\w'’.-]* +){0,3}[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}"),  # London SW1A 1AA (UK)
    re.compile(r"(?:[A-Z][\w'’.-]* +){0,3}[A-Z]\d[A-Z] ?\d[A-Z]\d"),  # Toronto ON M5V 2T6 (Canada)
]
#: ``12345 City`` and ``D-12345 City`` (most of Europe): an address only under a street line.
WEAK_POSTAL = re.compile(rf"(?:[A-Z]{{1,2}}-)?\d{{4,5}},? +{_CITY}")
_SUFFIX = (r"(?:st|street|str|ave|avenue|rd|road|dr|drive|ln|lane|blvd|boulevard|pkwy|pkway|parkway|way|ct|court"
           r"|pl|place|sq|square|ter|terrace|hwy|highway|cir|circle|trl|trail|row|close|crescent|cres|gardens|grove"
           r"|walk|mews|hill|park|plaza|loop|run|pike|alley|path)\.?")
_NUM = r"\d{1,6}[A-Za-z]?(?:[-/]\d{1,5}[A-Za-z]?)?"
_STREET_WORDS = (r"(?:straat|str\.?|straße|strasse|weg|laan|plein|gracht|kade|dijk|singel|steeg|gasse|allee|platz"
                 r"|ring|damm|ufer|rue|avenue|boulevard|chemin|allée|impasse|via|viale|piazza|corso|calle|avenida"
                 r"|carrer|rua|street|road|lane)")
_STREET_PREFIX = (r"(?:rue|avenue|av\.?|boulevard|bd|chemin|allée|allee|impasse|place|quai|route|cours|passage"
                  r"|via|viale|piazza|corso|vicolo|calle|c/|avenida|avda\.?|paseo|plaza|carrer|rua|travessa|largo)")
#: Street lines: number first (``12 Main Street``) or name first (``Hauptstraße 5``), and post boxes.
STRONG_STREET = [
    re.compile(rf"{_NUM},? +(?:[NSEW]\.? +)?[\w'’.-]+(?: +[\w'’.-]+){{0,4}} +{_SUFFIX}(?: +[NSEW]{{1,2}}\.?)?"
               rf"(?:,? +(?:apt|suite|ste|unit|fl|floor|room|rm|#)\.? *[\w-]+)?", re.IGNORECASE),
    re.compile(rf"[\w'’.-]*{_STREET_WORDS}(?: +[\w'’.-]+){{0,2}} +{_NUM}", re.IGNORECASE),
    re.compile(r"(?:p\.? ?o\.? box|postbus|postfach|bp|apartado|po box) +\d+", re.IGNORECASE),
    # the street type first (French, Spanish, Italian, Portuguese): "8, rue de Péron", "Calle Mayor 5"
    re.compile(rf"(?:{_NUM},? +)?{_STREET_PREFIX} +[\w'’.-]+(?: +[\w'’.-]+){{0,4}}(?:,? +{_NUM})?", re.IGNORECASE),
]
#: Street lines without a street word: an address only right above a postal line.
WEAK_STREET = [
    re.compile(rf"[A-ZÀ-Þ][\w'’.-]*(?: +[\w'’.-]+){{0,3}} +{_NUM}"),  # Weena 664
    re.compile(rf"{_NUM},? +[A-ZÀ-Þ][\w'’.-]*(?: +[\w'’.-]+){{0,3}}"),  # 215 Vine
]
#: Lines that continue a street line (``Suite 400``, ``Apt 3``, ``Building B``).
UNIT = re.compile(r"(?:apt|apartment|suite|ste|unit|floor|fl|room|rm|building|bldg|dept|#)\.? *[\w-]+", re.IGNORECASE)
#: Prefixes of an addressee line that are not part of the name.
ATTENTION = re.compile(r"(?:attn|attention|c/o|t\.?a\.?v|z\.?\s?hd|à l'attention de|a l'attention de)\.?:?\s+",
                       re.IGNORECASE)
_NOT_NAME = re.compile(r"[@:]|https?|www\.|\d{3,}|[.!?]$")
BLOCK_SCORE = 0.7


@dataclass
class _Cell:
    line: int  # index into PageText.lines
    words: list[int]  # word indices (left to right)
    x0: float
    x1: float
    y0: float  # median top / bottom of the words
    y1: float
    h: float

    def text(self, page: PageText) -> str:
        return " ".join(page.text[slice(*page.spans[i])] for i in self.words)  # type: ignore[misc]


def _fullmatch(patterns, text: str) -> bool:
    text = text.strip(" ,;")
    return any(p.fullmatch(text) for p in patterns)


def page_cells(page: PageText, word_gap: float = 1.5) -> list[_Cell]:
    """The cells of every line: runs of words whose gaps are below ``word_gap`` × line height."""
    cells: list[_Cell] = []
    for n, line in enumerate(page.lines):
        boxes = [page.words[i].box for i in line]
        h = max(statistics.median(b[3] - b[1] for b in boxes), 1.0)
        run: list[int] = []
        for i in line:
            if run and page.words[i].box[0] - page.words[run[-1]].box[2] > word_gap * h:
                cells.append(_cell(page, n, run, h))
                run = []
            run.append(i)
        cells.append(_cell(page, n, run, h))
    return cells


def _cell(page: PageText, line: int, words: list[int], h: float) -> _Cell:
    boxes = [page.words[i].box for i in words]
    return _Cell(line, list(words), boxes[0][0], boxes[-1][2], statistics.median(b[1] for b in boxes),
                 statistics.median(b[3] for b in boxes), h)


class AddressBlocks:
    """Finds address blocks on a page; see the module docstring.

    Args:
        word_gap: a horizontal gap above this × line height separates two cells (columns).
        line_gap: the largest vertical gap (× line height) between two lines of one block.
        align: how far (× line height) the left edges of a block's lines may differ.
        name_lines: how many lines above the street the addressee may take.
        score: the score of every detection.
        is_label: tells a form label (``Home address``, ``Kunde``), which is never a name line.
    """

    def __init__(self, word_gap: float = 1.5, line_gap: float = 1.2, align: float = 1.0, name_lines: int = 2,
                 score: float = BLOCK_SCORE, is_label: Callable[[str], bool] | None = None) -> None:
        self.word_gap, self.line_gap, self.align = float(word_gap), float(line_gap), float(align)
        self.name_lines, self.score = int(name_lines), float(score)
        self.is_label = is_label

    def blocks(self, page: PageText) -> list[list[_Cell]]:
        """Cells chained top to bottom: each cell's successor is the nearest left-aligned cell below it."""
        cells = sorted(page_cells(page, self.word_gap), key=lambda c: (c.y0, c.x0))
        taken: set[int] = set()
        out = []
        for k, cell in enumerate(cells):
            if k in taken:
                continue
            block, last = [cell], cell
            taken.add(k)
            for j in range(k + 1, len(cells)):
                other = cells[j]
                if other.y0 - last.y1 > self.line_gap * max(last.h, other.h):
                    break
                if j in taken or other.y0 < last.y1 - 0.3 * last.h or abs(other.x0 - last.x0) > self.align * last.h:
                    continue
                block.append(other)
                taken.add(j)
                last = other
            out.append(block)
        return out

    def detect(self, page: PageText) -> list[Detection]:
        """Address detections (``LOCATION`` lines, the addressee's ``PERSON``/``ORGANIZATION``)."""
        if not page.lines:
            return []
        out: list[Detection] = []
        for block in self.blocks(page):
            texts = [c.text(page) for c in block]
            out += self._block(page, block, texts)
            for cell, text in zip(block, texts):
                out += self._inline(page, cell, text)
        return out

    def _block(self, page: PageText, block: list[_Cell], texts: list[str]) -> list[Detection]:
        kinds: dict[int, str] = {}
        for postal, text in enumerate(texts):
            if postal in kinds:
                continue
            street_above = postal > 0 and _fullmatch(STRONG_STREET + WEAK_STREET, texts[postal - 1])
            if not (_fullmatch(STRONG_POSTAL, text) or street_above and _fullmatch([WEAK_POSTAL], text)):
                continue
            kinds[postal] = "LOCATION"
            k = postal - 1
            while k >= 0 and k not in kinds and postal - k <= 3 and (
                    _fullmatch(STRONG_STREET + WEAK_STREET, texts[k]) or UNIT.fullmatch(texts[k].strip(" ,"))):
                kinds[k] = "LOCATION"
                k -= 1
            for _ in range(self.name_lines):
                if k < 0 or k in kinds or not self._name_line(texts[k]) or self.is_label and self.is_label(
                        texts[k].strip(" :")):
                    break
                kinds[k] = "PERSON" if person_score(ATTENTION.sub("", texts[k])) > 0 else "ORGANIZATION"
                k -= 1
        return [d for n, kind in sorted(kinds.items()) for d in self._cell_detection(page, block[n], kind)]

    @staticmethod
    def _name_line(text: str) -> bool:
        """Whether a line above a street line may be the addressee's name."""
        core = ATTENTION.sub("", text.strip(" ,"))
        words = core.split()
        if not words or len(words) > 6 or _NOT_NAME.search(core) or core.casefold() in COUNTRIES:
            return False
        if all(letters(w) in NOT_SURNAMES for w in words):  # a label or heading ("Bill To", "Ship to")
            return False
        return not (len(words) == 1 and core.isupper() and len(core) > 3 and not any(c.isdigit() for c in core))

    def _cell_detection(self, page: PageText, cell: _Cell, kind: str) -> list[Detection]:
        start = page.spans[cell.words[0]][0]  # type: ignore[index]
        end = page.spans[cell.words[-1]][1]  # type: ignore[index]
        if kind != "LOCATION":
            m = ATTENTION.match(page.text[start:end])
            start += m.end() if m else 0
        while end > start and page.text[end - 1] in ",;:":
            end -= 1
        if end <= start or not any(c.isalnum() for c in page.text[start:end]):
            return []
        return [Detection(kind, start, end, self.score, SOURCE)]

    def _inline(self, page: PageText, cell: _Cell, text: str) -> list[Detection]:
        """A one-line address inside a cell: a street, a comma, then a postal part."""
        start = page.spans[cell.words[0]][0]  # type: ignore[index]
        cell_text = page.text[start : page.spans[cell.words[-1]][1]]  # type: ignore[index]
        out = []
        for street in STRONG_STREET + WEAK_STREET:
            for m in street.finditer(cell_text):
                rest = cell_text[m.end():]
                sep = re.match(r" *, *", rest)
                if sep is None:
                    continue
                tail = rest[sep.end():]
                post = next((p.match(tail) for p in [*STRONG_POSTAL, WEAK_POSTAL] if p.match(tail)), None)
                if post is None:
                    continue
                end = m.end() + sep.end() + post.end()
                if m.start() > 0 and cell_text[m.start() - 1].isalnum():
                    continue
                out.append(Detection("LOCATION", start + m.start(), start + end, self.score, SOURCE))
            if out:
                break
        return out

