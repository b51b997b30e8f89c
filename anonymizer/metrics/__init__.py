"""Metrics: legibility (OCR character error rate) and image quality."""
