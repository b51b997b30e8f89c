"""The Hydra configs, shipped inside the package (``pkg://anonymizer.conf``): one root config
per command (``train``, ``anonymize``, ``evaluate``, ``serve``, ``prepare``, ``synth_pages``),
the pipeline they share (``pipeline.yaml``) and the config groups."""
