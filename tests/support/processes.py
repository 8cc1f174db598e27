"""Platform processes started as a person (or Kubernetes) would: `crm ...` with settings in
the environment, waited for on /ready, killed and restarted by tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.tansu import free_port

CRM = str(Path(sys.executable).parent / "crm")


class Process:
    def __init__(
        self,
        args: list[str],
        env: dict[str, str],
        log: Path,
        *,
        cwd: Path | None = None,
        exe: str = CRM,
    ) -> None:
        """``exe`` as a person types it (``.venv/bin/crm``), run in ``cwd``."""
        self.args = args
        self.cwd = cwd
        self.exe = exe
        self.port = free_port()
        self.env = {**env, "CRM_PORT": str(self.port)}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait: bool = True, timeout: float = 60) -> Process:
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(f"\n==== start {self.starts}: crm {' '.join(self.args)}\n".encode())
        self.proc = subprocess.Popen(
            [self.exe, *self.args],
            env=self.env,
            cwd=self.cwd,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"crm {' '.join(self.args)} exited; see {self.log}")
            try:
                if httpx.get(f"{self.url}/ready", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"crm {' '.join(self.args)} not ready in {timeout}s; see {self.log}")

    def kill(self) -> None:
        """SIGKILL: no goodbye, no flush, no checkpoint."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def operator(env: dict[str, str], *args: str) -> str:
    """Run ``crm ARGS`` once, as an operator would (``crm tenants add acme``); its stderr."""
    done = subprocess.run(
        [CRM, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, f"crm {' '.join(args)}: {done.stderr}"
    return done.stderr


def platform_env(data_dir: Path, bus_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "CRM_DATA_DIR": str(data_dir),
        "CRM_BUS": bus_url,
        "CRM_KAFKA_PARTITIONS": "3",
        # Tansu holds a rebalance for its full timeout: keep it short for tests
        "CRM_KAFKA_REBALANCE_TIMEOUT_SECONDS": "3",
        "CRM_KAFKA_SESSION_TIMEOUT_SECONDS": "6",
        "CRM_LOG_LEVEL": "INFO",
    }
