"""Form context: the values next to field labels, found from OCR word geometry.

Forms print personal data beside a label: ``Name: Jane Q. Doe``, ``Date of birth``
with the date below it, ``Address:`` followed by two lines, or a label column
(``Name`` at the margin, ``Jane Q. Doe`` in a value column far to the right). No NER
model is needed to know that the value of ``Name`` is a person. :class:`FormContext`
finds labels from a configurable label → entity-type map (the defaults per language:
``anonymizer/conf/recognizers/form_labels.yaml``) and takes as value:

* **right**: the row's next cell: the words after the label on the same row (the same
  OCR line, or another OCR line at the same height when the engine read the columns as
  separate blocks), up to the next large gap (``word_gap`` × line height), the next
  label or the line end, however wide the gap between label and value (label columns);
  a value glued to the label (``Email:jo@x.com``) starts right after the colon;
* **below**: only when nothing but other labels is right of the label (a label above
  its value, a row of labels over a row of values), when the label heads a table column
  (no colon, the row below has a cell under it and another under the cell to its right,
  and no other label shares its column), or when the word at its height belongs to
  another OCR block while a value follows below the label: the line directly below (top
  within ``below`` × line height of the label's bottom) with a cell that starts at the
  label's left edge (within ``align`` × line height) or under the label.

A label with a value to its right never also takes one below. A candidate value that is
itself a label (any known label, with or without colon, including the non-personal field
names and section headings of :data:`OTHER_LABELS` such as ``Gender``, ``Amount`` or
``Payment details``, or any words ending with a colon) is never taken. Values of
pattern-shaped types (:data:`PATTERN_TYPES`) must have the type's shape (digits for
phone, identity, card and date values, an ``@`` for e-mail, letters and digits for IBAN,
…); prose never qualifies, and trailing words that do not fit the shape are cut off
(``12345 (office)`` → ``12345``). Names, places and organisations must be short (a
sentence is not a name).

A label maps to one entity type or to a list of types, one per line: ``Address`` →
``[LOCATION, LOCATION, LOCATION]`` takes up to two continuation lines that are
left-aligned with the first value line and have nothing in the label column;
``Bill to`` → ``[PERSON, LOCATION, ...]``.

Labels are matched on their letters, case-, accent-, punctuation- and space-insensitive
(``NAME``, ``Name:``, ``E-Mail``/``E Mail``/``Email``, ``Téléphone``/``Telephone``;
``#``, ``N°`` and ``Nº`` read as ``No``), and with ``fuzzy`` labels of five letters or more
also with one letter missing or misread (Tesseract's ``Adress:``, ``Date of bith``).
A label counts when

* it ends with a colon and starts a cell (line start or after a large gap) or follows
  another label's value on its line, or it stands alone in its cell (``Name`` in a table
  header or a label column): ``Bank name: ...`` is therefore not a ``Name``;
* its value follows after a normal space, for labels of pattern-shaped types that start
  a cell (``Tel. 0123 456789``, ``Receipt No. 4471``: the value's shape decides) and for
  labels of several words or of a role that start a line (``Served by Jane``, ``Cashier
  Jane``: the value must start with a capital);
* it is an identifier label in running text followed by an identifier with four digits
  or more (``Your customer number RE-539105 remains unchanged``).

Line heights and vertical positions are the medians of a line's words: Tesseract gives
some words a box as tall as two lines.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from anonymizer.core.months import month_words
from anonymizer.core.tables import entry, fail, load_table, mapping, strings
from anonymizer.core.text import casefold_unaccented, label_word_key
from anonymizer.pipeline.countries import COUNTRIES
from anonymizer.pipeline.page_text import Detection, PageText

SOURCE = "form_context"

_MONTH_SET = frozenset(casefold_unaccented(m) for m in month_words())  # accents stripped, lower case
_DATE_WORDS = frozenset({"of", "the", "de", "du", "le", "am", "den", "er", "st", "nd", "rd", "th"})


def _labels_table() -> tuple[dict[str, dict[str, str | list[str]]], dict[str, list[str]]]:
    """``labels`` and ``other_labels`` of ``recognizers/form_labels.yaml``, validated: per
    language, groups of labels with one type (or one type per value line) each, merged in order."""
    table = load_table("form_labels")
    labels: dict[str, dict[str, str | list[str]]] = {}
    for lang, groups in mapping("form_labels", "labels", entry("form_labels", table, "labels")).items():
        if not isinstance(groups, list):
            raise fail("form_labels", f"labels.{lang}", "a list of groups (type, labels)")
        merged: dict[str, str | list[str]] = {}
        for k, group in enumerate(groups):
            where = f"labels.{lang}[{k}]"
            group = mapping("form_labels", where, group)
            etype = entry("form_labels", group, "type")
            if not (isinstance(etype, str) and etype):
                etype = strings("form_labels", f"{where}.type", etype)
            names = strings("form_labels", f"{where}.labels", entry("form_labels", group, "labels"))
            merged.update(dict.fromkeys(names, etype))
        labels[lang] = merged
    others = mapping("form_labels", "other_labels", entry("form_labels", table, "other_labels"))
    other = {lang: strings("form_labels", f"other_labels.{lang}", names) for lang, names in others.items()}
    return labels, other


#: Default labels per language: label → entity type, or one type per value line
#: (``anonymizer/conf/recognizers/form_labels.yaml``). :data:`OTHER_LABELS`: field names and
#: section headings whose values are not personal data: they are never taken as a value and
#: stop the value of the label before them.
DEFAULT_LABELS, OTHER_LABELS = _labels_table()

#: Types whose values have a recognisable shape (checked with :func:`shape_end`).
PATTERN_TYPES = frozenset(
    {"PHONE_NUMBER", "EMAIL_ADDRESS", "DATE_TIME", "IBAN_CODE", "CREDIT_CARD", "US_SSN", "NATIONAL_ID", "ID_NUMBER",
     "AMOUNT"}
)
_MIN_FUZZY = 5  # labels of at least this many letters also match with one letter missing or misread
_ID_TYPES = frozenset({"ID_NUMBER", "NATIONAL_ID", "US_SSN"})
#: Words before a label in its cell that do not make it running text: box numbers of tax and
#: claim forms (``1``, ``12b``, ``a``) and a possessive (``Employee's``, ``Patient's``).
_BOX_NUMBER = re.compile(r"(?:\d{1,2}[a-z]?|[a-z])\.?")
_POSSESSIVE = re.compile(r"\w+(?:['’]s|s['’])")
#: Generic labels ending with a colon: the last word names a number (``Klantnummer:``,
#: ``Policy No:``) or a date (``Orderdatum:``, ``Ship date:``).
_ID_WORD = re.compile(r"\w*(?:nummer|number|nr)|no|num|id")
_DATE_WORD = re.compile(r"\w*datum|date")
_PRINTED = 60.0  # OCR confidence of a word that is print, not handwriting read as noise
_READ = 70.0  # mean OCR confidence of a value that was read (below it: handwriting read as noise)
#: An identifier in running text: upper-case letters, digits, ``-`` or ``/``, with 4 digits or more.
_STRONG_ID = re.compile(r"(?=(?:[^0-9]*[0-9]){4})[A-Z0-9][A-Z0-9/-]{4,}")
#: Labels of names that may be followed by their value without colon or gap (``Cashier Jane``).
_ROLE_LABELS = frozenset({"cashier", "operator", "signature", "kassierer", "kassiererin", "bediener", "kasse",
                          "unterschrift", "caissier", "caissiere", "caisse"})


def _edits(a: str, b: str, limit: int) -> int:
    """Levenshtein distance of ``a`` and ``b``, or ``limit`` when it reaches it."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
        if min(current) >= limit:
            return limit
        previous = current
    return min(previous[-1], limit)


def label_key(label: str) -> tuple[str, ...]:
    """The normalized word tuple a label is matched by."""
    return tuple(t for t in (label_word_key(w) for w in label.split()) if t)


# -- value shapes --------------------------------------------------------------------------


def _counts(text: str) -> tuple[int, int]:
    return sum(c.isdigit() for c in text), sum(c.isalpha() for c in text)


_MASK = re.compile(r"[*•xX#]{3,}")


def _unmask(text: str) -> str:
    """A masked identifier with its mask characters read as digits (``***-**-1234`` → ``000-00-1234``)."""
    return _MASK.sub(lambda m: "0" * len(m.group()), text)


def _id_token(tok: str) -> bool:
    """A piece of an identifier: holds a digit, or is a short upper-case/punctuation code (``INV-``, ``AB``)."""
    core = _unmask(tok.strip(".,;:()[]"))
    if any(c.isdigit() for c in core):
        return True
    return 0 < len(core) <= 4 and any(c.isalpha() for c in core) and not any(c.islower() for c in core)


def _phone_token(tok: str) -> bool:
    core = tok.strip(".,;:")
    return (any(c.isdigit() for c in core) or (core != "" and all(c in "+()-./" for c in core))
            or label_word_key(core) in ("ext", "x", "poste", "durchwahl"))


def _date_token(tok: str) -> bool:
    n = label_word_key(tok)
    return any(c.isdigit() for c in tok) or n in _MONTH_SET or n in _DATE_WORDS


_CURRENCY = re.compile(r"[$€£¥₹]|(?:eur|usd|gbp|chf|cad|aud|jpy|inr|sek|nok|dkk|pln)\.?", re.IGNORECASE)
_MONEY = re.compile(r"[-+(]?(?:[$€£¥₹]|[A-Z]{3})?[-+]?\d[\d.,' ]*\)?(?:[$€£¥₹]|[A-Z]{3})?-?")


def _money_token(tok: str) -> bool:
    """A piece of an amount: a currency sign or code, or a number (``$4,647.68``, ``49,99``, ``(12.00)``)."""
    core = tok.strip(";:")
    return bool(_CURRENCY.fullmatch(core) or _MONEY.fullmatch(core))


def _card_token(tok: str) -> bool:
    """A group of a (masked) card number; OCR turns ``****`` into anything, but never into a word."""
    return re.search(r"[a-z]{5}", tok) is None


_TOKEN_SHAPES = {
    "PHONE_NUMBER": _phone_token, "ID_NUMBER": _id_token, "NATIONAL_ID": _id_token, "US_SSN": _id_token,
    "IBAN_CODE": _id_token, "CREDIT_CARD": _card_token, "DATE_TIME": _date_token, "AMOUNT": _money_token,
}


#: Values that say there is no value, or point elsewhere: never personal data.
NON_VALUE = re.compile(r"(?:n/?a|none|nil|null|no|unknown|not applicable|tbd|pending|present|current|self|same"
                       r"|same as .*|see (?:above|below|attached|over)|as above|-+|—+|\*+|/+)", re.IGNORECASE)


def shape_end(entity_type: str, tokens: Sequence[str]) -> int:
    """How many of the value ``tokens`` form a value of ``entity_type`` (0: not a value of it).

    Pattern-shaped types keep the leading tokens that fit the shape and need enough of it
    (digits, an ``@``, …); names, places and organisations need letters and must not be a
    sentence; other types are taken as they are. A :data:`NON_VALUE` (``N/A``, ``same as home
    address``, ``none``) is no value of any type.
    """
    if not tokens or NON_VALUE.fullmatch(" ".join(tokens).strip(" .,;:()")):
        return 0
    if entity_type == "EMAIL_ADDRESS":
        at = next((k for k, t in enumerate(tokens[:3]) if "@" in t), None)
        if at is None:
            return 0
        n = at + 1
        if tokens[at].endswith("@"):  # "jane@ example.com": the OCR engine split the address
            while n < min(len(tokens), at + 3) and re.fullmatch(r"[\w.-]+", tokens[n]):
                n += 1
        text = "".join(tokens[:n])
        return n if re.search(r"\w@[\w.]", text) else 0
    fits = _TOKEN_SHAPES.get(entity_type)
    if fits is not None:
        n = 0
        while n < len(tokens) and fits(tokens[n]):
            n += 1
        while n and label_word_key(tokens[n - 1]) in _DATE_WORDS and entity_type == "DATE_TIME":
            n -= 1
        text = "".join(tokens[:n])
        digits, letters = _counts(_unmask(text) if entity_type in _ID_TYPES else text)
        if entity_type == "PHONE_NUMBER":
            ok = digits >= 6 and letters <= digits
        elif entity_type == "DATE_TIME":
            month = any(label_word_key(t) in _MONTH_SET for t in tokens[:n])
            ok = digits >= 4 or (month and digits >= 1)
        elif entity_type == "IBAN_CODE":
            ok = len(re.sub(r"[^A-Za-z0-9]", "", text)) >= 12 and digits >= 8
        elif entity_type == "CREDIT_CARD":
            ok = digits >= 4 and n <= 6
        elif entity_type in ("US_SSN", "NATIONAL_ID"):
            ok = digits >= 6 and letters <= 6
        elif entity_type == "AMOUNT":  # a currency or two decimals: "$ 12", "49,99", not a quantity "3"
            ok = digits >= 1 and n <= 3 and bool(_CURRENCY.search(text) or re.search(r"\d[.,]\d{2}(?!\d)", text))
        else:  # ID_NUMBER
            ok = digits >= 3 and n <= 6
        return n if ok else 0
    text = " ".join(tokens)
    digits, letters = _counts(text)
    sentence = len(tokens) >= 5 and text.rstrip()[-1:] in ".!?"
    if entity_type == "PERSON":
        ok = letters >= 2 and digits <= 2 and "@" not in text and len(tokens) <= 6 and not sentence
    elif entity_type in ("ORGANIZATION", "LOCATION"):
        ok = letters + digits >= 2 and "@" not in text and len(tokens) <= 10 and not sentence
        ok = ok and text.strip(" ,.").casefold() not in COUNTRIES  # a country alone says little
    else:
        ok = True
    return len(tokens) if ok else 0


# -- geometry ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tok:
    """One word of a line as the label matcher sees it."""

    word: int  # index into PageText.words
    text: str
    norm: str  # normalized text before the first colon
    colon: bool  # the word holds a colon (or is a lone ";", Tesseract's colon)
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
    entities: tuple[str, ...]  # () for a label of OTHER_LABELS
    key: str = ""  # the label's letters
    valid: bool = False
    tight: bool = False  # no colon, the value right after it (see FormContext._validate)
    inline: bool = False  # an identifier label in running text: the value is the next word
    lead: int | None = None  # token position of a box number / possessive before the label in its cell


@dataclass(frozen=True)
class Field:
    """Where the value of a colon label is written on its row: from the label's end to the next
    label (or the row's end), the height of the label's line; ``words`` are the OCR words read
    there (maybe none: OCR found nothing it could read, e.g. handwriting)."""

    entities: tuple[str, ...]
    box: tuple[float, float, float, float]
    line_height: float
    words: tuple[int, ...]
    label: str = ""  # the label's letters ("zipcode", "dateofbirth")
    open_end: bool = False  # no label ends the field: it runs to the page's edge
    limits: tuple[float, float] = (float("-inf"), float("inf"))  # half-way to the labelled rows above / below


@dataclass(frozen=True)
class _Segment:
    """One value line: tokens ``[first, end)`` of line ``line``; ``start`` is the
    page-text offset of a value that begins inside its first word."""

    line: int
    first: int
    end: int
    start: int | None = None


class _Layout:
    """Tokens, heights, vertical bands, cells and labels of every line of a page.

    A line's band is the median top and median bottom of its words: Tesseract gives some
    words a box as tall as two lines, which a bounding box would take over.
    """

    def __init__(self, form: FormContext, page: PageText) -> None:
        self.form, self.page = form, page
        self.n = len(page.lines)
        self.toks = [self._tokens(n) for n in range(self.n)]
        boxes = [[page.words[i].box for i in line] for line in page.lines]
        self.h = [max(statistics.median(b[3] - b[1] for b in bs), 1.0) for bs in boxes]
        self.band = [(statistics.median(b[1] for b in bs), statistics.median(b[3] for b in bs)) for bs in boxes]
        self.gap_before = [
            [k == 0 or toks[k].x0 - toks[k - 1].x1 >= form.word_gap * self.h[n] for k in range(len(toks))]
            for n, toks in enumerate(self.toks)
        ]
        self.labels = [form._match(self.toks[n], n) for n in range(self.n)]
        for n in range(self.n):
            form._validate(self.labels[n], self.toks[n], self.gap_before[n])
        # every colon label or valid label stops a value, and so does a label right before a colon
        # label ("Emergency Contact Phone:"); keyed by token position per line
        self.stops = [{lab.first for lab in found if lab.valid or lab.colon
                       or any(o.first == lab.end and o.colon for o in found)} for found in self.labels]

    def _tokens(self, line: int) -> list[_Tok]:
        page = self.page
        out = []
        for i in page.lines[line]:
            s, e = page.spans[i]  # type: ignore[misc]
            text = page.text[s:e]
            cut = text.find(":")
            head = text if cut < 0 else text[:cut]
            rest = "" if cut < 0 else text[cut + 1 :].lstrip(" :")
            glued = s + len(text) - len(rest) if any(c.isalnum() for c in rest) else None
            b = page.words[i].box
            out.append(_Tok(i, text, label_word_key(head), cut >= 0 or text == ";", glued, b[0], b[2]))
        return out

    def cell_end(self, line: int, pos: int) -> int:
        """Token position after the cell that holds ``pos`` (the next large gap or the line end)."""
        gaps = self.gap_before[line]
        end = pos + 1
        while end < len(gaps) and not gaps[end]:
            end += 1
        return end

    def label_cell(self, line: int, pos: int) -> bool:
        """Whether the cell starting at ``pos`` is a label: a known label with a colon or one
        that fills the rest of its cell, or any words ending with a colon (``Nationality:``)."""
        end = self.cell_end(line, pos)
        hit = self.form._lookup(self.toks[line], pos)
        if hit is not None and (hit[2] or pos + hit[0] >= end):
            return True
        for k in range(pos, min(end, pos + 4)):
            if k > pos and k in self.stops[line]:
                break
            if self.toks[line][k].text.endswith(":"):
                return True
        return False

    def row(self, line: int) -> list[int]:
        """``line`` and the other lines at its height (a row the OCR engine split into blocks)."""
        y0, y1 = self.band[line]
        yc = (y0 + y1) / 2
        return [line] + [m for m in range(self.n) if m != line and self.band[m][0] <= yc <= self.band[m][1]]


class FormContext:
    """Detects form values beside labels; see the module docstring.

    Args:
        labels: extra or changed labels, ``{"Kundennummer": "ID_NUMBER", "Address":
            ["LOCATION", "LOCATION"]}``; ``None`` as a value removes a default label, ``[]``
            makes it a label whose value is not personal data (it stops other values).
        languages: the built-in label sets to use (``en``, ``de``, ``fr``, ``nl``); ``[]`` for
            only ``labels``.
        score: score of every form-context detection.
        word_gap: a horizontal gap larger than this × line height ends a cell (and a value).
        label_gap: the largest gap (× line height) between a label and its value on the
            same row; ``None``: any (the row's next cell, as in label columns).
        below: the largest vertical gap (× line height) from a label to a value line below
            it, and between the lines of a multi-line value.
        align: how far (× line height) a value line's start may be from the label's start
            (values below) or from the first value line's start (continuation lines).
        fuzzy: labels of 5 letters or more also match OCR text with one letter missing or
            misread (``Emai:``, ``Date of bith``).
    """

    def __init__(
        self,
        labels: Mapping[str, str | Sequence[str] | None] | None = None,
        languages: Sequence[str] = ("en", "de", "fr", "nl"),
        score: float = 0.65,
        word_gap: float = 1.5,
        label_gap: float | None = None,
        below: float = 1.5,
        align: float = 1.5,
        fuzzy: bool = True,
    ) -> None:
        unknown = [lang for lang in languages if lang not in DEFAULT_LABELS]
        if unknown:
            raise ValueError(f"form context: no built-in labels for {unknown}; available: {sorted(DEFAULT_LABELS)}")
        merged: dict[str, str | Sequence[str] | None] = {}
        for lang in languages:
            merged.update(dict.fromkeys(OTHER_LABELS.get(lang, []), ()))
        for lang in languages:
            merged.update(DEFAULT_LABELS[lang])
        merged.update(labels or {})
        self.labels: dict[tuple[str, ...], tuple[str, ...]] = {}
        for label, types in merged.items():
            key = label_key(label)
            if not key:
                raise ValueError(f"form context: label {label!r} has no letters or digits")
            if types is None:  # every spelling with the same letters ("E-mail", "Email")
                self.labels = {k: v for k, v in self.labels.items() if "".join(k) != "".join(key)}
                continue
            types = (types,) if isinstance(types, str) else tuple(types)
            if not all(isinstance(t, str) and t for t in types):
                raise ValueError(f"form context: label {label!r} needs an entity type, a list of them or []")
            self.labels[key] = types
        # labels are matched on their letters without spaces ("E-Mail" = "E Mail" = "Email")
        self._joined: dict[str, tuple[str, ...]] = {}
        self._tight_keys: set[str] = set()  # labels that may take a value after a normal space
        self._pattern_keys: set[str] = set()
        self._id_keys: set[str] = set()
        for key, types in self.labels.items():
            joined = "".join(key)
            self._joined.setdefault(joined, types)
            if types and all(t in PATTERN_TYPES for t in types):
                self._pattern_keys.add(joined)
            if types and (all(t in PATTERN_TYPES for t in types) or len(key) >= 2 or joined in _ROLE_LABELS):
                self._tight_keys.add(joined)
            if types and all(t in _ID_TYPES for t in types):
                self._id_keys.add(joined)
        self._fuzzy: dict[str, str | None] = {}  # a misread label → the label (None: ambiguous)
        if fuzzy:
            for s in self._joined:
                if len(s) < _MIN_FUZZY:
                    continue
                for k in range(len(s)):
                    for variant in (s[:k] + s[k + 1 :], s[:k] + "?" + s[k + 1 :]):
                        if variant in self._joined:
                            continue
                        old = self._fuzzy.get(variant, s)  # two labels of different types: no match
                        self._fuzzy[variant] = old if old is not None and self._joined[old] == self._joined[s] else None
        self.max_len = max((len(k) for k in self.labels), default=0) + 1
        self.score = float(score)
        self.word_gap = float(word_gap)
        self.label_gap = None if label_gap is None else float(label_gap)
        self.below = float(below)
        self.align = float(align)

    # -- labels ---------------------------------------------------------------------------

    def _misread(self, text: str) -> str | None:
        """The label that ``text`` is with one letter missing or misread (``fuzzy``)."""
        if len(text) < _MIN_FUZZY - 1:
            return None
        if text in self._fuzzy:
            return self._fuzzy[text]
        for k in range(len(text)):
            key = self._fuzzy.get(text[:k] + "?" + text[k + 1 :])
            if key is not None:
                return key
        return None

    def _generic(self, toks: Sequence[_Tok], j: int) -> str | None:
        """A label the tables do not list: up to three words ending with a colon (or making up
        the whole line) whose last word names a number or a date (``Factuurnummer:``, ``Policy
        No:``, ``Ship date:``, ``Versichertennr.``); it is added to the tables (``ID_NUMBER`` /
        ``DATE_TIME``) and its letters returned."""
        for n in range(1, min(3, len(toks) - j) + 1):
            part = toks[j : j + n]
            if not part[-1].norm:
                return None
            if not part[-1].colon and not (j == 0 and j + n == len(toks)):
                continue  # a colon, or the whole line (a card's label above its value)
            if any(self._known(toks, k) is not None for k in range(j + 1, j + n)):
                return None  # "... com Phone #:": the listed label starts later
            last = part[-1].norm
            single = n == 1 and len(last) > 6
            if _ID_WORD.fullmatch(last) and (n > 1 or single and not last.endswith(("no", "num", "id"))):
                etype = "ID_NUMBER"
            elif _DATE_WORD.fullmatch(last) and (n > 1 or single):
                etype = "DATE_TIME"
            else:
                return None
            key = "".join(t.norm for t in part)
            if key not in self._joined:
                self._joined[key] = (etype,)
                self._pattern_keys.add(key)
                self._tight_keys.add(key)
                if etype == "ID_NUMBER":
                    self._id_keys.add(key)
            return key
        return None

    def _lookup(self, toks: Sequence[_Tok], j: int) -> tuple[int, str, bool, int | None] | None:
        """The longest label starting at token ``j``: (tokens it covers, the label's letters,
        colon, glued offset); misread labels only when no label is read exactly, generic
        labels (:meth:`_generic`) only when neither is."""
        known = self._known(toks, j)
        if (_POSSESSIVE.fullmatch(toks[j].text) and (known is None or known[0] == 1) and j + 1 < len(toks)
                and self._known(toks, j + 1) is not None):
            return None  # "Employee's address": the label is the noun after the possessive ("Employer's name" is one)
        key = self._generic(toks, j) if known is None else None
        if key is None:
            return known
        n = next((k for k in range(1, 4) if j + k <= len(toks) and toks[j + k - 1].colon), len(toks) - j)
        return n, key, toks[j + n - 1].colon, toks[j + n - 1].glued

    def _known(self, toks: Sequence[_Tok], j: int) -> tuple[int, str, bool, int | None] | None:
        """The longest listed (or misread) label starting at token ``j``; see :meth:`_lookup`."""
        if not toks[j].norm:
            return None
        for exact in (True, False):
            for n in range(min(self.max_len, len(toks) - j), 0, -1):
                part = toks[j : j + n]
                if any(t.colon for t in part[:-1]) or not part[-1].norm:
                    continue
                text = "".join(t.norm for t in part)
                key = (text if text in self._joined else None) if exact else self._misread(text)
                if key is None:
                    continue
                last = part[-1]
                end, colon, glued = j + n, last.colon, last.glued
                if not colon and end < len(toks) and toks[end].text.startswith("("):
                    # a remark in brackets belongs to the label: "Date of birth (MM/DD/YYYY):"
                    close = next((k for k in range(end, min(end + 5, len(toks)))
                                  if toks[k].text.rstrip(":").endswith(")")), None)
                    if close is not None:
                        end, colon, glued = close + 1, toks[close].colon, toks[close].glued
                if not colon and end < len(toks) and toks[end].norm == "" and toks[end].colon:
                    colon, glued = True, toks[end].glued  # "Nom :" with the colon as its own word
                    end += 1
                return end - j, key, colon, glued
        return None

    def _match(self, toks: list[_Tok], line: int) -> list[_Label]:
        found, j = [], 0
        while j < len(toks):
            hit = self._lookup(toks, j)
            if hit is None:
                j += 1
                continue
            n, key, colon, glued = hit
            end = j + n
            value_pos = end - 1 if glued is not None else end
            found.append(_Label(line, j, end, value_pos, glued, colon, self._joined[key], key))
            j = end
        return found

    def _validate(self, found: list[_Label], toks: list[_Tok], gaps: list[bool]) -> None:
        in_value = False
        for lab in found:
            cell = lab.first
            while cell > 0 and not gaps[cell]:
                cell -= 1
            prefix = toks[cell : lab.first]
            cell_start = gaps[lab.first] or len(prefix) <= 3 and all(
                _BOX_NUMBER.fullmatch(t.text) or _POSSESSIVE.fullmatch(t.text) for t in prefix)
            if not cell_start and prefix and prefix[-1].text == "/":  # "Nom / Surname": a label in two languages
                other = self._known(toks, cell)
                cell_start = other is not None and cell + other[0] == lab.first - 1
            if prefix and cell_start:
                lab.lead = cell  # values below align with the box number, not the label's first word
            alone = lab.end >= len(toks) or gaps[lab.end]
            if lab.colon:  # a label of a shaped type may follow other words: its value's shape decides
                lab.valid = cell_start or in_value or lab.key in self._pattern_keys
            elif cell_start and alone:
                lab.valid = True
            elif lab.key in self._tight_keys and (lab.first == 0 or cell_start and lab.key in self._pattern_keys):
                lab.valid = lab.tight = True  # "Tel. 0123 456789", "Served by Jane": the value's shape decides
            elif (lab.key in self._id_keys and lab.end < len(toks) and not gaps[lab.end]
                  and _STRONG_ID.fullmatch(toks[lab.end].text.rstrip(".,;:)"))):
                lab.valid = lab.tight = lab.inline = True  # "Your customer number RE-539105 remains ..."
            lab.valid = lab.valid and bool(lab.entities)
            in_value = in_value or lab.valid

    # -- detection -----------------------------------------------------------------------

    def detect(self, page: PageText) -> list[Detection]:
        """Form-context detections over ``page.text`` (one per value line, or one per
        contiguous multi-line value; the lines of one value share a ``group``)."""
        if not any(self.labels.values()) or not page.lines:
            return []
        lay = _Layout(self, page)
        out: list[Detection] = []
        group = 0
        for found in lay.labels:
            for lab in found:
                if not lab.valid:
                    continue
                segments, types = self._value(lay, lab)
                dets = self._detections(page, lay, segments, types, group)
                if len(dets) > 1:
                    group += 1
                out += dets
        return out

    def fields(self, page: PageText) -> list[Field]:
        """The value areas right of the valid colon labels of a personal type whose value was not
        read (no shaped value, or one read with a mean confidence below 70; see :class:`Field`):
        up to the next valid label or word with a colon on the row (in any OCR block), or the
        page's edge (``open_end``: the OCR words end before it)."""
        if not any(self.labels.values()) or not page.lines:
            return []
        lay = _Layout(self, page)
        right_edge = max(w.box[2] for w in page.words)
        rows = [n for n, found in enumerate(lay.labels) if any(lab.valid for lab in found)]
        out = []
        for n, found in enumerate(lay.labels):
            h = lay.h[n]
            for lab in found:
                if not (lab.valid and lab.colon and lab.entities):
                    continue
                segments, _ = self._value(lay, lab)
                read = [page.words[t.word].conf for g in segments for t in lay.toks[g.line][g.first : g.end]]
                if read and statistics.mean(c if c is not None else 100.0 for c in read) >= _READ:
                    continue  # a value was read (right of the label or below it)
                x0 = lay.toks[n][lab.end - 1].x1
                row = [(m, k, t) for m in lay.row(n) for k, t in enumerate(lay.toks[m]) if t.x0 > x0 + 1]
                starts = {(m, k) for m in lay.row(n) for k in lay.stops[m]}
                printed = [(m, k, t) for m, k, t in row if (page.words[t.word].conf or 100.0) >= _PRINTED]
                x1 = min([right_edge] + [t.x0 for m, k, t in printed if t.colon or (m, k) in starts])
                words = tuple(t.word for m, k, t in row if t.x1 <= x1 + 1)
                y0, y1 = lay.band[n]
                above = [lay.band[m][1] for m in rows if lay.band[m][1] <= y0]
                below = [lay.band[m][0] for m in rows if lay.band[m][0] >= y1]
                limits = ((max(above) + y0) / 2 if above else float("-inf"),
                          (min(below) + y1) / 2 if below else float("inf"))
                if x1 - x0 > h or x1 == right_edge:
                    out.append(Field(lab.entities, (x0, y0, x1, y1), h, words, lab.key, x1 == right_edge, limits))
        return out

    def label_types(self, text: str) -> tuple[str, ...] | None:
        """The types of the first label in ``text`` (a box's label line: ``2 Patient's name``,
        ``Nom / Surname``), ``()`` for a field name that is not personal data, None for none.
        Small print that OCR garbles beyond one letter is matched on the whole line's letters
        within a quarter of their length (``STEVERNUNMER`` → ``Steuernummer``)."""
        toks = [_Tok(-1, w, label_word_key(w.split(":")[0]), ":" in w, None, 0.0, 0.0) for w in text.split()]
        for k in range(len(toks)):
            hit = self._lookup(toks, k)
            if hit is not None:
                return self._joined[hit[1]]
        letters = "".join(t.norm for t in toks if not _BOX_NUMBER.fullmatch(t.text))
        key = self._near(letters)
        return None if key is None else self._joined[key]

    def _near(self, letters: str) -> str | None:
        """The label whose letters are within ``len // 4`` edits of ``letters`` (8 letters or more)."""
        if len(letters) < 8:
            return None
        limit = len(letters) // 4
        best, best_cost = None, limit + 1
        for key in self._joined:
            if abs(len(key) - len(letters)) > limit:
                continue
            cost = _edits(letters, key, best_cost)
            if cost < best_cost:
                best, best_cost = key, cost
        return best

    def is_label(self, text: str) -> bool:
        """Whether ``text`` is a known label (of any type, or of :data:`OTHER_LABELS`), read exactly or misread."""
        key = "".join(label_word_key(w) for w in text.split())
        return bool(key) and (key in self._joined or self._misread(key) is not None)

    def _extend(self, lay: _Layout, line: int, pos: int) -> int:
        """Token position after the value that starts at ``pos`` (gap / label / line end)."""
        toks, stops, h = lay.toks[line], lay.stops[line], lay.h[line]
        end = pos + 1
        while end < len(toks) and end not in stops and toks[end].x0 - toks[end - 1].x1 <= self.word_gap * h:
            end += 1
        return end

    def _right(self, lay: _Layout, lab: _Label) -> _Segment | None:
        """The value right of the label on its row (``None``: nothing there, or a label)."""
        n, h = lab.line, lay.h[lab.line]
        toks = lay.toks[n]
        pos = lab.value_pos
        if lab.value_char is not None:
            return _Segment(n, pos, self._extend(lay, n, pos), lab.value_char)
        last = toks[lab.end - 1]
        line = n
        if pos >= len(toks):  # nothing more on this OCR line: the nearest word right of the label in its row
            best = None
            for m in lay.row(n)[1:]:
                k = next((k for k, t in enumerate(lay.toks[m]) if t.x0 >= last.x1), None)
                if k is None or k > 0 and lay.toks[m][k - 1].x1 > toks[lab.first].x0:
                    continue
                if best is None or lay.toks[m][k].x0 < lay.toks[best[0]][best[1]].x0:
                    best = (m, k)
            if best is None:
                return None
            line, pos = best
        tok = lay.toks[line][pos]
        if self.label_gap is not None and tok.x0 - last.x1 > self.label_gap * h:
            return None
        if pos in lay.stops[line] or lay.label_cell(line, pos):
            return None
        return _Segment(line, pos, self._extend(lay, line, pos))

    def _value(self, lay: _Layout, lab: _Label) -> tuple[list[_Segment], tuple[str, ...]]:
        """The value's lines (right of the label, else below it; shape-checked) and their types:
        the label's, or ``ID_NUMBER`` for one identifier-shaped word under a name or place label
        (a ``Customer`` column holding customer numbers)."""
        n, h = lab.line, lay.h[lab.line]
        ltoks = lay.toks[n][lab.first if lab.lead is None else lab.lead : lab.end]
        lx0, lx1 = ltoks[0].x0, ltoks[-1].x1
        right = self._right(lay, lab)
        if lab.inline:
            start = None if right is None else _Segment(right.line, right.first, right.first + 1)
        elif lab.tight:
            start = right
            first = "" if right is None else lay.toks[right.line][right.first].text
            if lab.entities[0] not in PATTERN_TYPES and not first[:1].isupper() and not first[:1].isdigit():
                return [], lab.entities  # "Cashier Jane", not "Account holder signs here"
        else:
            below = None
            if right is None or right.line != n or (not lab.colon and self._heads_column(lay, lab, right)):
                below = self._below(lay, n, h, lambda t: lx0 - self.align * h <= t.x0 <= lx1)
            # below: nothing right of the label, a table column header, or a word at the label's
            # height in another OCR block (another column) while the label's own block goes on below it
            start = below if right is None or below is not None and (right.line != n or not lab.colon) else right
        if start is None:
            return [], lab.entities
        types = lab.entities
        first_tok = lay.toks[start.line][start.first].text.rstrip(".,;:")
        if types[0] in ("PERSON", "ORGANIZATION", "LOCATION") and _STRONG_ID.fullmatch(first_tok):
            types = ("ID_NUMBER",)
        shaped = self._shaped(lay, start, types[0])
        if shaped is None and types[0] != "AMOUNT":  # money under any personal label is the person's amount
            shaped = self._shaped(lay, start, "AMOUNT")
            types = ("AMOUNT",) if shaped is not None else types
        if shaped is None:
            return [], types
        start = shaped
        segments = [start]
        lead = lay.toks[start.line][start.first]
        beside = lead.x0 > lx1  # the value is right of the label: continuation lines leave the label column empty
        while len(segments) < len(types):
            last = segments[-1].line
            hm = lay.h[last]
            nxt = self._below(lay, last, hm, lambda t, hm=hm: abs(t.x0 - lead.x0) <= self.align * hm)
            if nxt is None or beside and self._occupied(lay, nxt.line, lx0 - h, lead.x0 - self.align * hm):
                break
            nxt = self._shaped(lay, nxt, types[min(len(segments), len(types) - 1)])
            if nxt is None:
                break
            segments.append(nxt)
        return segments, types

    def _shaped(self, lay: _Layout, seg: _Segment, etype: str) -> _Segment | None:
        """``seg`` cut to the tokens that have the shape of ``etype``; ``None`` when none do."""
        if seg.start is None:  # drop leading dashes and rules the OCR engine read ("— C-3802625")
            first = next((k for k in range(seg.first, seg.end) if any(c.isalnum() for c in lay.toks[seg.line][k].text)
                          or etype == "AMOUNT" and _CURRENCY.fullmatch(lay.toks[seg.line][k].text)), seg.end)
            if first == seg.end:
                return None
            seg = _Segment(seg.line, first, seg.end)
        toks = lay.toks[seg.line][seg.first : seg.end]
        texts = [t.text for t in toks]
        if seg.start is not None:  # a value glued after the label's colon
            texts[0] = lay.page.text[seg.start : lay.page.spans[toks[0].word][1]]  # type: ignore[index]
        keep = shape_end(etype, texts)
        if keep == 0:
            return None
        return _Segment(seg.line, seg.first, seg.first + keep, seg.start)

    def _occupied(self, lay: _Layout, line: int, x0: float, x1: float) -> bool:
        """Whether the row of ``line`` has a word starting in ``[x0, x1)`` (a label column entry)."""
        return any(x0 <= t.x0 < x1 for m in lay.row(line) for t in lay.toks[m])

    def _heads_column(self, lay: _Layout, lab: _Label, right: _Segment) -> bool:
        """A label without colon heads a table column: no other label is left-aligned with it
        nearby (a label column), and the row below has a cell under it and another cell under
        its right neighbour."""
        n, h = lab.line, lay.h[lab.line]
        lx0 = lay.toks[n][lab.first if lab.lead is None else lab.lead].x0
        lx1 = lay.toks[n][lab.end - 1].x1
        y0 = lay.band[n][0]
        for m in range(lay.n):
            if m == n or abs(lay.band[m][0] - y0) > 6 * h:
                continue
            for k, t in enumerate(lay.toks[m]):
                if lay.gap_before[m][k] and abs(t.x0 - lx0) <= self.align * h and lay.label_cell(m, k):
                    return False
        under = self._below(lay, n, h, lambda t: lx0 - self.align * h <= t.x0 <= lx1)
        if under is None:
            return False
        rtoks = lay.toks[right.line][right.first : right.end]
        rx0, rx1 = rtoks[0].x0, rtoks[-1].x1
        under_x1 = lay.toks[under.line][lay.cell_end(under.line, under.first) - 1].x1
        return any(
            lay.gap_before[m][k] and t.x0 > under_x1 and t.x0 <= rx1 and t.x1 >= rx0
            for m in lay.row(under.line) for k, t in enumerate(lay.toks[m])
        )

    def _below(self, lay: _Layout, line: int, h: float, starts) -> _Segment | None:
        """The nearest line below ``line`` (its top within ``below`` × ``h`` of the bottom of
        ``line``) with a cell start accepted by ``starts``, as a segment; ``None`` when there
        is none or that cell is a label."""
        y0, y1 = lay.band[line]
        candidates = [  # the gap counts in the larger text's lines (labels are often smaller than values)
            m for m, (b0, _) in enumerate(lay.band)
            if b0 >= y1 - 0.3 * h and b0 > y0 + 0.5 * h and b0 - y1 <= self.below * max(h, lay.h[m])
        ]
        for m in sorted(candidates, key=lambda m: lay.band[m][0]):
            pos = next((k for k, t in enumerate(lay.toks[m]) if lay.gap_before[m][k] and starts(t)), None)
            if pos is None:
                continue
            if pos in lay.stops[m] or lay.label_cell(m, pos):
                return None
            return _Segment(m, pos, self._extend(lay, m, pos))
        return None

    def _detections(self, page: PageText, lay: _Layout, segments: list[_Segment], entities, group: int
                    ) -> list[Detection]:
        spans = []
        for k, seg in enumerate(segments):
            words = [t.word for t in lay.toks[seg.line][seg.first : seg.end]]
            start = seg.start if seg.start is not None else page.spans[words[0]][0]  # type: ignore[index]
            start, end = trim_span(page.text, start, page.spans[words[-1]][1])  # type: ignore[index]
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


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop surrounding whitespace and separators (``,;:|``) from a value span."""
    while start < end and (text[start].isspace() or text[start] in ",;:|"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:|"):
        end -= 1
    return start, end
