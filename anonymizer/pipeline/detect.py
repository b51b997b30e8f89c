"""PII detection over a page's OCR text with Presidio, form context and allow/deny lists.

:class:`PiiDetector` runs, over a :class:`~anonymizer.pipeline.page_text.PageText`:

* Presidio's pattern recognizers (email, phone, credit card, IBAN, IP, URL, dates,
  US SSN/ITIN/passport/driver licence/bank numbers, UK NHS and the national-ID
  recognizers listed in ``extra_recognizers``). They need no model: Presidio gets a blank
  spaCy pipeline (tokenizer + lower-case lemmas for its context words) that is saved once
  under ``cache_dir`` and loaded from there; nothing is downloaded. Phone numbers are
  read in the national formats of :data:`DEFAULT_PHONE_REGIONS`; a phone match that is
  part of a longer number or holds a money amount (``590.63``, table columns) is dropped;
  IBANs and card numbers (checksummed) are also found across a line break;
* US social security numbers by their shape (``SsnShapeRecognizer``): demo
  and test numbers (``123-45-6789``) and masked ones (``XXX-XX-1234``) too;
* e-mail addresses that OCR split (``SpacedEmailRecognizer``:
  ``maria.lopez @ example.net``, ``jo@ example net``), which Presidio's recognizer misses;
* written dates (``WrittenDateRecognizer``): ``1 June 2016``,
  ``June 1, 2016``, ``1st of June 2016``, ``Jun 1 2016``, ``01-Jun-2016``, ``1. Juni 2016``,
  ``1 juin 2016``, ``1er juin 2016``, ``25 mei 2015``, month names and abbreviations in
  English, German, French, Dutch, Spanish, Italian and Portuguese
  (:mod:`anonymizer.core.months`), also broken over two lines;
* NER for PERSON / LOCATION / ORGANIZATION when the configured model is installed
  (``nlp: {engine: spacy, model: en_core_web_lg}`` or ``{engine: transformers, model:
  <hub id or folder>}``). A missing model gives one warning and detection goes on;
* :class:`~anonymizer.pipeline.form_context.FormContext`: values beside form labels;
* deny-list recognizers (``{"PERSON": ["Jane Doe"]}``, whitespace-tolerant, case-insensitive);
* on pay slips, bank statements, tax returns and claims (:mod:`anonymizer.pipeline.money`),
  every amount with two decimals;
* on driving licences and ID cards, the numbered fields (:mod:`anonymizer.pipeline.id_documents`).
* the layout-aware PII tagger (:mod:`anonymizer.pipeline.tagger`, ``tagger``; the one shipped
  in the package is the pipeline config's default): every span it tags becomes a detection with its probability
  as score, except field labels (``KEY``, and words the form context reads as a label),
  spans below ``tagger_min_score``, amounts outside money documents (as above), and card
  numbers / IBANs whose checksum fails, unless a label beside them says they are one.

The tables are data in ``anonymizer/conf/recognizers/``: the SSN-shape, spaced e-mail and
written-date recognizers in ``patterns.yaml`` (Presidio's recognizer format), the entity map,
extra recognizers and phone regions in ``presidio.yaml``, the month names in ``months.yaml``.

Presidio's types are mapped into the project's vocabulary (:data:`DEFAULT_ENTITY_MAP`:
country-specific identity numbers → ``NATIONAL_ID``, other identifiers → ``ID_NUMBER``).
Overlaps are resolved: spans of one type that overlap are merged; between types the
higher score (then the longer span) keeps the characters and the other detection keeps
what is left of it, if that has a letter or digit.

Privacy: Presidio logs matched text in some records (the context words at DEBUG, the
IBAN candidate on a validation error). Its loggers get a filter that drops records below
WARNING and strips the arguments of the others; this module logs counts and types only.
``tldextract`` (used by the email recognizer) is switched to its bundled public-suffix
snapshot, so it never reaches for the network.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from anonymizer.core.months import month_words
from anonymizer.core.records import Word
from anonymizer.core.tables import entry, load_table, mapping, number, strings
from anonymizer.core.tables import fail as table_fail
from anonymizer.pipeline.address_blocks import AddressBlocks
from anonymizer.pipeline.box_fields import BoxFields
from anonymizer.pipeline.field_ink import FieldInk, InkRegion, merge_regions
from anonymizer.pipeline.form_context import FormContext, trim_span
from anonymizer.pipeline.id_documents import licence_fields
from anonymizer.pipeline.money import amounts as money_amounts
from anonymizer.pipeline.money import money_document
from anonymizer.pipeline.names import recognizers as name_recognizers
from anonymizer.pipeline.names import repeated_names
from anonymizer.pipeline.page_text import Detection, PageText, build_page_text
from anonymizer.pipeline.scope import POLICIES, business_detections
from anonymizer.pipeline.tagger import PiiTagger, tagger_detections

log = logging.getLogger(__name__)

__all__ = ["Detection", "PiiDetector", "DEFAULT_ENTITY_MAP", "resolve_overlaps", "silence_presidio_logs"]



def _presidio_table() -> tuple[dict[str, str], tuple[str, ...], tuple[str, ...]]:
    """``entity_map``, ``extra_recognizers`` and ``phone_regions`` of ``recognizers/presidio.yaml``."""
    table = load_table("presidio")
    entity_map: dict[str, str] = {}
    for target, sources in mapping("presidio", "entity_map", entry("presidio", table, "entity_map")).items():
        entity_map.update(dict.fromkeys(strings("presidio", f"entity_map.{target}", sources), target))
    extra = strings("presidio", "extra_recognizers", entry("presidio", table, "extra_recognizers"), non_empty=False)
    regions = strings("presidio", "phone_regions", entry("presidio", table, "phone_regions"), non_empty=False)
    return entity_map, tuple(extra), tuple(regions)


#: Presidio entity type → project entity type (types not listed are kept as they are);
#: :data:`DEFAULT_EXTRA_RECOGNIZERS`: national-ID recognizers Presidio ships for English but
#: leaves disabled, enabled here; :data:`DEFAULT_PHONE_REGIONS`: regions whose national phone
#: formats Presidio's phone recognizer accepts (its defaults name "UK", which libphonenumber
#: does not know, and miss France). All three from ``anonymizer/conf/recognizers/presidio.yaml``.
DEFAULT_ENTITY_MAP, DEFAULT_EXTRA_RECOGNIZERS, DEFAULT_PHONE_REGIONS = _presidio_table()

DEFAULT_NLP = {"engine": "spacy", "model": "en_core_web_lg"}
_NER_LABELS = {"PER": "PERSON", "PERSON": "PERSON", "LOC": "LOCATION", "LOCATION": "LOCATION", "GPE": "LOCATION",
               "ORG": "ORGANIZATION", "ORGANIZATION": "ORGANIZATION", "DATE": "DATE_TIME", "TIME": "DATE_TIME"}
#: Types whose recognizer match inside a form value replaces the (coarser) form value.
_PATTERN_TYPES = frozenset(
    {"EMAIL_ADDRESS", "PHONE_NUMBER", "DATE_TIME", "IBAN_CODE", "CREDIT_CARD", "US_SSN", "IP_ADDRESS", "URL",
     "NATIONAL_ID"}
)



@dataclasses.dataclass(frozen=True)
class PatternSpec:
    """A pattern recognizer of ``recognizers/patterns.yaml``: its name, the entity type it
    finds and its patterns ``(name, regex, score)`` with the regexes' parts filled in."""

    name: str
    entity: str
    patterns: tuple[tuple[str, str, float], ...]


def _pattern_specs() -> tuple[PatternSpec, ...]:
    """The recognizers of ``recognizers/patterns.yaml``, each regex checked to compile."""
    month = "(?:" + "|".join(sorted({re.escape(m) for m in month_words()}, key=lambda m: (-len(m), m))) + r")\.?"
    specs = []
    recognizers = entry("patterns", load_table("patterns"), "recognizers")
    if not isinstance(recognizers, list) or not recognizers:
        raise table_fail("patterns", "recognizers", "a list of recognizers")
    for k, rec in enumerate(recognizers):
        where = f"recognizers[{k}]"
        rec = mapping("patterns", where, rec)
        name, entity = (entry("patterns", rec, key) for key in ("name", "supported_entity"))
        if not (isinstance(name, str) and name and isinstance(entity, str) and entity):
            raise table_fail("patterns", where, "a recognizer with a name and a supported_entity")
        parts = {"month": month, **mapping("patterns", f"{where}.parts", rec.get("parts", {}))}
        raw = entry("patterns", rec, "patterns")
        if not isinstance(raw, list) or not raw:
            raise table_fail("patterns", f"{where}.patterns", "a list of patterns (name, regex, score)")
        patterns = []
        for j, pat in enumerate(raw):
            at = f"{where}.patterns[{j}]"
            pat = mapping("patterns", at, pat)
            pname, regex = pat.get("name"), pat.get("regex")
            if not (isinstance(pname, str) and pname and isinstance(regex, str) and regex):
                raise table_fail("patterns", at, "a pattern with a name and a regex")

            def part(m: re.Match[str], at: str = at, parts: dict[str, Any] = parts) -> str:
                if m.group(1) not in parts:
                    raise table_fail("patterns", f"{at}.regex",
                                     f"a regex whose parts are defined ({{{m.group(1)}}} is not)")
                return str(parts[m.group(1)])

            regex = re.sub(r"\{([A-Za-z_]\w*)\}", part, regex)
            try:
                re.compile(regex)
            except re.error as err:
                raise table_fail("patterns", f"{at}.regex", f"a valid regular expression ({err})") from None
            patterns.append((pname, regex, number("patterns", f"{at}.score", entry("patterns", pat, "score"))))
        specs.append(PatternSpec(name, entity, tuple(patterns)))
    return tuple(specs)


#: The pattern recognizers added to Presidio's (``anonymizer/conf/recognizers/patterns.yaml``):
#: US social security numbers by their shape, e-mail addresses that OCR split, written dates.
PATTERN_RECOGNIZERS = _pattern_specs()
REPEAT_SCORE = 0.5  # a detected person's name found again on the page
#: Checksummed types also looked for across line breaks (the checksum keeps that safe).
_WRAPPING_TYPES = ("IBAN_CODE", "CREDIT_CARD")
#: Regions whose national phone formats Presidio's phone recognizer accepts (its defaults
#: name "UK", which libphonenumber does not know, and miss France).
DEFAULT_PHONE_REGIONS = ("US", "GB", "DE", "FR", "AT", "CH", "BE", "NL", "IE", "CA", "IL", "IN", "BR")
_LEMMA_PIPE = "anonymizer_lower_lemma"
_PRESIDIO_LOGGERS = ("presidio-analyzer", "decision_process")
_PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[sdifgGeExXorcau%]")


# -- Presidio / spaCy / tldextract set-up ------------------------------------------------


class _PresidioLogFilter(logging.Filter):
    """Drops Presidio's DEBUG/INFO records (some carry document text) and strips the
    arguments, tracebacks and stack of the others; while ``quiet`` (set-up), all but errors."""

    quiet = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < (logging.ERROR if self.quiet else logging.WARNING):
            return False
        if record.args:
            record.msg = _PLACEHOLDER.sub("<redacted>", str(record.msg))
            record.args = None
        record.exc_info = record.exc_text = record.stack_info = None
        return True


_LOG_FILTER = _PresidioLogFilter()


def silence_presidio_logs() -> None:
    """Attach the privacy filter to Presidio's loggers (idempotent)."""
    for name in _PRESIDIO_LOGGERS:
        logger = logging.getLogger(name)
        if _LOG_FILTER not in logger.filters:
            logger.addFilter(_LOG_FILTER)


@contextlib.contextmanager
def _quiet_presidio() -> Iterator[None]:
    _LOG_FILTER.quiet += 1
    try:
        yield
    finally:
        _LOG_FILTER.quiet -= 1


def offline_tldextract() -> None:
    """Make ``tldextract.extract`` use the bundled public-suffix snapshot (no download, no cache writes)."""
    import tldextract.tldextract as tx

    if getattr(tx.TLD_EXTRACTOR, "_anonymizer_offline", False):
        return
    extractor = tx.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)
    extractor._anonymizer_offline = True  # type: ignore[attr-defined]
    tx.TLD_EXTRACTOR = extractor


def _register_lemma_pipe() -> None:
    """A spaCy component that sets lemma = lower-case form (Presidio's context words
    are matched on lemmas; a blank pipeline has none)."""
    from spacy.language import Language

    if Language.has_factory(_LEMMA_PIPE):
        return

    def lower_lemma(doc):
        for token in doc:
            token.lemma_ = token.lower_
        return doc

    Language.component(_LEMMA_PIPE, func=lower_lemma)


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/anonymizer`` (``~/.cache/anonymizer``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "anonymizer"


def blank_pipeline(language: str = "en", cache_dir: str | Path | None = None) -> Path:
    """Folder of a saved blank spaCy pipeline for ``language`` (tokenizer + lower-case
    lemmas), written once, atomically; falls back to the temp folder when ``cache_dir``
    is not writable."""
    import spacy

    _register_lemma_pipe()
    name = f"spacy-blank-{language}-{spacy.__version__}-lemma1"
    roots = [Path(cache_dir) if cache_dir else default_cache_dir(), Path(tempfile.gettempdir()) / "anonymizer"]
    for root in roots:
        target = root / name
        if (target / "config.cfg").is_file():
            return target
        try:
            root.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
        except OSError:
            continue
        try:
            nlp = spacy.blank(language)
            nlp.add_pipe(_LEMMA_PIPE)
            nlp.to_disk(tmp)
            os.replace(tmp, target)
        except OSError:
            if not (target / "config.cfg").is_file():
                shutil.rmtree(tmp, ignore_errors=True)
                continue
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return target
    raise OSError(f"could not write a blank spaCy pipeline under {[str(r) for r in roots]}")


def _hf_local(model: str) -> str | None:
    """A local folder for a transformers model: the path itself, or the hub cache's snapshot."""
    if Path(model).expanduser().is_dir():
        return str(Path(model).expanduser())
    try:
        from huggingface_hub import snapshot_download

        return snapshot_download(repo_id=model, local_files_only=True)
    except (ImportError, OSError, ValueError):  # not installed, not cached (LocalEntryNotFoundError), bad repo id
        return None


# -- the detector ------------------------------------------------------------------------


class PiiDetector:
    """Finds PII spans in a page's OCR text; see the module docstring.

    Args:
        entities: entity types to report (project or Presidio names); ``None``: all.
            Deny-list matches are reported whatever this says.
        score_threshold: detections scoring lower are dropped (Presidio's phone numbers
            score 0.4 without a context word, 0.75 with one; form context ``0.65``).
        allow_list: values never reported (a detection whose whole text is one of them,
            case-insensitive, and the detections inside it).
        deny_list: ``{entity type: [values]}`` always reported with score 1.0.
        language: Presidio language code.
        nlp: ``{"engine": "spacy" | "transformers" | "none", "model": name or folder}``;
            ``None``: spaCy ``en_core_web_lg`` if installed. Transformers models also take
            ``device`` (``"cpu"``, ``"cuda"``, ``None`` = auto).
        form_context: ``True``/``None`` (defaults), ``False`` (off) or the keyword
            arguments of :class:`FormContext`.
        entity_map: Presidio type → project type (``None`` values drop the type); replaces
            :data:`DEFAULT_ENTITY_MAP` when given.
        extra_recognizers: class names of Presidio predefined recognizers to add to its
            defaults (:data:`DEFAULT_EXTRA_RECOGNIZERS` when ``None``).
        cache_dir: where the blank spaCy pipeline is saved (default ``~/.cache/anonymizer``).
        phone_regions: regions (ISO 3166 codes) whose national phone formats are recognized
            (:data:`DEFAULT_PHONE_REGIONS` when ``None``; ``[]`` keeps Presidio's own list).
        names: recognise people, organisations and places without NER
            (:mod:`anonymizer.pipeline.names`: given-name gazetteer, legal forms, residence cues).
        address_blocks: ``True`` (defaults), ``False`` (off) or the keyword arguments of
            :class:`~anonymizer.pipeline.address_blocks.AddressBlocks` (postal address blocks).
        field_ink: ``True`` (defaults), ``False`` (off) or the keyword arguments of
            :class:`~anonymizer.pipeline.field_ink.FieldInk`: values written into labelled
            fields that OCR cannot read (handwriting); needs ``form_context``.
        box_fields: read the labelled boxes of ruled forms (:mod:`anonymizer.pipeline.box_fields`);
            needs ``form_context``.
        policy: ``personal`` (everything about a person; the issuer's own letterhead, footer,
            registry and bank numbers are kept) or ``all`` (those too); see
            :mod:`anonymizer.pipeline.scope`.
        tagger: the PII tagger: ``shipped`` (the package's; the default of ``detect.tagger`` in
            ``conf/pipeline.yaml``, so of the commands and ``DocumentAnonymizer.from_config``), a
            folder or store URL of a ``pii_tagger`` export, or ``None`` (off: the rules alone).
        tagger_min_score: tagger spans whose mean tag probability is lower are dropped.
    """

    def __init__(
        self,
        entities: Sequence[str] | None = None,
        score_threshold: float = 0.35,
        allow_list: Sequence[str] | None = None,
        deny_list: Mapping[str, Sequence[str]] | None = None,
        language: str = "en",
        nlp: Mapping[str, Any] | None = None,
        form_context: bool | Mapping[str, Any] | None = True,
        entity_map: Mapping[str, str | None] | None = None,
        extra_recognizers: Sequence[str] | None = None,
        cache_dir: str | None = None,
        phone_regions: Sequence[str] | None = None,
        names: bool = True,
        address_blocks: bool | Mapping[str, Any] = True,
        field_ink: bool | Mapping[str, Any] = True,
        box_fields: bool = True,
        policy: str = "personal",
        tagger: str | Path | None = None,
        tagger_min_score: float = 0.8,
    ) -> None:
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {list(POLICIES)}, got {policy!r}")
        self.policy = policy
        self.language = language
        self.names = bool(names)
        self.phone_regions = tuple(DEFAULT_PHONE_REGIONS if phone_regions is None else phone_regions)
        self.score_threshold = float(score_threshold)
        self.entities = None if entities is None else {str(e) for e in entities}
        self.allow = {" ".join(str(v).split()).casefold() for v in (allow_list or [])}
        self.deny_list = {str(t): [str(v) for v in vals] for t, vals in (deny_list or {}).items()}
        self.entity_map = dict(DEFAULT_ENTITY_MAP if entity_map is None else entity_map)
        if form_context is None or form_context is True:
            self.form: FormContext | None = FormContext()
        elif form_context is False:
            self.form = None
        else:
            self.form = FormContext(**dict(form_context))
        if field_ink is True:
            self.field_ink: FieldInk | None = FieldInk()
        else:
            self.field_ink = FieldInk(**dict(field_ink)) if field_ink else None
        self.box_fields = BoxFields(self.form) if box_fields and self.form is not None else None
        labels = None if self.form is None else self.form.is_label
        if address_blocks is True:
            self.blocks: AddressBlocks | None = AddressBlocks(is_label=labels)
        else:
            self.blocks = AddressBlocks(**dict(address_blocks), is_label=labels) if address_blocks else None
        nlp = dict(DEFAULT_NLP if nlp is None else nlp)
        engine = str(nlp.get("engine") or "none").lower()
        if engine not in ("spacy", "transformers", "none"):
            raise ValueError(f"nlp.engine must be 'spacy', 'transformers' or 'none', got {engine!r}")
        self.tagger = PiiTagger.load(tagger) if tagger not in (None, "", "null", "none") else None
        self.tagger_min_score = float(tagger_min_score)
        silence_presidio_logs()
        offline_tldextract()
        with _quiet_presidio():
            self._build(engine, nlp, extra_recognizers, cache_dir)
        self._raw_types = set(self.analyzer.get_supported_entities(language=language))

    def _build(self, engine: str, nlp: dict[str, Any], extra: Sequence[str] | None, cache_dir: str | None) -> None:
        import spacy
        from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry
        from presidio_analyzer import predefined_recognizers as predefined
        from presidio_analyzer.nlp_engine import SpacyNlpEngine

        model = str(nlp.get("model") or "")
        self.ner_model: str | None = None
        spacy_model = str(blank_pipeline(self.language, cache_dir))
        hf_path = None
        if engine == "spacy" and model:
            local = Path(model).expanduser()
            if local.exists() or spacy.util.is_package(model):
                spacy_model, self.ner_model = (str(local) if local.exists() else model), f"spacy:{model}"
            else:
                log.warning(
                    "NER model %r (spaCy) is not installed: PERSON/LOCATION/ORGANIZATION come only from form "
                    "context and the deny list. Install it with `python -m spacy download %s` or set nlp.engine=none.",
                    model, model,
                )
        elif engine == "transformers" and model:
            hf_path = _hf_local(model)
            if hf_path is None:
                log.warning(
                    "NER model %r (transformers) is not available locally: PERSON/LOCATION/ORGANIZATION come only "
                    "from form context and the deny list. Download it with `huggingface-cli download %s` or set "
                    "nlp.model to a local folder.",
                    model, model,
                )
            else:
                self.ner_model = f"transformers:{model}"
        elif engine != "none":
            raise ValueError(f"nlp.model is required for nlp.engine={engine!r}")
        nlp_engine = SpacyNlpEngine(models=[{"lang_code": self.language, "model_name": spacy_model}])
        try:
            nlp_engine.load()
        except (OSError, ValueError) as err:
            raise ValueError(
                f"nlp.model {model!r}: could not load it as a spaCy pipeline ({type(err).__name__})"
            ) from None
        registry = RecognizerRegistry(supported_languages=[self.language])
        registry.load_predefined_recognizers(languages=[self.language], nlp_engine=nlp_engine)
        if self.phone_regions:
            registry.remove_recognizer("PhoneRecognizer")
            registry.add_recognizer(
                predefined.PhoneRecognizer(supported_language=self.language, supported_regions=self.phone_regions)
            )
        for name in DEFAULT_EXTRA_RECOGNIZERS if extra is None else extra:
            cls = getattr(predefined, name, None)
            if cls is None:
                raise ValueError(f"extra_recognizers: Presidio has no predefined recognizer {name!r}")
            if not any(type(r) is cls for r in registry.recognizers):
                registry.add_recognizer(cls(supported_language=self.language))
        if hf_path is not None:
            from presidio_analyzer.predefined_recognizers import HuggingFaceNerRecognizer

            from anonymizer.pipeline.presidio_import import enable_transformers

            enable_transformers()

            registry.add_recognizer(
                HuggingFaceNerRecognizer(
                    model_name=hf_path, supported_language=self.language, label_mapping=dict(_NER_LABELS),
                    device=nlp.get("device"),
                )
            )
        if self.names:
            for recognizer in name_recognizers(self.language):
                registry.add_recognizer(recognizer)
        for spec in PATTERN_RECOGNIZERS:
            registry.add_recognizer(
                PatternRecognizer(supported_entity=spec.entity, name=spec.name, supported_language=self.language,
                                  patterns=[Pattern(name=n, regex=rx, score=sc) for n, rx, sc in spec.patterns])
            )
        for etype, values in self.deny_list.items():
            regexes = [r"(?<!\w)" + r"\s+".join(map(re.escape, v.split())) + r"(?!\w)" for v in values if v.split()]
            patterns = [Pattern(name="deny_list", regex=rx, score=1.0) for rx in regexes]
            if patterns:
                registry.add_recognizer(
                    PatternRecognizer(supported_entity=etype, patterns=patterns, name=f"deny_list:{etype}",
                                      supported_language=self.language)
                )
        self.analyzer = AnalyzerEngine(nlp_engine=nlp_engine, registry=registry, supported_languages=[self.language])

    # -- running -------------------------------------------------------------------------

    def _wanted(self, raw: str, mapped: str | None) -> bool:
        return mapped is not None and (self.entities is None or raw in self.entities or mapped in self.entities)

    def detect(self, page: PageText) -> list[Detection]:
        """Detections over ``page.text``, overlaps resolved, sorted by position."""
        if not page.text.strip():
            return []
        return self._finish(page, self._candidates(page))

    def _candidates(self, page: PageText) -> list[Detection]:
        """Every recognizer's detections over ``page.text`` (overlapping, unfiltered)."""
        text = page.text
        raw = sorted(t for t in self._raw_types if t in self.deny_list or self._wanted(t, self.entity_map.get(t, t)))
        found: list[Detection] = []
        if raw:
            results = self.analyzer.analyze(
                text=text, language=self.language, entities=raw, score_threshold=self.score_threshold
            )
            wrapped = [t for t in raw if t in _WRAPPING_TYPES]
            if wrapped and "\n" in text:  # IBANs and card numbers broken over two lines of running text
                flat = self.analyzer.analyze(
                    text=text.replace("\n", " "), language=self.language, entities=wrapped,
                    score_threshold=self.score_threshold,
                )
                results = list(results) + [r for r in flat if "\n" in text[r.start : r.end]]
            for r in results:
                mapped = self.entity_map.get(r.entity_type, r.entity_type)
                source = str((r.recognition_metadata or {}).get("recognizer_name") or "presidio")
                deny = source.startswith("deny_list:")
                if r.end <= r.start or not (deny or self._wanted(r.entity_type, mapped)):
                    continue
                etype = r.entity_type if deny else mapped
                if etype == "PHONE_NUMBER" and not deny and not _plausible_phone(text, r.start, r.end):
                    continue
                found.append(Detection(etype, r.start, r.end, float(r.score), "deny_list" if deny else source))
        if self.form is not None:
            found += [
                f for f in self.form.detect(page)
                if self._wanted(f.entity_type, f.entity_type) and not (
                    f.entity_type in _PATTERN_TYPES
                    and any(d.entity_type == f.entity_type and d.start < f.end and f.start < d.end for d in found)
                )
            ]
        if self.blocks is not None:
            found += [b for b in self.blocks.detect(page) if self._wanted(b.entity_type, b.entity_type)]
        if self._wanted("AMOUNT", "AMOUNT") and money_document(text):  # pay slips, statements, tax forms
            found += money_amounts(text)
        found += [d for d in licence_fields(page) if self._wanted(d.entity_type, d.entity_type)]
        if self.tagger is not None:
            found += [d for d in tagger_detections(self.tagger, page, found, self.form, self.tagger_min_score,
                                                   amounts=money_document(text))
                      if self._wanted(d.entity_type, d.entity_type)]
        return found

    def _finish(self, page: PageText, found: list[Detection]) -> list[Detection]:
        """``found`` above the score threshold, without allowed values, overlaps resolved, the
        policy applied; sorted by position."""
        text = page.text
        found = [d for d in found if d.score >= self.score_threshold]
        allowed = [d for d in found if " ".join(text[d.start : d.end].split()).casefold() in self.allow]
        found = [d for d in found if not any(a.start <= d.start and d.end <= a.end for a in allowed)]
        out = resolve_overlaps(found, text)
        if self.names:  # the family name of a person found once, elsewhere on the page
            again = [Detection(t, a, b, REPEAT_SCORE, "repeated_name") for a, b, t in repeated_names(text, out)
                     if self._wanted(t, t)]
            out = resolve_overlaps(out + again, text) if again else out
        if self.policy == "personal":
            business = business_detections(page, out)
            out = [d for k, d in enumerate(out) if k not in business]
        if out:
            log.debug("detected %d spans: %s", len(out), dict(Counter(d.entity_type for d in out)))
        return out

    def detect_words(self, words: Sequence[Word]) -> tuple[PageText, list[Detection]]:
        """Build the page text of ``words`` and detect in it."""
        page = build_page_text(words)
        return page, self.detect(page)

    def detect_page(self, image: Image.Image, words: Sequence[Word]
                    ) -> tuple[PageText, list[Detection], list[InkRegion]]:
        """:meth:`detect_words` with what the page image adds: the fields of ruled boxes
        (:class:`~anonymizer.pipeline.box_fields.BoxFields`) and the unread values of labelled
        fields (:class:`~anonymizer.pipeline.field_ink.FieldInk`): ``(page, detections, regions)``."""
        page = build_page_text(words)
        if not page.text.strip():
            return page, [], []
        found, regions = self._candidates(page), []
        if self.box_fields is not None:
            boxed, regions, form = self.box_fields.detect(image, page)
            if form is not None:  # box labels stay; a value stays in its box
                found = [c for c in (form.confine(page, d) for d in found) if c is not None]
            found += [d for d in boxed if self._wanted(d.entity_type, d.entity_type)]
            regions = [r for r in regions if self._wanted(r.entity_type, r.entity_type)]
        detections = self._finish(page, found)
        if self.field_ink is not None and self.form is not None:
            fields = [f for f in self.form.fields(page) if self._wanted(f.entities[0], f.entities[0])]
            detections, more = self.field_ink.detect(image, page, fields, detections)
            regions += more
        detections, regions = merge_regions(page, detections, regions)
        if regions:
            log.debug("unread field values: %s", dict(Counter(r.entity_type for r in regions)))
        return page, detections, regions


_MONEY = re.compile(r"[-+]?\d{1,3}(?:[.,' ]\d{3})*[.,]\d{2}[€$£]?")


def _plausible_phone(text: str, start: int, end: int) -> bool:
    """False for a phone-number match that is a piece of a longer number (it starts or ends
    inside a word of digits: ``16 86`` in ``86,16 86,16``) or that holds a money amount
    (``590.63``): table columns of prices read as a phone number."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    if before.isalnum() or before in ".," and start > 1 and text[start - 2].isdigit():
        return False
    if after.isalnum() or after in ".," and end + 1 < len(text) and text[end + 1].isdigit():
        return False
    return not any(_MONEY.fullmatch(tok.strip(",;:")) for tok in text[start:end].split())


def resolve_overlaps(detections: Sequence[Detection], text: str) -> list[Detection]:
    """Merge overlapping spans of one type (highest score kept), then give contested
    characters to the higher score (then the longer span); a losing detection keeps its
    uncontested pieces that hold a letter or digit. Sorted by ``(start, end)``."""
    merged: list[Detection] = []
    for d in sorted(detections, key=lambda d: (d.entity_type, d.start, -d.end)):
        last = merged[-1] if merged else None
        if last is not None and last.entity_type == d.entity_type and d.start < last.end:
            best = last if last.score >= d.score else d
            merged[-1] = dataclasses.replace(best, start=last.start, end=max(last.end, d.end))
        else:
            merged.append(d)
    taken: list[tuple[int, int]] = []
    out: list[Detection] = []
    for d in sorted(merged, key=lambda d: (-d.score, -(d.end - d.start), d.start, d.entity_type)):
        pieces = [(d.start, d.end)]
        for a, b in taken:
            pieces = [p for s, e in pieces for p in ((s, min(e, a)), (max(s, b), e)) if p[1] > p[0]]
        for s, e in pieces:
            s, e = trim_span(text, s, e)
            if e > s and any(c.isalnum() for c in text[s:e]):
                out.append(dataclasses.replace(d, start=s, end=e))
        taken.append((d.start, d.end))
    return sorted(out, key=lambda d: (d.start, d.end))
