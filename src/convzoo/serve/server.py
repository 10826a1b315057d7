"""Run the demo app under uvicorn on a socket bound here, so a busy port is a one-line error and
port 0 (any free port) reports the port it got.

Slow and dead clients are dropped: a request (headers and body) must arrive within READ_TIMEOUT
seconds of the connection opening or of the previous response, an idle keep-alive connection closes
after KEEP_ALIVE seconds, and at most MAX_CONNECTIONS are open at once (more are closed as they
arrive). Each drop is one line in the log.
"""

from __future__ import annotations

import functools
import socket

from ..errors import ConvzooError

READ_TIMEOUT = 15.0  # seconds for a whole request to arrive: a trickling client is dropped after this
KEEP_ALIVE = 5.0  # seconds an idle keep-alive connection stays open
MAX_CONNECTIONS = 64  # open connections; the demo answers one small request in milliseconds


@functools.cache
def guarded_protocol():
    """uvicorn's h11 protocol with a deadline per request and a cap on open connections (uvicorn has
    neither: its keep-alive timer stops at the first byte, and a request trickled a byte at a time
    holds its connection for ever)."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11Protocol(H11Protocol):
        read_timeout = READ_TIMEOUT
        max_connections = MAX_CONNECTIONS
        _deadline = None

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            if len(self.connections) > self.max_connections:
                self.logger.warning("refused a connection from %s: %d connections are open already",
                                    _client(self.client), self.max_connections)
                transport.close()
                return
            self._arm()

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()  # the next request gets a deadline of its own

        def _arm(self) -> None:
            self._disarm()
            if not self.transport.is_closing():
                self._deadline = self.loop.call_later(self.read_timeout, self._too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if self.transport.is_closing() or self.conn.their_state not in (h11.IDLE, h11.SEND_BODY):
                return  # the request is in: the app is answering it
            if self.conn.their_state is h11.SEND_BODY or self.conn.trailing_data[0]:
                self.logger.warning("dropped a client (%s) that sent no complete request within %.0f s",
                                    _client(self.client), self.read_timeout)
            self.transport.close()

    return GuardedH11Protocol


def _client(address) -> str:
    return f"{address[0]}:{address[1]}" if address else "unknown"


def server_config(app, **options):
    """The uvicorn configuration of every demo server: quiet logs and the guards above."""
    import uvicorn

    return uvicorn.Config(app, log_level="warning", access_log=False, http=guarded_protocol(),
                          timeout_keep_alive=KEEP_ALIVE, **options)


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say so, and without it
    # Nagle's algorithm and delayed ACKs add ~40 ms to every response.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConvzooError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    sock.listen(128)
    return sock


def address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def serve(app, sock: socket.socket) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM shut uvicorn down cleanly)."""
    import uvicorn

    uvicorn.Server(server_config(app, timeout_graceful_shutdown=2)).run(sockets=[sock])


class ServerThread:
    """The app served from a background thread (tests, notebooks): `with ServerThread(app) as url:`."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0):
        import threading

        import uvicorn

        self.sock = bind(host, port)
        self.url = address(self.sock).rstrip("/")
        self.app = app
        self.server = uvicorn.Server(server_config(app))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> str:
        import time

        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started and self.thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not self.server.started:
            raise RuntimeError("the demo server thread did not start")
        return self.url

    def __exit__(self, *exc) -> None:
        self.app.state.stopping = True  # live streams end, so shutdown does not wait on them
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()
