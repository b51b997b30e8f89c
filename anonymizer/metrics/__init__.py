"""Metrics: legibility (Tesseract OCR), text accuracy (CER, word/sentence accuracy, NED),
image quality (PSNR, SSIM, LPIPS, unchanged pixels) and perceptual (the LPIPS network).
The anonymization scores, which read pages with the pipeline's OCR grouping and leak
check, are in :mod:`anonymizer.evaluation.anonymization_scores`."""
