"""Country names (lower case, in their own and in English spelling) that stand alone on a line
of an address: kept by the detectors, since a country alone says little about a person."""

from __future__ import annotations

COUNTRIES = frozenset({
    "united states", "united states of america", "usa", "us", "u.s.a.", "u.s.", "united kingdom", "uk",
    "great britain", "england", "scotland", "wales", "northern ireland", "ireland", "canada", "australia",
    "new zealand", "germany", "deutschland", "france", "netherlands", "the netherlands", "nederland", "belgium",
    "belgië", "belgique", "luxembourg", "austria", "österreich", "switzerland", "schweiz", "suisse", "svizzera",
    "italy", "italia", "spain", "españa", "portugal", "denmark", "danmark", "sweden", "sverige", "norway", "norge",
    "finland", "suomi", "poland", "polska", "czech republic", "czechia", "india", "mexico", "méxico", "brazil",
    "brasil", "argentina", "chile", "japan", "china", "singapore", "south africa",
})
