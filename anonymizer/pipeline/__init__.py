"""The anonymization pipeline's parts; ``text_edit`` re-draws text boxes with a trained model."""
