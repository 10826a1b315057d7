"""Run the demo app under uvicorn on a socket bound here, so a busy port is a one-line error and
port 0 (any free port) reports the port it got.

Slow and dead clients are dropped: a request (headers and body) must arrive within READ_TIMEOUT
seconds of the connection opening or of the previous response, an idle keep-alive connection closes
after KEEP_ALIVE seconds, and at most MAX_CONNECTIONS are open at once, MAX_PER_CLIENT from one
address. A new connection beyond either limit makes room by closing the oldest connection that is
not being answered (one holding part of a request first, then an idle one) of the client with the
most connections: a slowloris that holds and reopens many sockets evicts its own, and a
well-behaved client, whose request arrives in milliseconds, still gets in (even from the same
address). The new one is refused only when MAX_CONNECTIONS are open and none can be closed.
Each drop is one line in the log.
"""

from __future__ import annotations

import functools
import socket

from ..errors import ConvzooError

READ_TIMEOUT = 15.0  # seconds for a whole request to arrive: a trickling client is dropped after this
KEEP_ALIVE = 5.0  # seconds an idle keep-alive connection stays open
MAX_CONNECTIONS = 64  # open connections; the demo answers one small request in milliseconds
MAX_PER_CLIENT = 16  # open connections from one address (more while the others are just starting)
FRESH = 0.5  # seconds a new connection has to send its request before it may be closed for another


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
        max_per_client = MAX_PER_CLIENT
        _deadline = None
        _served = 0  # responses completed on this connection: a client that has shown it is well-behaved

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._opened = self.loop.time()
            if _make_room(self, h11):
                self._arm()

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

        def on_response_complete(self) -> None:
            self._served += 1
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


def _make_room(newcomer, h11) -> bool:
    """Keep the open connections within the limits as `newcomer` arrives: close another to make room
    (one line in the log), or refuse `newcomer`. True when `newcomer` stays open."""
    open_ = [c for c in newcomer.connections if not c.transport.is_closing()]
    mine = [c for c in open_ if _host(c) == _host(newcomer)]
    if len(mine) <= newcomer.max_per_client and len(open_) <= newcomer.max_connections:
        return True
    pool = mine if len(mine) > newcomer.max_per_client else _busiest(open_)
    victim = _evictable(pool, newcomer, h11, newcomer._opened)
    if victim is None and len(open_) <= newcomer.max_connections:
        return True  # over this client's share, but every other is just starting or answered
    if victim is None:
        newcomer.logger.warning("refused a connection from %s: %d connections are open already",
                                _client(newcomer.client), len(newcomer.connections) - 1)
        newcomer.transport.close()
        return False
    newcomer.logger.warning("closed the oldest waiting connection of %s to make room", _client(victim.client))
    victim.transport.close()
    return True


def _evictable(pool, newcomer, h11, now: float):
    """The connection of `pool` to close for a newcomer, or None. Only one not being answered (its
    request not in yet) is closed: oldest first among those holding part of a request, then
    those idle that never completed one (after FRESH seconds to send it: a connection just
    accepted has had no time to), then idle ones that did."""
    def rank(c):
        sending = c.conn.their_state is h11.SEND_BODY or bool(c.conn.trailing_data[0])
        return (0 if sending else 1 if not c._served else 2, getattr(c, "_opened", 0.0))

    waiting = [c for c in pool if c is not newcomer and not c.transport.is_closing()
               and c.conn.their_state in (h11.IDLE, h11.SEND_BODY)]
    waiting = [c for c in waiting if rank(c)[0] != 1 or now - getattr(c, "_opened", 0.0) > FRESH]
    return min(waiting, key=rank) if waiting else None


def _host(protocol) -> str | None:
    return protocol.client[0] if protocol.client else None


def _busiest(connections) -> list:
    """The connections of the address that holds the most."""
    by_host: dict = {}
    for c in connections:
        by_host.setdefault(_host(c), []).append(c)
    return max(by_host.values(), key=len)


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
