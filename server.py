"""The ASGI app: `fastapi run server.py` or `uvicorn server:app`. Everything else is in recsys/."""

from recsys.api.app import create_app
from recsys.errors import ConfigError

try:
    app = create_app()
except ConfigError as error:  # a bad RECSYS_* setting: one line, not a traceback
    raise SystemExit(f"recsys: error: {error}") from None
