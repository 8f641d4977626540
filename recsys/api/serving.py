"""Run the service under uvicorn with every limit of the settings: what `recsys serve` does.

`uvicorn server:app` and `fastapi run server.py` serve the same app, with its body, query and
CORS limits (`recsys.api.limits`), but with uvicorn's own connection handling: no limit on the
request head, no timeout until the first request, plain-text errors, a ``Server`` header and
no shutdown deadline. So the README and the Docker image start `recsys serve`.
"""

from __future__ import annotations

import logging

import uvicorn

from recsys.api.protocol import LimitedHttpProtocol
from recsys.config import Settings, get_settings

APP_FACTORY = "recsys.api.app:create_app"


def uvicorn_config(
    settings: Settings, host: str = "127.0.0.1", port: int = 8000, *, access_log: bool = False,
    log_level: str = "info",
) -> uvicorn.Config:  # fmt: skip
    config = uvicorn.Config(
        APP_FACTORY, factory=True, host=host, port=port, http=LimitedHttpProtocol,
        ws="none", lifespan="on", server_header=False, access_log=access_log,
        log_level=log_level, timeout_keep_alive=settings.idle_timeout,
        timeout_graceful_shutdown=settings.shutdown_timeout,
    )  # fmt: skip
    config.recsys_settings = settings  # read by LimitedHttpProtocol
    return config


def serve(host: str, port: int, *, access_log: bool = False, debug: bool = False) -> None:
    """Serve until SIGTERM or Ctrl-C (settings from the environment, RECSYS_*). A start-up
    that fails says why in one line, with its traceback only with ``debug``."""
    config = uvicorn_config(get_settings(), host, port, access_log=access_log)
    if not debug:  # after the config, which sets up uvicorn's loggers
        logging.getLogger("uvicorn.error").addFilter(_without_startup_traceback)
    uvicorn.Server(config).run()


def _without_startup_traceback(record: logging.LogRecord) -> bool:
    """False for the traceback uvicorn logs when start-up fails on purpose (`StartupError`),
    after the service has logged the reason."""
    return "StartupError: cannot start the recsys service" not in record.getMessage()
