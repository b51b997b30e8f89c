"""anonymizer: document image anonymization by style-preserving text replacement."""

__version__ = "0.1.0"
