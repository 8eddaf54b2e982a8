"""A database outage without touching the database: a TCP proxy in front of PostgreSQL that
can go silent, as a dropped network or a hung server does.

While silent it still accepts connections (the kernel completes the handshake) but answers
nothing, and it stops forwarding on the connections already open: clients wait for a reply
that never comes, until their own timeouts give up. ``restore()`` resets the connections
that lived through the silence (as a network that comes back does) and forwards again.
``go_down()`` is the other kind of outage: a server that is stopped (every connection is
closed at once).
Only loopback addresses are used.
"""
from __future__ import annotations

import socket
import threading


class SilentProxy:
    def __init__(self, target: tuple[str, int] | str = ("127.0.0.1", 5432)):
        """``target``: (host, port), or a database URL whose host and port are taken."""
        if isinstance(target, str):
            from urllib.parse import urlsplit

            parts = urlsplit(target)
            target = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self.target = target
        self.server = socket.create_server(("127.0.0.1", 0), backlog=256)
        self.port = self.server.getsockname()[1]
        self.silent = threading.Event()
        self.down = threading.Event()
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, database_url: str) -> str:
        """``database_url`` with its host and port replaced by the proxy's."""
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(database_url)
        auth = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        return urlunsplit(parts._replace(netloc=f"{auth}127.0.0.1:{self.port}"))

    def go_silent(self) -> None:
        self.silent.set()

    def go_down(self) -> None:
        """Refuse new connections (closed at once, as a stopped server's port is) and reset
        the open ones."""
        self.restore()
        self.down.set()

    def restore(self) -> None:
        """Forward again; connections that were open during the silence are reset."""
        with self._lock:
            stale, self._open = self._open, []
        for s in stale:
            _close(s)
        self.silent.clear()
        self.down.clear()

    def close(self) -> None:
        self._closed = True
        self.restore()
        _close(self.server)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if self.down.is_set():
                _close(client)
                continue
            with self._lock:
                self._open.append(client)
            if self.silent.is_set():
                threading.Thread(target=self._swallow, args=(client,), daemon=True).start()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._open.append(upstream)
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _swallow(self, conn: socket.socket) -> None:
        try:
            while conn.recv(65536):
                pass
        except OSError:
            pass

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if not self.silent.is_set():
                    dst.sendall(data)
        except OSError:
            pass
        _close(dst)
        _close(src)


def _close(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        s.close()
    except OSError:
        pass
