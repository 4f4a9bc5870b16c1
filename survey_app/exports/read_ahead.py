"""Reading ahead: the next batch of rows is fetched while the previous one is written."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
_END = object()


class ReadAhead(Generic[T]):
    """Iterates ``batches`` with a thread that fetches up to ``depth`` batches ahead of the reader.

    A database that computes a batch while the app is busy with the one before lets the two work at the
    same time (the thread waits on the socket without Python's lock). An error of the fetching is raised
    to the reader where the batch would have come; ``close`` stops the thread and waits for it.
    """

    def __init__(self, batches: Iterator[T], depth: int = 2) -> None:
        self._batches = batches
        self._ready: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._fetch, name="export-read-ahead", daemon=True)
        self._thread.start()

    def _fetch(self) -> None:
        try:
            for batch in self._batches:
                if not self._put(batch):
                    return
        except BaseException as error:  # handed to the reader, which raises it
            self._put(error)
            return
        self._put(_END)

    def _put(self, item: object) -> bool:
        """Queue an item, giving up when the reader has stopped; False once it has."""
        while not self._stopping.is_set():
            try:
                self._ready.put(item, timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        item = self._ready.get()
        if item is _END:
            self._ready.put(_END)  # a further next() ends as well
            raise StopIteration
        if isinstance(item, BaseException):
            raise item
        return item  # type: ignore[return-value]

    def close(self) -> None:
        """Stop fetching and wait for the thread (the batches' source may be closed after this)."""
        self._stopping.set()
        self._thread.join()
