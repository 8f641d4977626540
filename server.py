"""The ASGI app: `fastapi run server.py` or `uvicorn server:app`. Everything else is in recsys/."""

from recsys.api.app import create_app

app = create_app()
