"""Part of a writer run in a fresh Python process, so its libraries never load in the exporting process.

pyarrow (Parquet) and pandas with pyreadstat (the SPSS and Stata dictionaries) take 60 to 90 MB once
imported, and a process keeps them for the rest of its life: a web worker that ran one export would carry
them from then on, on top of the app. So the exporting process starts `python -m <module>`, sends it pickled
messages on its standard input (a header, then batches of rows, then END) and reads one pickled reply on its
standard output: the result, or the message of the error that stopped it. The helper exits when it is done
and its memory goes with it. The pipe holds a batch or two, so neither side runs far ahead of the other.

The messages go between this app's own processes only (a pipe, never a file or a socket).
"""

from __future__ import annotations

import itertools
import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final

import survey_app

#: Marks the end of the batches.
END: Final = None
#: Where `survey_app` can be imported from (the helper may start in any folder).
_IMPORT_ROOT = str(Path(survey_app.__file__).resolve().parents[1])


class HelperError(RuntimeError):
    """A helper process could not do its part; the message says what went wrong."""


def batches(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """`rows` in lists of at most `size`."""
    iterator = iter(rows)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


class HelperProcess:
    """A running helper: `send` the header and the batches, then `finish` for its reply."""

    def __init__(self, module: str) -> None:
        self.module = module
        path = os.pathsep.join(filter(None, [_IMPORT_ROOT, os.environ.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [sys.executable, "-m", module],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": path},
        )

    def __enter__(self) -> HelperProcess:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self.process.poll() is None:  # the caller failed half-way: the helper's work is of no use
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()

    def send(self, message: Any) -> None:
        """Send one message (the helper reads them in order)."""
        assert self.process.stdin is not None
        try:
            pickle.dump(message, self.process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        except BrokenPipeError:  # the helper stopped: its reply says why
            self.finish()
            raise HelperError(f"{self.module} stopped before reading everything") from None

    def finish(self) -> Any:
        """Send END, wait for the reply and return the helper's result (HelperError if it failed)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            pickle.dump(END, self.process.stdin)
            self.process.stdin.close()
        except BrokenPipeError:
            pass
        try:
            status, value = pickle.load(self.process.stdout)
        except EOFError:
            code = self.process.wait()
            raise HelperError(f"{self.module} ended without a reply (exit status {code})") from None
        self.process.wait()
        if status != "ok":
            raise HelperError(f"{self.module}: {value}")
        return value


def without_modules(*names: str) -> None:
    """In the helper, before its libraries load: `import name` fails, as if the module were not installed.

    Libraries that use numpy, pandas or pyarrow only when present load them at import; a helper that needs
    none of their features saves their memory."""
    for name in names:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # None: import raises ImportError


def _messages(stream: IO[bytes]) -> Iterator[Any]:
    while (message := pickle.load(stream)) is not END:
        yield message


def serve(work: Callable[[Any, Iterator[Any]], Any]) -> None:
    """In the helper: run `work(header, batches)` on the messages and reply with its result or error."""
    reply_stream = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything a library prints goes to stderr, never into the reply
    stdin = sys.stdin.buffer
    try:
        header = pickle.load(stdin)
        reply = ("ok", work(header, _messages(stdin)))
    except Exception as error:  # the caller turns it into a HelperError with this message
        reply = ("error", f"{type(error).__name__}: {error}")
    try:
        pickle.dump(reply, reply_stream, protocol=pickle.HIGHEST_PROTOCOL)
        reply_stream.close()
    except BrokenPipeError:  # the caller is gone (it stopped, or was stopped): nobody to tell
        pass
    sys.exit(0 if reply[0] == "ok" else 1)
