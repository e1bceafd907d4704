"""What Daphne answers itself, before the application sees a request.

backend/asgi.py calls :func:`install` in the Daphne process (``daphne backend.asgi:application``
imports the application before it serves). Two changes to Daphne's request class:

- **No form parsing by Twisted.** Twisted's ``Request`` parses the body of a POST sent as
  ``multipart/form-data`` or ``application/x-www-form-urlencoded`` into ``request.args``, which
  Daphne never reads (it hands the raw body to the application), and answers a body it cannot
  parse (an empty multipart body, a missing boundary) with a bare ``400`` and no body, on any
  path, ``/healthz`` included. Turned off: the application parses bodies and refuses bad ones
  in the error format (backend/parsers.py).
- **Its own errors in the error format.** Daphne refuses header names and values with control
  characters, and paths and query strings with raw bytes outside ASCII, with an HTML page; it
  answers an application that fails or times out with one too. They are JSON in the API's
  error format here, in the language of ``Accept-Language``, with ``Content-Language``.

And four changes to how Daphne serves websockets:

- **A frame leaves when it is sent.** Twisted's TCP transport only buffers what it is given and
  writes it when the event loop next polls its sockets; asyncio's transport writes at once when
  nothing is waiting. A neighbourhood announcement hands one frame to each of a thousand sockets
  in one pass (notifications/hub.py): buffered, the first member's frame waited for the
  thousandth to be framed. A websocket's bytes now go to its socket straight away, as asyncio
  writes them (what the socket does not take is buffered for the loop, as before):
  :func:`write_now`; docs/benchmarks.md has the figures.
- **Each socket pings on its own timer.** Daphne pings from its 2-second sweep of all the
  connections, so the pings of every socket due went in one burst (hundreds of frames, tens of
  milliseconds in which no other socket of the process was served). Each socket now has its own
  timer, every ``--ping-interval`` from its opening, with autobahn's ping and its
  ``--ping-timeout`` as before. (Autobahn's own ``autoPingInterval`` would not do: its timers
  are grouped by the whole second, a burst every second.)
- **Its sweeps go in slices.** Daphne looks at the timeouts of all its connections in one go
  every two seconds, and at their applications every second: 2 to 3 ms each with 5,000
  sockets, in which none is served. A fiftieth of them at a time now, as often.
- **A live event's frame can skip the send chain.** An application's ``websocket.send`` goes
  through the consumer's, Channels' and Daphne's coroutines before autobahn frames it; the
  events socket sends its live events with :meth:`WebSocketProtocol.send_text_now` instead,
  the same frame written at once (notifications/consumers.py finds it through ``send``).

What Twisted refuses while reading the HTTP framing itself (a malformed request line or
header, a request line or headers over 16 KiB, a bad ``Content-Length``) comes before any path
is known and stays a bare ``400``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import struct
import time
from concurrent.futures import CancelledError
from functools import partial
from typing import Any

from daphne import http_protocol, ws_protocol
from daphne import server as daphne_server
from django.utils import translation
from django.utils.translation import gettext as _
from twisted.internet import tcp
from twisted.web import http

from backend.error_handlers import language_of, status_error_body
from backend.errors import error_body

# Daphne's reasons (the body of its error pages), and what the error format says instead.
_REASONS = {
    "Invalid header name": ("invalid", lambda: _("A header name is invalid.")),
    "Invalid header value": (
        "invalid_character",
        lambda: _("A header value holds a character that is not allowed."),
    ),
    "Invalid characters in path": (
        "invalid_character",
        lambda: _("The path holds a character that is not allowed."),
    ),
    "Invalid query string": (
        "invalid_character",
        lambda: _("The query string holds a character that is not allowed."),
    ),
}


# Twisted 24.7 and later can be told not to parse form bodies; before, it always did.
_CAN_SKIP_FORMS = "parsePOSTFormSubmission" in inspect.signature(http.Request.__init__).parameters


class WebRequest(http_protocol.WebRequest):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if _CAN_SKIP_FORMS:
            kwargs["parsePOSTFormSubmission"] = False
        super().__init__(*args, **kwargs)

    def basic_error(self, status: int, status_text: bytes, body: str) -> None:
        accept = self.requestHeaders.getRawHeaders(b"accept-language") or [b""]
        language = language_of(accept[0].decode("latin-1"))
        with translation.override(language):
            if status == 400 and body in _REASONS:
                code, message = _REASONS[body]
                payload = error_body(code, message())
            else:
                payload = status_error_body(status)
            content = json.dumps(payload).encode()
        self.handle_reply(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"Content-Type", b"application/json"),
                    (b"Content-Language", language.encode()),
                ],
            }
        )
        self.handle_reply({"type": "http.response.body", "body": content})


def write_now(transport: tcp.Connection, data: bytes) -> None:
    """``transport.write`` as asyncio's transports do it: when nothing is waiting to be written,
    ``data`` goes to the socket at once, and only what the socket does not take is buffered for
    the event loop (Twisted's own ``write`` always buffers, and registers and unregisters the
    socket with the poller around each write). With data waiting, or a connection that is
    closing, it is Twisted's ``write``: the order of the bytes is kept, and an error is met by
    the loop, which closes the connection as it always does."""
    if (
        transport.connected
        and not transport.disconnecting
        and not transport._writeDisconnected
        and not transport._tempDataBuffer
        and transport.offset == len(transport.dataBuffer)
        and isinstance(data, bytes)
    ):
        sent = transport.writeSomeData(data)
        if isinstance(sent, int) and sent > 0:
            if sent == len(data):
                return
            data = data[sent:]
    type(transport).write(transport, data)


def _reactor() -> Any:
    """The running reactor (Daphne's asyncio one), imported late: importing it installs one."""
    from twisted.internet import reactor

    return reactor


class WebSocketProtocol(ws_protocol.WebSocketProtocol):
    keepalive: Any = None  # the pending call of the next ping

    def send_text_now(self, text: str) -> None:
        """Sends ``text`` as one text frame, at once: what Daphne does with an application's
        ``websocket.send``, without the coroutines between the application and here (the
        consumer's, Channels' and Daphne's ``send``, a few microseconds each, which a topic
        event pays a thousand times in a row). Nothing is sent once the socket is closing or
        its client gone. The events socket finds it through the ``send`` Daphne gives it
        (``notifications.consumers.text_sender``)."""
        details = self.server.connections.get(self)
        if details is None or details.get("disconnected") or self.state != self.STATE_OPEN:
            return
        payload = text.encode("utf-8")
        if self._perMessageCompress is not None:  # not negotiated by Daphne, but if it were
            self.sendMessage(payload, False)
            return
        size = len(payload)
        if size < 126:
            header = bytes((0x81, size))  # FIN, text; unmasked: a server's frames are not
        elif size < 1 << 16:
            header = struct.pack("!BBH", 0x81, 126, size)
        else:
            header = struct.pack("!BBQ", 0x81, 127, size)
        self.trafficStats.outgoingWebSocketMessages += 1
        self.transport.write(header + payload)

    def connectionMade(self) -> None:
        transport = self.transport
        if isinstance(transport, tcp.Connection):
            transport.write = partial(write_now, transport)  # type: ignore[method-assign]
        super().connectionMade()

    def onOpen(self) -> None:
        super().onOpen()
        self._keepalive_next()

    def _keepalive_next(self) -> None:
        self.keepalive = _reactor().callLater(self.server.ping_interval, self._keepalive_ping)

    def _keepalive_ping(self) -> None:
        """Autobahn's keep-alive ping: the connection is dropped when no pong (nor any other
        frame) comes back within ``--ping-timeout``."""
        self.keepalive = None
        if self.state == self.STATE_OPEN:
            self._sendAutoPing()
            self._keepalive_next()

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        if self.keepalive is not None and self.keepalive.active():
            self.keepalive.cancel()
        self.keepalive = None
        super().onClose(wasClean, code, reason)

    def check_timeouts(self) -> None:
        """Daphne's periodic check (every 2 s, over every connection), less its pings: it sent
        the pings of all the sockets due at once, hundreds in one go that held every other
        socket of the process meanwhile. Each socket now pings on a timer of its own, every
        ``--ping-interval`` from its opening (``onOpen``)."""
        server = self.server
        if 0 <= server.websocket_timeout < self.duration():
            self.serverClose()
        if (
            self.state == self.STATE_CONNECTING
            and self.duration() > server.websocket_connect_timeout
        ):
            self.serverReject()


# Daphne's sweeps of its connections (their timeouts every 2 s, their applications every
# second), in slices: each connection is still looked at once per period, a fiftieth of them
# every fiftieth of it. With 5,000 sockets a whole sweep held the event loop for 2 to 3 ms,
# which every event due meanwhile waited for; a slice of 100 takes a tenth of a millisecond.
SWEEP_SLICES = 50
TIMEOUT_PERIOD_SECONDS = 2.0
APPLICATION_PERIOD_SECONDS = 1.0


class _Rounds:
    """The connections of one sweep still to look at in the current period."""

    def __init__(self, slices: int = SWEEP_SLICES) -> None:
        self.slices = slices
        self.pending: list[Any] = []
        self.size = 0

    def next_slice(self, connections: dict[Any, Any]) -> list[Any]:
        if not self.pending:
            self.pending = list(connections)
            self.size = -(-len(self.pending) // self.slices)
        taken, self.pending = self.pending[: self.size], self.pending[self.size :]
        return [protocol for protocol in taken if protocol in connections]


def timeout_checker(self: Any) -> None:
    """Daphne checks every connection's timeouts every two seconds, all in one go: here a
    slice at a time."""
    rounds = self.__dict__.setdefault("_timeout_rounds", _Rounds())
    for protocol in rounds.next_slice(self.connections):
        protocol.check_timeouts()
    _reactor().callLater(TIMEOUT_PERIOD_SECONDS / rounds.slices, self.timeout_checker)


def application_checker(self: Any) -> None:
    """Daphne's check of its connections' applications (every second, all in one go), a slice
    at a time; each connection is still looked at once a second, as Daphne does it: an
    application still running long after its client disconnected is cancelled, a finished one
    is reaped (its exception logged, and answered with a 500 when the client is still there),
    and a connection whose client and application are both gone is forgotten."""
    rounds = self.__dict__.setdefault("_application_rounds", _Rounds())
    for protocol in rounds.next_slice(self.connections):
        _application_check(self, protocol, self.connections[protocol])
    _reactor().callLater(APPLICATION_PERIOD_SECONDS / rounds.slices, self.application_checker)


def _application_check(server: Any, protocol: Any, details: dict[str, Any]) -> None:
    """Daphne's ``Server.application_checker`` (4.2) for one connection."""
    disconnected = details.get("disconnected")
    application_instance = details.get("application_instance")
    if (
        disconnected
        and time.time() - disconnected > server.application_close_timeout
        and application_instance
        and not application_instance.done()
    ):
        daphne_server.logger.warning(
            "Application instance %r for connection %s took too long to shut down and was killed.",
            application_instance,
            repr(protocol),
        )
        application_instance.cancel()
    if application_instance and application_instance.done():
        try:
            exception = application_instance.exception()
        except (CancelledError, asyncio.CancelledError):
            pass
        else:
            if exception:
                if isinstance(exception, KeyboardInterrupt):
                    server.stop()  # the protocol asks the server to exit (in tests)
                else:
                    daphne_server.logger.error(
                        "Exception inside application: %s", exception, exc_info=exception
                    )
                    if not disconnected:
                        protocol.handle_exception(exception)
        del server.connections[protocol]["application_instance"]
        application_instance = None
    if not application_instance and disconnected:
        del server.connections[protocol]


def install() -> None:
    """Daphne builds each connection's requests with ``http_protocol.WebRequest`` and each
    websocket's protocol with ``WebSocketFactory.protocol``: ours; its server sweeps its
    connections' timeouts and applications in slices."""
    http_protocol.WebRequest = WebRequest
    ws_protocol.WebSocketFactory.protocol = WebSocketProtocol
    daphne_server.Server.timeout_checker = timeout_checker
    daphne_server.Server.application_checker = application_checker
