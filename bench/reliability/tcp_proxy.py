"""A TCP proxy on 127.0.0.1 that a reliability run can cut: the app reaches its database only through it.

`cut()` closes every connection it carries and stops listening, so new connections are refused, as when the
database server or the network to it goes away; `restore()` listens again on the same port.
"""

from __future__ import annotations

import contextlib
import socket
import threading

HOST = "127.0.0.1"
_CHUNK = 64 * 1024


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target_host`:`target_port`, one pair of threads per connection."""

    def __init__(self, port: int, target_host: str, target_port: int) -> None:
        self.port, self.target = port, (target_host, target_port)
        self._listener: socket.socket | None = None
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._ended: dict[tuple[socket.socket, socket.socket], int] = {}
        self._lock = threading.Lock()
        self.connections = 0

    def __enter__(self) -> TcpProxy:
        self.restore()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cut()

    def restore(self) -> None:
        """Listen (again) and forward new connections."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Stop listening and close every connection carried now."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            pairs = list(self._pairs)
        for pair in pairs:  # their threads see the connection end and close it
            for side in pair:
                with contextlib.suppress(OSError):
                    side.shutdown(socket.SHUT_RDWR)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            pair = (client, upstream)
            with self._lock:
                self._pairs.add(pair)
                self.connections += 1
            threading.Thread(target=self._pump, args=(client, upstream, pair), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, pair), daemon=True).start()

    def _pump(
        self, source: socket.socket, sink: socket.socket, pair: tuple[socket.socket, socket.socket]
    ) -> None:
        try:
            while data := source.recv(_CHUNK):
                sink.sendall(data)
        except OSError:
            pass
        for side in pair:  # ends the other direction's thread too
            with contextlib.suppress(OSError):
                side.shutdown(socket.SHUT_RDWR)
        with self._lock:
            done = self._ended.get(pair, 0) + 1
            self._ended[pair] = done
            self._pairs.discard(pair)
        if done == 2:  # the second thread of the pair closes both sockets
            del self._ended[pair]
            for side in pair:
                side.close()
