"""A TCP proxy on loopback that tests put between the API and PostgreSQL, and cut."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator
from typing import Literal

Mode = Literal["forward", "refuse", "blackhole", "freeze"]


class TcpProxy:
    """Forwards 127.0.0.1:<port> to an upstream address. Modes:

    - `forward`: a working network;
    - `refuse`: every open connection is reset and new ones are refused (a database that is
      down or restarting);
    - `blackhole`: open connections are reset; new ones are accepted and never answered (a
      database host that hangs, or a half-open load balancer);
    - `freeze`: open connections stay open but nothing passes either way, nor for new ones
      (a hung server or a silent network partition)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.mode: Mode = "forward"
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener = self._listen(0)
        self.port: int = self._listener.getsockname()[1]
        self._closed = False
        self._hold: tuple[bytes, bool] | None = None
        self._held = threading.Event()
        self._released = threading.Event()
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)
        self._acceptor.start()

    @staticmethod
    def _listen(port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(128)
        return sock

    # --- control -------------------------------------------------------------------------

    def set_mode(self, mode: Mode) -> None:
        with self._lock:
            previous, self.mode = self.mode, mode
        if mode in ("refuse", "blackhole"):
            self._reset_all()
        if mode == "refuse":
            with contextlib.suppress(OSError):
                self._listener.close()
        elif previous == "refuse":
            self._listener = self._listen(self.port)
            self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)
            self._acceptor.start()

    def hold(self, pattern: bytes, *, to_server: bool) -> threading.Event:
        """Stop the first chunk that holds `pattern` (going to the server, or coming from it):
        it is not passed on, and its connection hangs until `release()` ends it. Returns an
        event set when that happens: the moment a request is in the middle of its work."""
        self._held.clear()
        self._released.clear()
        self._hold = (pattern, to_server)
        return self._held

    def release(self) -> None:
        self._hold = None
        self._released.set()

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.close()
        self._reset_all()

    def _reset_all(self) -> None:
        with self._lock:
            socks, self._sockets = list(self._sockets), set()
        for s in socks:
            with contextlib.suppress(OSError):
                # SO_LINGER 0: close with RST, as a crashed server or a dropped route would.
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # A pump thread blocked in recv() keeps the socket open through close(): shutdown
            # wakes it, so that both ends really see the connection end (PostgreSQL then ends
            # the backend and rolls its transaction back, as on a server restart).
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()

    # --- plumbing ------------------------------------------------------------------------

    def _track(self, s: socket.socket) -> None:
        with self._lock:
            self._sockets.add(s)

    def _accept_loop(self) -> None:
        listener = self._listener
        while not self._closed:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            self._track(client)
            if self.mode != "forward":
                continue  # accepted, and never answered
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            self._track(upstream)
            for a, b, to_server in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(
                    target=self._pump, args=(a, b, to_server), daemon=True
                ).start()

    def _pump(self, src: socket.socket, dst: socket.socket, to_server: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                hold = self._hold
                if hold is not None and hold[1] == to_server and hold[0] in data:
                    self._hold = None
                    self._held.set()
                    self._released.wait()
                    break  # the held chunk is never delivered; the connection ends
                while self.mode == "freeze":
                    # Swallow: hold the bytes, answer nothing (checked every 50 ms).
                    threading.Event().wait(0.05)
                if self.mode != "forward":
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def proxied_database(prefix: str) -> Iterator[tuple[str, str, TcpProxy]]:
    """A fresh PostgreSQL database beside TEST_DATABASE_URL's, migrated to head, and a proxy in
    front of it; yields (direct URL, URL through the proxy, proxy). Dropped afterwards."""
    import os
    import uuid

    from sqlalchemy.engine import make_url

    from app.migrate import upgrade_to_head
    from tests.conftest import drop_postgres_database, fresh_postgres_database

    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    direct = fresh_postgres_database(name)
    try:
        upgrade_to_head(direct)
        url = make_url(direct)
        proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
        try:
            through = url.set(host="127.0.0.1", port=proxy.port)
            yield direct, through.render_as_string(hide_password=False), proxy
        finally:
            proxy.release()
            proxy.close()
    finally:
        drop_postgres_database(name)
