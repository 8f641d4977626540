"""Limits every request body meets inside the app, however the app is served.

`RequestLimits` is a plain ASGI middleware around the routes:

* a body must say ``Content-Type: application/json`` (UTF-8, no ``Content-Encoding`` and no
  transfer coding but ``chunked``): 415;
* its bytes are counted as they arrive, whether a Content-Length was sent or the body is
  chunked, and the request is answered 413 as soon as they pass RECSYS_MAX_BODY_BYTES (a
  Content-Length over it is answered before a byte is read), so a body never costs more memory
  than the limit;
* the whole body must arrive within RECSYS_BODY_TIMEOUT seconds of the headers: 408;
* a client that closes the connection before its body is complete is logged at INFO in one
  line and counted as status 499 (client closed) in /metrics: it is not a server error.

When a route or FastAPI turns the failure into an answer of its own (FastAPI makes a body it
could not read a 400), that answer is replaced by the limit's. Rejected bodies are not read to
their end: the server `recsys serve` runs (`recsys.api.protocol`) drops the rest for a moment so
the client sees the answer, then closes; under any other server the answer says
``Connection: close``.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recsys.api.errors import error_body
from recsys.config import Settings

log = logging.getLogger("recsys.api")

CLIENT_CLOSED = 499  # nginx's status for a request the client gave up on
LINGERING_CLOSE = "recsys.lingering_close"  # scope extension: the server drains rejected bodies


class Rejected(Exception):
    """A request broke a limit: answer ``status`` with ``detail``."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


class BodyTooLarge(Rejected):
    def __init__(self, limit: int):
        super().__init__(413, f"request body larger than {limit:,} bytes")


class BodyTimeout(Rejected):
    def __init__(self, seconds: float):
        super().__init__(408, f"request body not received within {seconds:g} s")


class ClientClosed(Rejected):
    def __init__(self, received: int):
        super().__init__(CLIENT_CLOSED, f"client closed the connection after {received:,} bytes")


def body_framing(headers: list[tuple[bytes, bytes]]) -> tuple[int | None, bool, bytes, bytes]:
    """Content-Length (None if absent), chunked or not, Content-Type, and the body's
    encoding: its Content-Encoding, or a compression named among its transfer codings
    (``Transfer-Encoding: gzip, chunked``), which is a compressed body all the same."""
    length, chunked, content_type, encoding, compressed = None, False, b"", b"", []
    for name, value in headers:
        if name == b"content-length":
            length = int(value) if value.strip().isdigit() else None
        elif name == b"transfer-encoding":  # one list, however many lines it is sent in
            chunked = True
            codings = (c.strip() for c in value.lower().split(b","))
            compressed += [c for c in codings if c not in (b"chunked", b"identity", b"")]
        elif name == b"content-type":
            content_type = value
        elif name == b"content-encoding":
            encoding = value
    return length, chunked, content_type, b",".join(compressed) or encoding


def is_json(content_type: bytes) -> bool:
    """application/json, with no charset or charset=utf-8."""
    media, *params = (part.strip().lower() for part in content_type.split(b";"))
    charsets = [p.partition(b"=")[2].strip(b'"') for p in params if p.startswith(b"charset")]
    return media == b"application/json" and all(c in (b"utf-8", b"utf8") for c in charsets)


class RequestLimits:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.max_bytes = settings.max_body_bytes
        self.timeout = settings.body_timeout
        self.server_checked = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not self.server_checked:
            self.server_checked = True
            if LINGERING_CLOSE not in (scope.get("extensions") or {}):
                log.warning("served without the connection limits of `recsys serve` (request "
                            "head size, header and idle timeouts, connection caps)")  # fmt: skip
        length, chunked, content_type, encoding = body_framing(scope["headers"])
        has_body = chunked or bool(length)
        if has_body:
            if not is_json(content_type):
                await _answer(scope, send, 415, "a request body must be application/json")
                return
            if encoding.strip().lower() not in (b"", b"identity"):
                await _answer(scope, send, 415, "compressed request bodies are not accepted")
                return
            if length is not None and length > self.max_bytes:
                too_large = BodyTooLarge(self.max_bytes)
                await _answer(scope, send, too_large.status, too_large.detail)
                return

        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        received = 0
        complete = not has_body
        rejection: Rejected | None = None
        started = False

        async def counted_receive() -> Message:
            nonlocal received, complete, rejection
            if rejection is not None:  # the request is over for the app, whatever it asks
                return {"type": "http.disconnect"}
            if complete:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                rejection = BodyTimeout(self.timeout)
                raise rejection from None
            if message["type"] == "http.disconnect":
                rejection = ClientClosed(received)
                raise rejection
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                rejection = BodyTooLarge(self.max_bytes)
                raise rejection
            complete = not message.get("more_body", False)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if rejection is not None:  # the route answered a failure of ours its own way
                if not started:
                    started = True
                    await _answer(scope, send, rejection.status, rejection.detail)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception as error:
            if rejection is None and not isinstance(error, ClientDisconnect):
                raise  # not ours: the server's 500 handling sees it
            rejection = rejection or ClientClosed(received)
            if not started:
                await _answer(scope, send, rejection.status, rejection.detail)
        if rejection is not None:
            _log(scope, rejection)


def _log(scope: Scope, rejection: Rejected) -> None:
    client = scope.get("client") or ("?", 0)
    log.info("%s %s from %s:%s: %d %s", scope["method"], scope["path"], client[0], client[1],
             rejection.status, rejection.detail)  # fmt: skip


async def _answer(scope: Scope, send: Send, status: int, detail: str) -> None:
    """A JSON error; ``Connection: close`` unless the server drains what is left of the body."""
    drains = LINGERING_CLOSE in (scope.get("extensions") or {})
    await send_error(send, status, detail, [] if drains else [(b"connection", b"close")])


async def send_error(
    send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] = ()
) -> None:
    """Answer ``{"detail": detail}`` with ``status`` (and ``headers``) through ASGI."""
    body = error_body(detail)
    framing = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": framing + headers})
    await send({"type": "http.response.body", "body": body})
