"""Form context: the values next to field labels, found from OCR word geometry.

Forms print personal data beside a label: ``Name: Jane Q. Doe``, ``Date of birth``
with the date below it, ``Address:`` followed by two lines. No NER model is needed to
know that the value of ``Name`` is a person. :class:`FormContext` finds labels from a
configurable label → entity-type map (case-, accent- and punctuation-insensitive, so
``NAME``, ``Name:``, ``E-mail``, ``Téléphone``/``Telephone`` all match) and takes as value:

* **right**: the words after the label on the same line, up to the next large gap
  (``word_gap`` × line height), the next label or the line end; a value glued to the
  label (``Email:jo@x.com``) starts right after the colon inside the word;
* **below**: when nothing is right of the label, the line directly below
  (within ``below`` × line height) whose words overlap the label's column; a label
  without colon alone in its cell (a table header) looks below first.

A label maps to one entity type or to a list of types, one per line: ``Address`` →
``[LOCATION, LOCATION, LOCATION]`` takes up to two continuation lines that are
left-aligned with the first value line; ``Bill to`` → ``[PERSON, LOCATION, ...]``.

A label counts when it ends with a colon and starts a cell (line start or after a
large gap) or follows another label's value on its line, or when it stands alone in its
cell (``Name`` in a table header). ``Bank name: ...`` is therefore not a ``Name``.
"""

from __future__ import annotations

import statistics
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from anonymizer.pipeline.page_text import Detection, PageText

SOURCE = "form_context"

_ADDRESS = ["LOCATION", "LOCATION", "LOCATION"]
_BLOCK = ["PERSON", "LOCATION", "LOCATION", "LOCATION"]

#: Default labels per language: label → entity type, or one type per value line.
DEFAULT_LABELS: dict[str, dict[str, str | list[str]]] = {
    "en": {
        **dict.fromkeys(
            ["name", "full name", "first name", "last name", "surname", "given name", "given names", "customer",
             "customer name", "client", "client name", "patient", "patient name", "account holder", "account name",
             "contact", "contact name", "employee", "employee name", "applicant", "insured", "recipient"],
            "PERSON",
        ),
        **dict.fromkeys(["company", "company name", "employer", "organization", "organisation"], "ORGANIZATION"),
        **dict.fromkeys(
            ["address", "home address", "street address", "mailing address", "postal address", "billing address",
             "shipping address", "residence"],
            _ADDRESS,
        ),
        **dict.fromkeys(["bill to", "ship to", "sold to", "invoice to", "deliver to"], _BLOCK),
        **dict.fromkeys(["street", "city", "town"], "LOCATION"),
        **dict.fromkeys(["date of birth", "dob", "birth date", "birthdate", "born"], "DATE_TIME"),
        **dict.fromkeys(
            ["account", "account number", "account no", "acct", "acct no", "customer id", "customer no",
             "customer number", "client id", "member id", "member number", "patient id", "policy number", "policy no",
             "id number", "id no", "passport number", "passport no", "license number", "licence number"],
            "ID_NUMBER",
        ),
        **dict.fromkeys(["phone", "phone number", "telephone", "tel", "mobile", "cell", "fax"], "PHONE_NUMBER"),
        **dict.fromkeys(["email", "email address"], "EMAIL_ADDRESS"),
        **dict.fromkeys(["ssn", "social security number", "social security no"], "US_SSN"),
        "iban": "IBAN_CODE",
    },
    "de": {
        **dict.fromkeys(
            ["name", "vorname", "nachname", "familienname", "vor und nachname", "kunde", "kundin", "kundenname",
             "patient", "patientin", "kontoinhaber", "empfänger"],
            "PERSON",
        ),
        **dict.fromkeys(["firma", "arbeitgeber"], "ORGANIZATION"),
        **dict.fromkeys(["anschrift", "adresse", "wohnanschrift", "rechnungsadresse", "lieferadresse"], _ADDRESS),
        **dict.fromkeys(["straße", "wohnort", "ort"], "LOCATION"),
        **dict.fromkeys(["geburtsdatum", "geboren am", "geb"], "DATE_TIME"),
        **dict.fromkeys(
            ["konto", "kontonummer", "kontonr", "kundennummer", "kundennr", "versichertennummer", "ausweisnummer",
             "steuernummer", "steuer id", "steuerid"],
            "ID_NUMBER",
        ),
        **dict.fromkeys(["telefon", "telefonnummer", "tel", "handy", "mobil", "mobilnummer", "fax"], "PHONE_NUMBER"),
        **dict.fromkeys(["e-mail", "e-mail-adresse", "email"], "EMAIL_ADDRESS"),
        "iban": "IBAN_CODE",
    },
    "fr": {
        **dict.fromkeys(
            ["nom", "prénom", "nom complet", "nom de famille", "client", "cliente", "patient", "titulaire"], "PERSON"
        ),
        **dict.fromkeys(["société", "entreprise", "employeur"], "ORGANIZATION"),
        **dict.fromkeys(["adresse", "adresse postale", "domicile", "adresse de facturation", "adresse de livraison"],
                        _ADDRESS),
        **dict.fromkeys(["ville"], "LOCATION"),
        **dict.fromkeys(["date de naissance", "né le", "née le", "né e le"], "DATE_TIME"),
        **dict.fromkeys(["numéro de compte", "n° de compte", "no de compte", "numéro client", "n° client",
                         "numéro de sécurité sociale"], "ID_NUMBER"),
        **dict.fromkeys(["téléphone", "tél", "portable", "mobile", "fax"], "PHONE_NUMBER"),
        **dict.fromkeys(["courriel", "e-mail", "email", "adresse e-mail", "adresse électronique"], "EMAIL_ADDRESS"),
        "iban": "IBAN_CODE",
    },
}


def normalize(token: str) -> str:
    """Case-, accent- and punctuation-free form of a word (``"Téléphone:"`` → ``"telephone"``)."""
    decomposed = unicodedata.normalize("NFKD", token)
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c)).casefold()


def label_key(label: str) -> tuple[str, ...]:
    """The normalized word tuple a label is matched by."""
    return tuple(t for t in (normalize(w) for w in label.split()) if t)


@dataclass(frozen=True)
class _Tok:
    """One word of a line as the label matcher sees it."""

    word: int  # index into PageText.words
    norm: str  # normalized text before the first colon
    colon: bool  # the word holds a colon
    glued: int | None  # page-text offset where a value glued after the colon starts
    x0: float
    x1: float


@dataclass
class _Label:
    line: int
    first: int  # token positions [first, end) of the label words
    end: int
    value_pos: int  # token position where the value may start
    value_char: int | None  # page-text offset of a value glued to the label
    colon: bool
    entities: tuple[str, ...]
    valid: bool = False


class FormContext:
    """Detects form values beside labels; see the module docstring.

    Args:
        labels: extra or changed labels, ``{"Kundennummer": "ID_NUMBER", "Address":
            ["LOCATION", "LOCATION"]}``; ``None`` as a value removes a default label.
        languages: the built-in label sets to use (``en``, ``de``, ``fr``); ``[]`` for
            only ``labels``.
        score: score of every form-context detection.
        word_gap: a horizontal gap larger than this × line height ends a value.
        label_gap: the largest gap (× line height) between a label and its value on the
            same line (forms align values in a column).
        below: the largest vertical gap (× line height) to a value line below.
        align: how far (× line height) a continuation line's start may be from the
            first value line's start.
    """

    def __init__(
        self,
        labels: Mapping[str, str | Sequence[str] | None] | None = None,
        languages: Sequence[str] = ("en", "de", "fr"),
        score: float = 0.65,
        word_gap: float = 1.5,
        label_gap: float = 8.0,
        below: float = 1.5,
        align: float = 1.5,
    ) -> None:
        unknown = [lang for lang in languages if lang not in DEFAULT_LABELS]
        if unknown:
            raise ValueError(f"form context: no built-in labels for {unknown}; available: {sorted(DEFAULT_LABELS)}")
        merged: dict[str, str | Sequence[str] | None] = {}
        for lang in languages:
            merged.update(DEFAULT_LABELS[lang])
        merged.update(labels or {})
        self.labels: dict[tuple[str, ...], tuple[str, ...]] = {}
        for label, types in merged.items():
            key = label_key(label)
            if not key:
                raise ValueError(f"form context: label {label!r} has no letters or digits")
            if types is None:
                self.labels.pop(key, None)
                continue
            types = (types,) if isinstance(types, str) else tuple(types)
            if not types or not all(isinstance(t, str) and t for t in types):
                raise ValueError(f"form context: label {label!r} needs an entity type or a list of them")
            self.labels[key] = types
        self.max_len = max((len(k) for k in self.labels), default=0)
        self.score = float(score)
        self.word_gap = float(word_gap)
        self.label_gap = float(label_gap)
        self.below = float(below)
        self.align = float(align)

    # -- per-line structures -------------------------------------------------------------

    def _tokens(self, page: PageText, line: int) -> list[_Tok]:
        out = []
        for i in page.lines[line]:
            s, e = page.spans[i]  # type: ignore[misc]
            text = page.text[s:e]
            cut = text.find(":")
            head = text if cut < 0 else text[:cut]
            rest = "" if cut < 0 else text[cut + 1 :].lstrip(" :")
            glued = s + len(text) - len(rest) if rest else None
            box = page.words[i].box
            out.append(_Tok(i, normalize(head), cut >= 0, glued, box[0], box[2]))
        return out

    def _match(self, toks: list[_Tok], line: int) -> list[_Label]:
        found, j = [], 0
        while j < len(toks):
            hit = None
            for n in range(min(self.max_len, len(toks) - j), 0, -1):
                part = toks[j : j + n]
                if any(t.colon for t in part[:-1]):
                    continue
                key = tuple(t.norm for t in part)
                if key in self.labels:
                    hit = (n, self.labels[key])
                    break
            if hit is None:
                j += 1
                continue
            n, types = hit
            last = toks[j + n - 1]
            end, colon, glued = j + n, last.colon, last.glued
            if not colon and end < len(toks) and toks[end].norm == "" and toks[end].colon:
                colon, glued = True, toks[end].glued  # "Nom :" with the colon as its own word
                end += 1
            value_pos = end - 1 if glued is not None else end
            found.append(_Label(line, j, end, value_pos, glued, colon, types))
            j = end
        return found

    # -- geometry helpers ----------------------------------------------------------------

    @staticmethod
    def _height(page: PageText, line: int) -> float:
        return max(statistics.median(page.words[i].box[3] - page.words[i].box[1] for i in page.lines[line]), 1.0)

    def _extend(self, toks: list[_Tok], pos: int, stops: set[int], h: float) -> int:
        """Token position after the value that starts at ``pos`` (gap / label / line end)."""
        end = pos + 1
        while end < len(toks) and end not in stops and toks[end].x0 - toks[end - 1].x1 <= self.word_gap * h:
            end += 1
        return end

    # -- detection -----------------------------------------------------------------------

    def detect(self, page: PageText) -> list[Detection]:
        """Form-context detections over ``page.text`` (one per value line, or one per
        contiguous multi-line value; the lines of one value share a ``group``)."""
        if not self.labels:
            return []
        toks = [self._tokens(page, n) for n in range(len(page.lines))]
        heights = [self._height(page, n) for n in range(len(page.lines))]
        boxes = [page.line_box(n) for n in range(len(page.lines))]
        labels = [self._match(toks[n], n) for n in range(len(page.lines))]
        for n, found in enumerate(labels):
            self._validate(found, toks[n], heights[n])
        # every colon label or valid label stops a value; keyed by token position per line
        stops = [{lab.first for lab in found if lab.valid or lab.colon} for found in labels]
        out: list[Detection] = []
        group = 0
        for found in labels:
            for lab in found:
                if not lab.valid:
                    continue
                segments = self._value(page, lab, toks, heights, boxes, stops)
                dets = self._detections(page, toks, segments, lab.entities, group)
                if len(dets) > 1:
                    group += 1
                out += dets
        return out

    def _validate(self, found: list[_Label], toks: list[_Tok], h: float) -> None:
        in_value = False
        for lab in found:
            cell_start = lab.first == 0 or toks[lab.first].x0 - toks[lab.first - 1].x1 >= self.word_gap * h
            if lab.colon:
                lab.valid = cell_start or in_value
            else:
                alone = lab.end >= len(toks) or toks[lab.end].x0 - toks[lab.end - 1].x1 >= self.word_gap * h
                lab.valid = cell_start and alone
            in_value = in_value or lab.valid

    def _value(self, page: PageText, lab: _Label, toks, heights, boxes, stops) -> list[_Segment]:
        """The value's lines, the first one possibly starting inside the label's last word."""
        n, h = lab.line, heights[lab.line]
        line_toks = toks[n]
        pos = lab.value_pos
        right = None
        if lab.value_char is not None:
            right = _Segment(n, pos, self._extend(line_toks, pos, stops[n], h), lab.value_char)
        elif pos < len(line_toks) and pos not in stops[n]:
            if line_toks[pos].x0 - line_toks[pos - 1].x1 <= self.label_gap * h:
                right = _Segment(n, pos, self._extend(line_toks, pos, stops[n], h))
        below = None
        if right is None or not lab.colon:  # a header cell without colon looks below first
            ref = _box(page, line_toks[lab.first : lab.end])
            x0, x1 = ref[0], ref[2]
            below = self._below(toks, boxes, stops, ref, h, lambda t: t.x1 >= x0 - 0.5 * h and t.x0 <= x1 + 0.5 * h)
        start = below if below is not None and not lab.colon else right or below
        if start is None:
            return []
        segments = [start]
        while len(segments) < len(lab.entities):
            last = segments[-1]
            lead = toks[last.line][last.first]
            hm = heights[last.line]
            ref = _box(page, toks[last.line][last.first : last.end])
            nxt = self._below(toks, boxes, stops, ref, hm, lambda t: abs(t.x0 - lead.x0) <= self.align * hm)
            if nxt is None:
                break
            segments.append(nxt)
        return segments

    def _below(self, toks, boxes, stops, ref, h: float, starts) -> _Segment | None:
        """The nearest line below box ``ref`` with a word accepted by ``starts``, as a segment."""
        x0, y0, _, y1 = ref
        candidates = [
            m for m, b in enumerate(boxes)
            if b[1] >= y1 - 0.3 * h and b[1] > y0 + 0.5 * h and b[1] - y1 <= self.below * h and b[2] > x0 - h
        ]
        for m in sorted(candidates, key=lambda m: boxes[m][1]):
            pos = next((k for k, t in enumerate(toks[m]) if starts(t)), None)
            if pos is None:
                continue
            if pos in stops[m]:
                return None
            return _Segment(m, pos, self._extend(toks[m], pos, stops[m], h))
        return None

    def _detections(self, page: PageText, toks, segments: list[_Segment], entities, group: int) -> list[Detection]:
        spans = []
        for k, seg in enumerate(segments):
            words = [t.word for t in toks[seg.line][seg.first : seg.end]]
            start = seg.start if seg.start is not None else page.spans[words[0]][0]  # type: ignore[index]
            start, end = _trim(page.text, start, page.spans[words[-1]][1])  # type: ignore[index]
            if end > start:
                spans.append([start, end, entities[min(k, len(entities) - 1)]])
        merged: list[list] = []
        for span in spans:
            if merged and merged[-1][2] == span[2] and not page.text[merged[-1][1] : span[0]].strip():
                merged[-1][1] = span[1]
            else:
                merged.append(span)
        gid = group if len(merged) > 1 else None
        return [Detection(t, s, e, self.score, SOURCE, gid) for s, e, t in merged]


@dataclass(frozen=True)
class _Segment:
    """One value line: tokens ``[first, end)`` of line ``line``; ``start`` is the
    page-text offset of a value that begins inside its first word."""

    line: int
    first: int
    end: int
    start: int | None = None


def _box(page: PageText, toks: Sequence[_Tok]) -> tuple[float, float, float, float]:
    boxes = [page.words[t.word].box for t in toks]
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop surrounding whitespace and separators (``,;:|``) from a value span."""
    while start < end and (text[start].isspace() or text[start] in ",;:|"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:|"):
        end -= 1
    return start, end
