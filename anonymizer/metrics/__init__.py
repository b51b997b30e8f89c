"""Metrics: legibility (Tesseract OCR), text accuracy (CER, word/sentence accuracy, NED),
image quality (PSNR, SSIM, LPIPS, unchanged pixels) and anonymization (leaks, detection
precision/recall, preserved text, surrogate read-back)."""
