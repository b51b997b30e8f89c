"""Tiny fixture datasets in each reader's published layout, with real images.

Every ``build_*(root)`` writes a few pages under ``root`` and returns the folder to pass
to the reader (``anonymizer.data.readers.READERS[name]``). Images are at least 256×256;
each word is drawn (black on white, Pillow's bundled font) stretched to exactly fill its
box, so the annotations match the pixels and the records can train models. The layouts
and all words are the module-level specs below, so tests can compare against them. The
words are made-up tokens that appear nowhere else (the privacy tests search for them).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from anonymizer.core.geometry import IntBox

WordSpec = tuple[str, IntBox]

# ---------------------------------------------------------------------------- drawing


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def draw_word(image: Image.Image, text: str, box: Sequence[int]) -> None:
    """Draw ``text`` in black stretched to fill ``box`` = ``(x0, y0, x1, y1)``."""
    x0, y0, x1, y1 = (int(v) for v in box)
    font = _font(max(8, y1 - y0))
    left, top, right, bottom = font.getbbox(text)
    tile = Image.new("L", (max(1, right - left), max(1, bottom - top)), 255)
    ImageDraw.Draw(tile).text((-left, -top), text, font=font, fill=0)
    image.paste(tile.resize((x1 - x0, y1 - y0), Image.Resampling.BILINEAR).convert("RGB"), (x0, y0))


def page_image(size: tuple[int, int], words: Sequence[WordSpec]) -> Image.Image:
    """A white RGB page of ``size`` with ``words`` drawn at their boxes."""
    image = Image.new("RGB", size, (255, 255, 255))
    for text, box in words:
        draw_word(image, text, box)
    return image


def _union(boxes: Sequence[IntBox]) -> list[int]:
    return [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


# ---------------------------------------------------------------------------- FUNSD / XFUND

# An entry: (id, label, words, linking).
FormEntry = tuple[int, str, list[WordSpec], list[list[int]]]

FUNSD_PAGES: dict[tuple[str, str], tuple[tuple[int, int], list[FormEntry]]] = {
    ("train", "0000971160"): (
        (320, 300),
        [
            (0, "header", [("Quorvane", (40, 16, 150, 38)), ("Registrel", (160, 16, 280, 38))], []),
            (1, "question", [("Tellumar:", (20, 70, 110, 88))], [[1, 2]]),
            (2, "answer", [("Ostravel", (120, 70, 210, 88)), ("Penwickor", (215, 70, 300, 88))], [[1, 2]]),
            (3, "question", [("Brisolde:", (20, 120, 110, 140))], [[3, 4]]),
            (4, "answer", [("Marrowgax", (120, 120, 240, 140))], [[3, 4]]),
            (5, "other", [("Faldrinex", (20, 220, 110, 240)), ("Quesselit", (120, 220, 220, 240))], []),
        ],
    ),
    ("train", "0000989556"): (
        (288, 320),
        [
            (0, "question", [("Vantroque:", (24, 40, 130, 60))], [[0, 1]]),
            (1, "answer", [("Zimbrelly", (140, 40, 260, 60))], [[0, 1]]),
            (2, "other", [("Hollowfen", (24, 260, 140, 284))], []),
        ],
    ),
    ("test", "82092117"): (
        (300, 280),
        [
            (0, "header", [("Grendavol", (60, 20, 220, 44))], []),
            (1, "question", [("Pickwistle:", (20, 100, 130, 118))], [[1, 2]]),
            (2, "answer", [("Jorumbeck", (140, 100, 260, 118))], [[1, 2]]),
        ],
    ),
}


def _form_entries(entries: list[FormEntry]) -> list[dict[str, Any]]:
    return [
        {
            "box": _union([b for _, b in words]),
            "text": " ".join(t for t, _ in words),
            "label": label,
            "words": [{"box": list(b), "text": t} for t, b in words],
            "linking": linking,
            "id": eid,
        }
        for eid, label, words, linking in entries
    ]


def _form_words(entries: list[FormEntry]) -> list[WordSpec]:
    return [w for _, _, words, _ in entries for w in words]


def build_funsd(root: str | Path) -> Path:
    """``root/FUNSD/dataset/{training,testing}_data/{annotations,images}``; returns ``root/FUNSD``."""
    base = Path(root) / "FUNSD"
    for (split, stem), (size, entries) in FUNSD_PAGES.items():
        folder = base / "dataset" / ("training_data" if split == "train" else "testing_data")
        _write_json(folder / "annotations" / f"{stem}.json", {"form": _form_entries(entries)})
        (folder / "images").mkdir(parents=True, exist_ok=True)
        page_image(size, _form_words(entries)).save(folder / "images" / f"{stem}.png")
    return base


XFUND_DOCS: dict[str, list[tuple[str, tuple[int, int], list[FormEntry]]]] = {
    "de.train": [
        (
            "de_train_0",
            (300, 320),
            [
                (0, "header", [("Ausfullbork", (40, 20, 200, 44))], []),
                (3, "question", [("Wendelhaus:", (20, 80, 130, 100))], [[3, 7]]),
                (7, "answer", [("Quadrimel", (140, 80, 250, 100)), ("Strohvelt", (140, 110, 250, 130))], [[3, 7]]),
                (9, "other", [("Ebbelkrauz", (20, 250, 150, 270))], []),
            ],
        ),
        (
            "de_train_1",
            (320, 300),
            [
                (0, "question", [("Kornbachel:", (20, 40, 140, 62))], [[0, 1], [0, 1]]),
                (1, "answer", [("Trollwiesen", (150, 40, 300, 62))], [[0, 1]]),
            ],
        ),
    ],
    "de.val": [
        (
            "de_val_0",
            (280, 300),
            [
                (0, "question", [("Mistelpfad:", (20, 60, 130, 80))], [[0, 1]]),
                (1, "answer", [("Gruenzwerg", (140, 60, 260, 80))], [[0, 1]]),
            ],
        ),
    ],
}


def build_xfund(root: str | Path) -> Path:
    """``root/XFUND/de.{train,val}.json`` + ``de.{train,val}/*.jpg``; returns ``root/XFUND``."""
    base = Path(root) / "XFUND"
    for name, docs in XFUND_DOCS.items():
        lang, split = name.split(".")
        documents = []
        for doc_id, size, entries in docs:
            fname = f"{doc_id}.jpg"
            (base / name).mkdir(parents=True, exist_ok=True)
            page_image(size, _form_words(entries)).save(base / name / fname, quality=92)
            documents.append(
                {
                    "id": doc_id,
                    "uid": f"{doc_id}-uid",
                    "document": _form_entries(entries),
                    "img": {"fname": fname, "width": size[0], "height": size[1]},
                }
            )
        _write_json(base / f"{name}.json", {"lang": lang, "version": "0.1", "split": split, "documents": documents})
    return base


# ---------------------------------------------------------------------------- CORD

Quad = tuple[tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]]
# A valid_line: (category, group_id, [(text, quad, row_id, is_key)]).
CordLine = tuple[str, int, list[tuple[str, Quad, int, int]]]


def _rect(x0: int, y0: int, x1: int, y1: int) -> Quad:
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


CORD_PAGES: dict[tuple[str, str], tuple[tuple[int, int], list[CordLine]]] = {
    ("train", "receipt_00000"): (
        (288, 400),
        [
            ("menu.nm", 1, [("KOPRAMEL", ((30, 40), (120, 38), (121, 58), (31, 60)), 101, 0),
                            ("SUSTRAVO", _rect(126, 40, 210, 60), 101, 0)]),
            ("menu.cnt", 1, [("2x", _rect(30, 70, 54, 88), 102, 0)]),
            ("menu.price", 1, [("47.300", _rect(200, 70, 270, 88), 102, 0)]),
            ("total.total_price", 2, [("TOTALQUIX", _rect(30, 320, 140, 342), 103, 1),
                                      ("94.600", _rect(190, 320, 270, 342), 103, 0)]),
        ],
    ),
    ("train", "receipt_00001"): (
        (260, 360),
        [
            ("menu.nm", 1, [("BLENZOOTA", _rect(20, 30, 130, 50), 7, 0)]),
            ("menu.price", 1, [("12.050", _rect(170, 30, 240, 50), 7, 0)]),
        ],
    ),
    ("dev", "receipt_00000"): (
        (256, 300),
        [("sub_total.subtotal_price", 1, [("SUBWEXLE", _rect(20, 200, 120, 220), 4, 1),
                                           ("8.800", _rect(160, 200, 230, 220), 4, 0)])],
    ),
    ("test", "receipt_00000"): (
        (300, 260),
        [("menu.nm", 1, [("FRONDIKA", _rect(20, 30, 140, 54), 2, 0)])],
    ),
}


def build_cord(root: str | Path) -> Path:
    """``root/CORD/{train,dev,test}/{image,json}/receipt_NNNNN.{png,json}``; returns ``root/CORD``."""
    base = Path(root) / "CORD"
    for image_id, ((split, stem), (size, lines)) in enumerate(CORD_PAGES.items()):
        valid_line = [
            {
                "words": [
                    {
                        "quad": {f"{c}{n + 1}": p[i] for n, p in enumerate(quad) for i, c in enumerate("xy")},
                        "is_key": is_key,
                        "row_id": row,
                        "text": text,
                    }
                    for text, quad, row, is_key in words
                ],
                "category": category,
                "group_id": group,
                "sub_group_id": 0,
            }
            for category, group, words in lines
        ]
        data = {
            "dontcare": [],
            "valid_line": valid_line,
            "meta": {"version": "v0.1", "split": split, "image_id": image_id,
                     "image_size": {"width": size[0], "height": size[1]}},
            "roi": {},
            "repeating_symbol": [],
        }
        _write_json(base / split / "json" / f"{stem}.json", data)
        (base / split / "image").mkdir(parents=True, exist_ok=True)
        words = [(t, (min(x for x, _ in q), min(y for _, y in q), max(x for x, _ in q), max(y for _, y in q)))
                 for _, _, ws in lines for t, q, _, _ in ws]
        page_image(size, words).save(base / split / "image" / f"{stem}.png")
    return base


# ---------------------------------------------------------------------------- SROIE

SROIE_TRAIN = "0325updated.task1train(626p)"
SROIE_TEST_IMAGES = "task1_2_test(361p)"
SROIE_TEST_TEXTS = "text.task1_2-test（361p)"

# (split, stem) -> (size, lines as (quad, text), encoding, line ending)
SROIE_PAGES: dict[tuple[str, str], tuple[tuple[int, int], list[tuple[Quad, str]], str, str]] = {
    ("train", "X00016469612"): (
        (300, 420),
        [
            (_rect(40, 30, 260, 52), "TANWELL STOPRAX"),
            (_rect(30, 70, 270, 90), "Vendrell, Quoss & Tarn"),
            (_rect(30, 300, 130, 320), "TOTALIX:"),
            (_rect(180, 300, 260, 320), "9.00"),
        ],
        "utf-8-sig",
        "\r\n",
    ),
    ("train", "X00016469619"): (
        (280, 360),
        [
            (_rect(30, 40, 200, 60), "Crème Pélorin"),
            (_rect(30, 90, 180, 110), "Zuvetta,Marl"),
        ],
        "latin-1",
        "\n",
    ),
    ("test", "X51005200931"): (
        (300, 300),
        [(_rect(20, 20, 220, 44), "OBRANSKI MOVLE")],
        "utf-8",
        "\n",
    ),
}


def _sroie_text(lines: list[tuple[Quad, str]], ending: str) -> str:
    rows = [",".join(str(v) for p in quad for v in p) + f",{text}" for quad, text in lines]
    return ending.join([rows[0], "", *rows[1:], ""])  # a blank line, as in some published files


def build_sroie(root: str | Path) -> Path:
    """``root/SROIE2019/`` with the task-1 train folder and the two test folders; returns it."""
    base = Path(root) / "SROIE2019"
    for (split, stem), (size, lines, encoding, ending) in SROIE_PAGES.items():
        images = base / (SROIE_TRAIN if split == "train" else SROIE_TEST_IMAGES)
        texts = base / (SROIE_TRAIN if split == "train" else SROIE_TEST_TEXTS)
        images.mkdir(parents=True, exist_ok=True)
        texts.mkdir(parents=True, exist_ok=True)
        boxes = [(text, (q[0][0], q[0][1], q[2][0], q[2][1])) for q, text in lines]
        page_image(size, boxes).save(images / f"{stem}.jpg", quality=92)
        (texts / f"{stem}.txt").write_bytes(_sroie_text(lines, ending).encode(encoding))
    return base


# ---------------------------------------------------------------------------- manifest

MANIFEST_FORM = [("Halvorsyne", (30, 40, 150, 62)), ("Brekkelund", (160, 40, 280, 62)),
                 ("Telefonix", (30, 100, 130, 120)), ("5551239876", (140, 100, 270, 120))]
MANIFEST_SCAN_P1 = [("Quillfeather", (20, 30, 160, 54)), ("Ostmarrow", (20, 80, 140, 100))]
MANIFEST_PDF = [("Pemberlyx", (40, 50, 160, 72)), ("Saltmire", (40, 120, 150, 140))]

MANIFEST_ITEMS: list[dict[str, Any]] = [
    {
        "image": "pages/form.png",
        "split": "train",
        "words": [
            {"text": t, "box": list(b)} | ({"label": "PHONE_NUMBER"} if i == 3 else {})
            for i, (t, b) in enumerate(MANIFEST_FORM)
        ],
        "entities": [{"label": "PERSON", "words": [0, 1]}, {"label": "question", "words": [2], "sensitive": False}],
    },
    {
        "image": "pages/scan.tif",
        "page": 1,
        "split": "train",
        "id": "scan-page-2",
        "words": [
            {"text": MANIFEST_SCAN_P1[0][0], "quad": [[20, 30], [160, 30], [160, 54], [20, 54]]},
            {"text": MANIFEST_SCAN_P1[1][0], "box": list(MANIFEST_SCAN_P1[1][1]), "label": "LOCATION"},
        ],
    },
    {
        "image": "pages/letter.pdf",
        "dpi": 100,
        "split": "test",
        "words": [{"text": t, "box": list(b)} for t, b in MANIFEST_PDF],
        "entities": [{"label": "ORGANIZATION", "words": [0, 1], "sensitive": True}],
    },
]


def build_manifest(root: str | Path) -> Path:
    """``root/manifest_pages/manifest.jsonl`` with a PNG, a 2-page TIFF and a PDF; returns the folder."""
    base = Path(root) / "manifest_pages"
    (base / "pages").mkdir(parents=True, exist_ok=True)
    page_image((300, 260), MANIFEST_FORM).save(base / "pages" / "form.png")
    first = page_image((256, 256), [("Tindrabel", (20, 20, 120, 40))])
    first.save(base / "pages" / "scan.tif", save_all=True,
               append_images=[page_image((280, 300), MANIFEST_SCAN_P1)])
    # 300 px at 100 dpi = 216 pt: rendered back at dpi=100 the page is 300×300 again.
    page_image((300, 300), MANIFEST_PDF).save(base / "pages" / "letter.pdf", resolution=100.0)
    lines = [json.dumps(item, ensure_ascii=False) for item in MANIFEST_ITEMS]
    (base / "manifest.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return base


# ---------------------------------------------------------------------------- truth.json (hand-marked values)
TRUTH_PAGE = [("Patient:", (20, 20, 110, 40)), ("Quorbin", (120, 20, 210, 40)), ("Velaskett", (220, 20, 330, 40)),
              ("Phone:", (20, 60, 100, 80)), ("0161", (110, 60, 160, 80)), ("4960", (170, 60, 220, 80)),
              ("Quorbin", (20, 220, 110, 240))]
TRUTH = {
    "pages": {
        "intake.png": {
            "sensitive": [
                {"value": "Quorbin Velaskett", "type": "PERSON", "scope": "personal", "box": [120, 20, 330, 40],
                 "boxes": [[120, 20, 330, 40], [20, 220, 110, 240]], "box_source": "manual",
                 "tesseract_reads": True, "printed_forms": ["Quorbin"]},
                {"value": "0161 4960", "type": "ID", "scope": "business", "box": [110, 60, 220, 80],
                 "boxes": [[110, 60, 220, 80]]},
                {"value": "Zelvoran", "type": "LOCATION", "scope": "personal", "boxes": [[900, 900, 950, 950]]},
            ],
            "plain": ["Patient", "Phone"],
        },
        "missing.png": {"sensitive": [{"value": "Quorbin", "type": "PERSON", "box": [1, 1, 5, 5]}], "plain": []},
    },
    "sources": {"intake.png": {"repository": "example/none"}},
}


def build_truth(root: str | Path) -> Path:
    """``root/real_pages/`` with ``pages/intake.png`` and ``truth.json`` (one value off the page,
    one page whose image is missing); returns the folder."""
    base = Path(root) / "real_pages"
    (base / "pages").mkdir(parents=True, exist_ok=True)
    page_image((400, 300), TRUTH_PAGE).save(base / "pages" / "intake.png")
    _write_json(base / "truth.json", TRUTH)
    return base


BUILDERS = {
    "funsd": build_funsd,
    "xfund": build_xfund,
    "cord": build_cord,
    "sroie": build_sroie,
    "manifest": build_manifest,
    "truth": build_truth,
}


def fixture_words() -> set[str]:
    """Every word text the fixtures contain (what must never appear in logs or reports)."""
    words = {t for _, entries in FUNSD_PAGES.values() for t, _ in _form_words(entries)}
    words |= {t for docs in XFUND_DOCS.values() for _, _, entries in docs for t, _ in _form_words(entries)}
    words |= {t for _, lines in CORD_PAGES.values() for _, _, ws in lines for t, _, _, _ in ws}
    words |= {t for _, lines, _, _ in SROIE_PAGES.values() for _, t in lines}
    words |= {t for t, _ in MANIFEST_FORM + MANIFEST_SCAN_P1 + MANIFEST_PDF} | {"Tindrabel"}
    words |= {t for t, _ in TRUTH_PAGE} | {"Zelvoran", "Velaskett"}
    return words
