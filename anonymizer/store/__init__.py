"""The model store: export manifests (checksums), stores on fsspec (local folders, s3://),
store URLs resolved to a verified local cache, and the ``python -m anonymizer.store`` command."""
