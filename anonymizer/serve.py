"""``python -m anonymizer.serve``: the anonymization pipeline as an HTTP API.

The pipeline (``anonymizer/conf/pipeline.yaml``: renderer, OCR, detection, surrogates, verification)
is built once at startup and shared by ``server.workers`` worker threads; the host, port,
queue, time limit, upload limits and the optional API key come from ``anonymizer/conf/serve.yaml``::

    python -m anonymizer.serve
    python -m anonymizer.serve server.host=0.0.0.0 server.port=9000 server.workers=4 renderer=redact
    ANONYMIZER_API_KEY=... python -m anonymizer.serve server.api_key_env=ANONYMIZER_API_KEY

A problem at startup (a bad setting, an unknown key, a command line Hydra cannot parse,
Tesseract or a language missing, the port in use, an API-key variable that is not set) is
one line on stderr and exit code 2.
"""

from __future__ import annotations

import logging

from omegaconf import DictConfig

from anonymizer.core.entry import UsageError, hydra_command, report_usage_error

log = logging.getLogger("anonymizer.serve")


def run(cfg: DictConfig) -> int:
    """Build the pipeline and the app, then serve until interrupted; returns the exit code."""
    from anonymizer.serving.app import create_app
    from anonymizer.serving.background import listen, url_of, uvicorn_options
    from anonymizer.serving.settings import ServeSettings

    try:
        settings = ServeSettings.from_config(cfg)
        logging.getLogger("anonymizer").setLevel(settings.log_level.upper())
        try:  # before the (slower) pipeline build: a taken port fails at once
            sock = listen(settings.host, settings.port)
        except OSError as err:
            raise UsageError(f"cannot listen on {settings.host}:{settings.port} ({err.strerror or err})") from None
        try:
            app = create_app(cfg)
        except BaseException:
            sock.close()
            raise
    except (UsageError, ValueError) as err:
        return report_usage_error(err)

    import uvicorn

    log.info("serving on %s (API description: %s/openapi.json)", url_of(sock), url_of(sock))
    config = uvicorn.Config(app, log_level=settings.log_level, access_log=settings.access_log, lifespan="on",
                            **uvicorn_options(app))
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl+C it handled, after a graceful shutdown
        log.info("stopped")
    finally:
        sock.close()
    return 0


main = hydra_command("serve", run)


if __name__ == "__main__":
    main()
