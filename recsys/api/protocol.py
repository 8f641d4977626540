"""The HTTP/1.1 connection as `recsys serve` runs it: uvicorn's httptools protocol with limits.

uvicorn bounds none of a request's head and times out only idle keep-alive connections, so this
subclass adds, from the settings (RECSYS_*):

* the request target longer than RECSYS_MAX_URL_BYTES: 414; the headers over
  RECSYS_MAX_HEADER_BYTES in all or more than RECSYS_MAX_HEADERS of them: 431 — counted as the
  bytes arrive, so a 16 MB header is refused after its first few kilobytes;
* a request whose headers are not complete RECSYS_HEADER_TIMEOUT seconds after its first byte:
  408; a connection that sends nothing for RECSYS_IDLE_TIMEOUT seconds, from the start or
  between requests, is closed;
* more than RECSYS_MAX_CONNECTIONS open connections, or RECSYS_MAX_CONCURRENCY requests in
  progress: 503 with Retry-After;
* malformed requests: 400; every one of these answers is JSON ``{"detail": ...}``, and no
  answer has a ``Server`` header;
* a request answered before its body was read to the end (a 413, 415 or 408 of
  `recsys.api.limits`, or a route that does not read bodies): the rest is read and dropped for
  up to RECSYS_DRAIN_TIMEOUT seconds or RECSYS_MAX_BODY_BYTES bytes, so the client gets to read
  the answer, then the connection closes;
* at shutdown, an upload still in progress is ended at once (the app sees the client go),
  while requests whose body has arrived are answered, within RECSYS_SHUTDOWN_TIMEOUT.

The body limits themselves are in `recsys.api.limits`, inside the app, so they also hold under
any other server.
"""

from __future__ import annotations

import asyncio
import http

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from recsys.api.errors import error_body
from recsys.api.limits import LINGERING_CLOSE, send_error
from recsys.config import Settings, get_settings

HEAD_SLACK = 1024  # request line and line ends beyond the URL and header limits


class Refused(Exception):
    """A request head broke a limit: answer ``status`` with ``detail`` and close."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def http_error(status: int, detail: str, extra: list[tuple[bytes, bytes]] = ()) -> bytes:
    """A complete HTTP/1.1 JSON error response that closes the connection."""
    body = error_body(detail)
    phrase = http.HTTPStatus(status).phrase.encode()
    lines = [b"HTTP/1.1 %d %s" % (status, phrase), b"content-type: application/json",
             b"content-length: %d" % len(body), b"connection: close"]  # fmt: skip
    lines += [name + b": " + value for name, value in extra]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


async def busy(scope, receive, send) -> None:
    """The answer while RECSYS_MAX_CONCURRENCY requests are in progress."""
    await send_error(send, 503, "too many requests in progress; retry shortly",
                     [(b"retry-after", b"1")])  # fmt: skip


def without_server_header(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [(name, value) for name, value in headers if name != b"server"]


class LimitedHttpProtocol(HttpToolsProtocol):
    """uvicorn's `HttpToolsProtocol` with the limits above (`uvicorn --http` takes it too)."""

    def __init__(self, config, server_state, app_state, _loop=None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        settings: Settings = getattr(config, "recsys_settings", None) or get_settings()
        self.settings = settings
        self.timeout_keep_alive = settings.idle_timeout
        self.limit_concurrency = None  # ours, answered in JSON
        self.recsys_app = self.app
        # The server's default headers are rebuilt each second from the config's.
        config.encoded_headers = without_server_header(config.encoded_headers)
        server_state.default_headers = without_server_header(server_state.default_headers)
        self.max_head = settings.max_url_bytes + settings.max_header_bytes + HEAD_SLACK
        self.in_head = False
        self.head_bytes = self.url_bytes = self.header_bytes = self.header_count = 0
        self.header_timer: asyncio.TimerHandle | None = None
        self.discarding = False
        self.discarded = 0
        self.refusal: tuple[int, str, list] | None = None  # a bad request behind one in progress

    # -- connections -----------------------------------------------------------------------
    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        if len(self.connections) > self.settings.max_connections:
            detail = "too many open connections; retry shortly"
            self.transport.write(http_error(503, detail, [(b"retry-after", b"1")]))
            self.transport.close()  # nothing was read: closing resets nothing
            return
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self.cancel_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.discarding:
            self.discarded += len(data)
            if self.discarded > self.settings.max_body_bytes:
                self.transport.close()
            return
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            return  # else answered as plain HTTP, without uvicorn's two warnings per request
        except httptools.HttpParserError as error:
            refused = error.__context__
            if isinstance(refused, Refused):
                self.refuse(refused.status, refused.detail)
            else:
                self.send_400_response("invalid HTTP request")
            return
        if self.in_head:
            self.head_bytes += len(data)
            if self.head_bytes > self.max_head:
                self.refuse(431, self.headers_too_large())

    def send_400_response(self, msg: str) -> None:
        self.logger.info("refused a malformed request from %s", self.client_name())
        self.refuse(400, msg)

    def refuse(self, status: int, detail: str, extra: list[tuple[bytes, bytes]] = ()) -> None:
        """Answer a request the app has not answered (a bad head, or a malformed body it was
        still reading), then drop what follows and close. Requests read whole before it (sent
        on the same connection ahead of the bad one) are answered first, in order."""
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            if not cycle.more_body:  # read whole, being answered: the refusal waits for it
                self.refusal = (status, detail, extra)
                self.in_head = False
                self.cancel_header_timer()
                self.discarding = True
                return
            if cycle.response_started:
                self.transport.close()  # this request's body broke off while it is answered
                return
            cycle.disconnected = True  # a malformed body: the app reading it sees the end
            cycle.message_event.set()
        self.send_refusal(status, detail, extra)

    def send_refusal(self, status: int, detail: str, extra: list[tuple[bytes, bytes]]) -> None:
        date = [h for h in self.server_state.default_headers if h[0] == b"date"]
        self.transport.write(http_error(status, detail, [*date, *extra]))
        self.discard_then_close()

    def discard_then_close(self) -> None:
        """Read and drop what the client still sends, briefly, then close (a lingering
        close: closing with unread data would reset the connection before the answer is read)."""
        self.in_head = False
        self.cancel_header_timer()
        self._unset_keepalive_if_required()
        self.discarding = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(self.settings.drain_timeout, self.transport.close)

    def client_name(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "?"

    # -- the request head --------------------------------------------------------------------
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope["extensions"] = {LINGERING_CLOSE: {}}
        self.in_head = True
        self.head_bytes = self.url_bytes = self.header_bytes = self.header_count = 0
        self.header_timer = self.loop.call_later(
            self.settings.header_timeout, self.header_timeout_handler
        )

    def on_url(self, url: bytes) -> None:
        self.url_bytes += len(url)
        if self.url_bytes > self.settings.max_url_bytes:
            raise Refused(414, f"request target longer than {self.settings.max_url_bytes:,} bytes")
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_count += 1
        self.header_bytes += len(name) + len(value)
        if self.header_count > self.settings.max_headers:
            raise Refused(431, f"more than {self.settings.max_headers} request headers")
        if self.header_bytes > self.settings.max_header_bytes:
            raise Refused(431, self.headers_too_large())
        super().on_header(name, value)

    def headers_too_large(self) -> str:
        return f"request headers larger than {self.settings.max_header_bytes:,} bytes"

    def on_headers_complete(self) -> None:
        self.in_head = False
        self.cancel_header_timer()
        too_busy = len(self.tasks) >= self.settings.max_concurrency
        self.app = busy if too_busy else self.recsys_app
        super().on_headers_complete()

    def header_timeout_handler(self) -> None:
        self.header_timer = None
        if self.in_head and not self.transport.is_closing():
            seconds = self.settings.header_timeout
            self.refuse(408, f"request headers not received within {seconds:g} s")

    def cancel_header_timer(self) -> None:
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    # -- after the answer ----------------------------------------------------------------------
    def on_response_complete(self) -> None:
        cycle = self.cycle  # the request answered, unless a pipelined one is queued after it
        last = not self.pipeline
        unread_body = last and cycle is not None and cycle.more_body
        super().on_response_complete()
        if self.transport.is_closing():
            return
        if last and self.refusal is not None:  # the bad request after the answered ones
            self.send_refusal(*self.refusal)
        elif unread_body:
            self.discard_then_close()

    def shutdown(self) -> None:
        cycle = self.cycle
        if cycle is not None and cycle.more_body and not cycle.response_started:
            cycle.disconnected = True  # an upload in progress: the app sees the client go
            cycle.message_event.set()
            self.transport.close()
            return
        super().shutdown()
