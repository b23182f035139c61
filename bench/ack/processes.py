"""The stand-in and the apps, each started as a process of its own and always stopped."""
from __future__ import annotations

import atexit
import collections
import http.client
import os
import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .config import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM it if the load generator dies, even by SIGKILL (Linux)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    url: str  # http://127.0.0.1:PORT

    def cpu_seconds(self) -> float:
        """user + system CPU time so far, from /proc (nan where there is no /proc)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return float("nan")


class Children:
    """Starts the stand-in and the apps, each in its own process, and always stops them."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.all: list[Child] = []
        atexit.register(self.stop)

    def _env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SLACK_", "HANDOFF_", "DATABASE_URL", "PORT", "HOST", "LOG_LEVEL"))}
        env["PYTHONPATH"] = str(ROOT)
        env.update(extra)
        return env

    def spawn(self, name: str, argv: list[str], port: int, ready_path: str, **env: str) -> Child:
        log_path = self.tmp / f"{name}.log"
        with open(log_path, "wb") as log_file:
            # cwd is the temp dir, so no .env from the checkout leaks into the apps' settings.
            proc = subprocess.Popen(argv, cwd=self.tmp, env=self._env(**env), stdin=subprocess.DEVNULL,
                                    stdout=log_file, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        child = Child(name, proc, log_path, f"http://127.0.0.1:{port}")
        self.all.append(child)
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                conn.request("GET", ready_path)
                if conn.getresponse().status == 200:
                    conn.close()
                    return child
                conn.close()
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not come up (exit {proc.poll()}):\n{log_path.read_text()[-2000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        for child in self.all:
            if child.proc.poll() is None:
                child.proc.send_signal(signal.SIGTERM)
        for child in self.all:
            try:
                child.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.proc.kill()
                child.proc.wait(timeout=5)
        self.all = []

    def log_problems(self) -> collections.Counter[tuple[str, str]]:
        """Lines at WARNING or above (or tracebacks) in the children's output, by process and first words."""
        found: collections.Counter[tuple[str, str]] = collections.Counter()
        for child in self.all:
            try:
                text = child.log_path.read_text(errors="replace")
            except OSError:
                continue
            for line in text.splitlines():
                if re.search(r"\b(WARNING|ERROR|CRITICAL)\b", line) or line.startswith("Traceback"):
                    found[(child.name, re.sub(r"^\S+ \S+ ", "", line)[:160])] += 1
        return found
