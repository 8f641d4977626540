"""Who may call what: ``Authorization: Bearer <key>``, compared in constant time.

* Writes and admin calls need RECSYS_API_KEY. Without a key, or with a wrong one: 401. With no
  key configured the service refuses every write (403) and says how to set one.
* Reads are open, unless RECSYS_READ_KEY is set: then they need it (or the API key), else 401.
* The read key cannot write (403).

Keys are `SecretStr` settings: they never appear in logs, errors or /v1/model.
"""

from __future__ import annotations

import hmac

from fastapi import Depends, HTTPException, Request
from pydantic import SecretStr

from recsys.api.deps import get_settings_of_app

CHALLENGE = {"WWW-Authenticate": "Bearer"}
NO_KEY = (
    "writes are disabled: no API key is configured. Set RECSYS_API_KEY to a long random secret "
    "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`) and send it as "
    "'Authorization: Bearer <key>'"
)


def bearer(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, or None."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def matches(token: str | None, key: SecretStr | None) -> bool:
    if token is None or key is None:
        return False
    return hmac.compare_digest(token.encode(), key.get_secret_value().encode())


async def require_write(request: Request) -> None:
    settings = await get_settings_of_app(request)  # called, not a sub-dependency to solve
    if settings.api_key is None:
        raise HTTPException(403, NO_KEY)
    token = bearer(request)
    if token is None:
        raise HTTPException(401, "this call needs 'Authorization: Bearer <RECSYS_API_KEY>'",
                            headers=CHALLENGE)  # fmt: skip
    if not matches(token, settings.api_key):
        if matches(token, settings.read_key):
            raise HTTPException(403, "the read key can only read")
        raise HTTPException(401, "the key is not valid", headers=CHALLENGE)


async def require_read(request: Request) -> None:
    settings = await get_settings_of_app(request)  # called, not a sub-dependency to solve
    if settings.read_key is None:
        return
    token = bearer(request)
    if not (matches(token, settings.read_key) or matches(token, settings.api_key)):
        detail = "the key is not valid" if token else "reads need 'Authorization: Bearer <key>'"
        raise HTTPException(401, detail, headers=CHALLENGE)


WRITE = [Depends(require_write)]
READ = [Depends(require_read)]
AUTH_ERRORS = {
    400: {"description": "the body cannot be read (not UTF-8)"},
    401: {"description": "no key, or not a valid one"},
    403: {"description": "no API key configured (writes are off), or the read key on a write"},
}
