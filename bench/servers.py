"""gunicorn servers for the benchmarks and the reliability runs, on 127.0.0.1, stopped by their own PID.

`Gunicorn(app, port=..., env=...)` starts `gunicorn -c deploy/gunicorn.conf.py APP` (the production settings,
2 workers of `PRODUCTION_THREADS` threads unless told otherwise) with its output in a log file, waits until
`ready_path` answers 200, and stops the master (which stops its workers) when the `with` block ends.
`workers()` lists the worker PIDs; `cpu_seconds()` is the CPU time the workers used, read from /proc.
"""

from __future__ import annotations

import os
import runpy
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
GUNICORN_CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
HOST = "127.0.0.1"
#: Threads per worker in the production settings (`GUNICORN_THREADS` changes them there too).
PRODUCTION_THREADS: int = runpy.run_path(str(GUNICORN_CONFIG))["threads"]
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def pick_port(offset: int, base_variable: str) -> int:
    """The port `$base_variable` + offset when that variable is set, else one the system has free."""
    base = os.environ.get(base_variable)
    if base:
        return int(base) + offset
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def port_is_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:port (a benchmark never measures someone else's server)."""
    probe = socket.socket()
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind((HOST, port))
    except OSError:
        return False
    finally:
        probe.close()
    return True


def children_of(pid: int) -> list[int]:
    """The PIDs whose parent is `pid`."""
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
            children.append(int(entry))
    return children


def cpu_seconds_of(pid: int) -> float:
    """User plus system CPU seconds of one process (0 when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


class Gunicorn:
    """A gunicorn master and its workers for one app, for the length of a `with` block."""

    def __init__(
        self,
        app: str,
        *,
        port: int,
        env: dict[str, str],
        log: Path,
        workers: int = 2,
        threads: int = PRODUCTION_THREADS,
        ready_path: str = "/healthz",
        cwd: Path = ROOT,
    ) -> None:
        self.app, self.port, self.log, self.ready_path, self.cwd = app, port, log, ready_path, cwd
        self.env = {
            **os.environ,
            **env,
            "GUNICORN_BIND": f"{HOST}:{port}",
            "GUNICORN_WORKERS": str(workers),
            "GUNICORN_THREADS": str(threads),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    def __enter__(self) -> Gunicorn:
        if not port_is_free(self.port):
            raise RuntimeError(f"port {self.port} is in use; stop whatever holds it first")
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = self.log.open("ab")
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(GUNICORN_CONFIG),
            "--no-control-socket",
            self.app,
        ]
        self.process = subprocess.Popen(
            command, cwd=self.cwd, env=self.env, stdout=self._log_file, stderr=subprocess.STDOUT
        )
        try:
            self.wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://{HOST}:{self.port}"

    def wait_until_ready(self, timeout: float = 60) -> None:
        """Wait until `ready_path` answers 200 and the configured number of workers runs."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        wanted = int(self.env["GUNICORN_WORKERS"])
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn for {self.app} exited; see {self.log}")
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=5) as answer:
                    if answer.status == 200 and len(self.workers()) >= wanted:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn for {self.app} did not answer within {timeout:.0f} s; see {self.log}")

    def workers(self) -> list[int]:
        """The worker PIDs now."""
        return children_of(self.process.pid) if self.process is not None else []

    def cpu_seconds(self) -> float:
        """CPU seconds used so far by the current workers."""
        return sum(cpu_seconds_of(pid) for pid in self.workers())

    def kill_worker(self) -> int | None:
        """SIGKILL one worker (the master starts a new one); returns its PID."""
        workers = self.workers()
        if not workers:
            return None
        os.kill(workers[0], signal.SIGKILL)
        return workers[0]

    def stop(self) -> None:
        """Stop the master gracefully (it stops its workers); kill it if it does not stop in time."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                for pid in self.workers():
                    os.kill(pid, signal.SIGKILL)
                self.process.kill()
                self.process.wait()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
