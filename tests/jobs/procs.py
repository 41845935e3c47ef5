"""Helpers of the process-level jobs tests: start workers/servers, wait for conditions."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def worker_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """A clean environment for a worker: tiny.en on CPU, no hub, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHISPERD_")}
    env.update({
        "WHISPERD_DATA_DIR": str(data_dir),
        "WHISPERD_MODEL": "tiny.en",
        "WHISPERD_DEVICE": "cpu",
        "WHISPERD_COMPUTE_TYPE": "int8",
        "WHISPERD_ALLOW_DOWNLOAD": "false",
        "WHISPERD_LOG_LEVEL": "INFO",
        # The test machine has 2 cores for everything: keep each worker to one.
        "WHISPERD_CPU_THREADS": "1",
    })
    env.update({"WHISPERD_" + k.upper(): v for k, v in settings.items()})
    return env


class Proc:
    """A child process with its output in a log file (read on failure)."""

    def __init__(self, args: list[str], env: Mapping[str, str], cwd: Path, log: Path) -> None:
        self.log = log
        self._file = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(args, env=dict(env), cwd=cwd, stdout=self._file,
                                      stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_output(self, text: str, timeout_s: float = 120.0) -> None:
        wait_until(lambda: text in self.output() or self.popen.poll() is not None,
                   timeout_s, f"{text!r} in {self.log}")
        if text not in self.output():
            raise AssertionError(f"process exited early:\n{self.output()[-3000:]}")

    def kill9(self) -> None:
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=30)

    def stop(self) -> int | None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        self._file.close()
        return self.popen.returncode


def start_worker(data_dir: Path, cwd: Path, name: str, **settings: str) -> Proc:
    cwd.mkdir(parents=True, exist_ok=True)
    return Proc([sys.executable, "-m", "whisperd.jobs.worker"], worker_env(data_dir, **settings),
                cwd, cwd / f"{name}.log")


def wait_until(condition: Callable[[], T], timeout_s: float, what: str,
               interval_s: float = 0.1) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(interval_s)
