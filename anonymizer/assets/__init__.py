"""Files shipped with the package: the trained PII tagger (``pii_tagger/``)."""
