"""Country names (lower case, in their own and in English spelling) that stand alone on a line
of an address: kept by the detectors, since a country alone says little about a person. The
list is ``anonymizer/conf/recognizers/countries.yaml``."""

from __future__ import annotations

from anonymizer.core.tables import entry, load_table, strings

COUNTRIES = frozenset(strings("countries", "countries", entry("countries", load_table("countries"), "countries")))
