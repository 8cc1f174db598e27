"""S3 on loopback for tests: moto's server (PyPI ``moto[server]``) as its own process, with a
bucket Tansu can keep its topics in (``--storage-engine s3://BUCKET/``)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.tansu import free_port

MOTO_SERVER = str(Path(sys.executable).parent / "moto_server")


class S3Server:
    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """What an S3 client (Tansu's object_store) needs to reach this server."""
        return {
            "AWS_ENDPOINT": self.endpoint,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ALLOW_HTTP": "true",
        }

    def start(self) -> S3Server:
        self.proc = subprocess.Popen(
            [MOTO_SERVER, "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            assert self.proc.poll() is None, f"moto_server exited; see {self.log}"
            try:
                httpx.get(self.endpoint, timeout=1)
                return self
            except httpx.TransportError:
                assert time.monotonic() < deadline, f"moto_server not up; see {self.log}"
                time.sleep(0.05)

    def create_bucket(self, name: str) -> None:
        """S3's CreateBucket (``PUT /name``); moto does not check signatures."""
        r = httpx.put(f"{self.endpoint}/{name}", timeout=10)
        assert r.status_code == 200, r.text

    def get(self, bucket: str, key: str) -> bytes:
        """An object's bytes, through boto3 (moto refuses an unsigned read of an object)."""
        import boto3  # type: ignore[import-untyped]  # moto's own dependency

        env = self.env()
        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name=env["AWS_DEFAULT_REGION"],
        )
        body: bytes = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
