"""The HTTP API (``python -m anonymizer.serve``): FastAPI over the anonymization pipeline.

* :mod:`~anonymizer.serving.settings`: the server settings (``anonymizer/conf/serve.yaml``), validated;
* :mod:`~anonymizer.serving.upload`: the multipart upload, streamed to a private temporary
  file with its size limit enforced while it arrives;
* :mod:`~anonymizer.serving.limits`: the document checks (type from content, pages, pixels)
  and their HTTP status codes;
* :mod:`~anonymizer.serving.admission`: uploads being received at once and requests per client;
* :mod:`~anonymizer.serving.workers`: the bounded worker pool and queue;
* :mod:`~anonymizer.serving.threadsafe`: locks for the parts of the pipeline that threads
  must not share concurrently (the renderer, the detector; PDFs run in child processes);
* :mod:`~anonymizer.serving.service`: one upload through the pipeline, in memory;
* :mod:`~anonymizer.serving.auth`: the optional API key;
* :mod:`~anonymizer.serving.app`: the FastAPI application (:func:`create_app`);
* :mod:`~anonymizer.serving.background`: a server in a background thread (tests, load test).
"""

from anonymizer.serving.app import create_app

__all__ = ["create_app"]
