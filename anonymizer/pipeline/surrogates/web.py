"""EMAIL_ADDRESS, URL and IP_ADDRESS surrogates.

Domains: a generic public mail provider (gmail.com, outlook.com, web.de, ...) or a
well-known public site (linkedin.com, github.com, ...) is kept, since it says nothing
about the person and keeps the document realistic; any other domain (an employer's, a
family's) becomes one of the reserved RFC 2606 domains ``example.com``/``.org``/``.net``
(by the original's top-level domain), so a surrogate never points at a real
organisation or a real mailbox.
"""

from __future__ import annotations

import ipaddress
import random
import re

from anonymizer.pipeline.surrogates.draw import ALTERNATIVES, Draw
from anonymizer.pipeline.surrogates.names import name_draws, name_lists
from anonymizer.pipeline.surrogates.shapes import class_preserving
from anonymizer.pipeline.surrogates.words import apply_case, draw_unlike

FREE_MAIL = frozenset(
    "gmail.com googlemail.com yahoo.com yahoo.co.uk yahoo.fr yahoo.de ymail.com hotmail.com "
    "hotmail.co.uk hotmail.fr hotmail.de outlook.com outlook.de live.com msn.com aol.com "
    "icloud.com me.com mac.com mail.com gmx.de gmx.net gmx.com web.de t-online.de freenet.de "
    "proton.me protonmail.com yandex.ru mail.ru orange.fr free.fr laposte.net libero.it".split()
)
PUBLIC_SITES = frozenset(
    "linkedin.com facebook.com twitter.com x.com instagram.com youtube.com github.com "
    "google.com wikipedia.org".split()
)
ROLE_ACCOUNTS = frozenset(
    "info contact support sales admin office hello help billing accounts service team mail "
    "noreply no-reply webmaster hr jobs careers press enquiries".split()
)
_RUNS = re.compile(r"[^\W\d_]+|\d+|.", re.S)


def fake_domain(domain: str, keep: frozenset[str] = FREE_MAIL) -> str:
    """``domain`` itself when it is in ``keep``, else example.com/.org/.net by its TLD."""
    low = domain.casefold()
    if low in keep:
        return domain
    tld = low.rsplit(".", 1)[-1]
    return apply_case({"org": "example.org", "net": "example.net"}.get(tld, "example.com"), domain)


def _local_runs(draw: Draw, local: str, count: int) -> list[list[str]]:
    """Per run of the local part (letters, digits, separators): ``count`` replacements.

    Several letter runs read as first names then a last name ("jane.doe", "j_doe") and
    borrow PERSON's per-word seeds, so they match the same person's name surrogate; so
    does a single run that is a known first or last name. Any other single run ("jdoe")
    becomes first+last, initial+last, last or first name, whichever is closest in length.
    """
    runs = _RUNS.findall(local)
    if local.casefold() in ROLE_ACCOUNTS:
        return [[r] * count for r in runs]
    letters = [i for i, r in enumerate(runs) if r.isalpha()]
    female, male, last_names = name_lists(draw.fake)
    first = runs[letters[0]].casefold() if letters else ""
    gender = "f" if first in female - male else "m" if first in male - female else None
    out: list[list[str]] = []
    for i, run in enumerate(runs):
        if run.isdecimal():
            rng = draw.rng(draw.key, "digits", str(i))
            out.append([class_preserving(rng, run)] * count)
        elif not run.isalpha():
            out.append([run] * count)
        elif len(letters) == 1:
            low = run.casefold()
            if low in female | male and low not in last_names:
                out.append(name_draws(draw, run, "first", gender, count))
            elif low in last_names:
                out.append(name_draws(draw, run, "last", gender, count))
            else:
                out.append(_handle(draw, run, count))
        else:
            role = "last" if i == letters[-1] else "first"
            if len(run) == 1:
                fake = draw.seed(role + "-initial", run.casefold(), entity_type="PERSON")
                make = fake.first_name if role == "first" else fake.last_name
                letter = draw_unlike(lambda make=make: make()[:1], run, 1)[0]
                out.append([apply_case(letter, run)] * count)
            else:
                out.append(name_draws(draw, run, role, gender, count))
    return out


def _handle(draw: Draw, run: str, count: int) -> list[str]:
    """``count`` name-like handles for a one-word local part, each closest to its length."""
    fake = draw.seed(draw.key, "handle")

    def make() -> str:
        first, last = fake.first_name(), fake.last_name()
        shapes = [first + last, first[:1] + last, last, first]
        return apply_case(min(shapes, key=lambda s: abs(len(s) - len(run))), run)

    return draw_unlike(make, run, count)


def email(draw: Draw, original: str, alternatives: int = 0) -> list[str]:
    """``first.last@domain`` shape kept: separators, case, digit runs; domain per module doc.

    Narrower variants (for fitting): other name draws, then the first name as an initial.
    """
    local, at, domain = original.rpartition("@")
    if not at or not local:
        return [class_preserving(draw.rng(), original)]
    lead = re.match(r"^(mailto:)?", local, re.I).group()  # type: ignore[union-attr]
    local = local[len(lead) :]
    count = 1 + (ALTERNATIVES if alternatives else 0)
    runs = _local_runs(draw, local, count)
    new_domain = fake_domain(domain)
    letters = [i for i, r in enumerate(runs) if r[0].isalpha()]
    candidates = []
    for k in range(count):
        candidates.append([r[k] for r in runs])
        if len(letters) > 1:
            candidates.append([r[k][:1] if i == letters[0] else r[k] for i, r in enumerate(runs)])
    return list(dict.fromkeys(lead + "".join(c) + at + new_domain for c in candidates))


_URL = re.compile(
    r"^(?P<scheme>[a-zA-Z][a-zA-Z0-9+.\-]*://)?(?P<user>[^@/\s]+@)?"
    r"(?P<www>www\d*\.)?(?P<host>[^/:?#\s]+)(?P<port>:\d+)?(?P<rest>.*)$",
    re.S,
)


def url(draw: Draw, original: str, alternatives: int = 0) -> list[str]:
    """Scheme, ``www.``, port and punctuation kept; host per module doc; path words redrawn.

    Each word of the path/query becomes a Faker word close to its length; digits keep
    their count; a file extension (letters after a dot at the end) is kept.
    """
    match = _URL.match(original)
    if not match or "." not in match["host"]:
        return [class_preserving(draw.rng(), original)]
    rng = draw.rng()
    host = match["host"]
    if _is_ip(host):
        new_host = ip_address(rng, host)
    else:
        new_host = fake_domain(host, FREE_MAIL | PUBLIC_SITES)
    user = class_preserving(rng, match["user"]) if match["user"] else ""
    count = 1 + (ALTERNATIVES if alternatives else 0)
    paths = [_path(draw, match["rest"], k) for k in range(count)]
    head = (match["scheme"] or "") + user + (match["www"] or "") + new_host + (match["port"] or "")
    return list(dict.fromkeys(head + p for p in paths))


def _path(draw: Draw, rest: str, k: int) -> str:
    runs = _RUNS.findall(rest)
    fake = draw.seed(draw.key, "path", str(k))
    out = []
    for i, run in enumerate(runs):
        if run.isdecimal():
            out.append(class_preserving(fake.random, run))
        elif run.isalpha() and not (i == len(runs) - 1 and i and runs[i - 1] == "."):
            words = draw_unlike(fake.word, run, 5)
            out.append(apply_case(min(words, key=lambda w: abs(len(w) - len(run))), run))
        else:
            out.append(run)
    return "".join(out)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True


_IPV4 = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})")
_PUBLIC_FIRST = [n for n in range(1, 224) if n not in (10, 100, 127, 169, 172, 192)]


def _octet(rng: random.Random, width: int, last: bool = False) -> str:
    lo, hi = {1: (0, 9), 2: (10, 99), 3: (100, 255)}[width]
    if last:
        lo, hi = max(lo, 1), min(hi, 254)
    return str(rng.randint(lo, hi))


def ip_address(rng: random.Random, original: str) -> str:
    """IPv4: each octet keeps its digit count; private ranges (10/8, 172.16/12, 192.168/16,
    127/8) keep their prefix, other addresses become global ones; ``:port``, ``/prefix`` kept.
    IPv6: hex digits redrawn, ``::`` and group lengths kept. Anything else: class-preserving.
    """
    match = _IPV4.search(original)
    if match and all(int(g) <= 255 and (len(g) == 1 or g[0] != "0") for g in match.groups()):
        octets = match.groups()
        first = int(octets[0])
        second = int(octets[1])
        if (first == 172 and 16 <= second <= 31) or (first, second) == (192, 168):
            keep = 2
        else:
            keep = 1 if first in (10, 127) else 0
        for _ in range(20):  # a public address stays globally routable
            new = list(octets[:keep])
            if not keep:
                firsts = [n for n in _PUBLIC_FIRST if len(str(n)) == len(octets[0])]
                new.append(str(rng.choice(firsts)))
            while len(new) < 4:
                new.append(_octet(rng, len(octets[len(new)]), last=len(new) == 3))
            if keep or ipaddress.IPv4Address(".".join(new)).is_global:
                break
        return original[: match.start()] + ".".join(new) + original[match.end() :]
    if ":" in original and _is_ip(original.split("%")[0]):
        hexes = "0123456789" + ("ABCDEF" if any(c in "ABCDEF" for c in original) else "abcdef")
        return "".join(rng.choice(hexes) if c in "0123456789abcdefABCDEF" else c for c in original)
    return class_preserving(rng, original)

