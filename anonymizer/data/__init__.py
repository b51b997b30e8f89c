"""Data: the internal sample format, synthetic documents, safe image I/O and DataModules."""
