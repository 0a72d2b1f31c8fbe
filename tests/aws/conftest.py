"""A local AWS for the tests: moto's server mode on 127.0.0.1, spoken to over real HTTP.

The server runs in its own process for the whole session (`python -m moto.server`, from the dev
dependency `moto[server]`). Every test gets a clean server (moto's reset API) and an environment
that points boto3 at it the way a user would point the AWS CLI at another endpoint:
AWS_ENDPOINT_URL, fake credentials, a region, and no shared config or credentials files.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass

import pytest

pytest.importorskip("moto", reason="the AWS tests need the dev dependency moto[server]")
boto3 = pytest.importorskip("boto3")

REGION = "us-east-1"
FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
# Variables of the machine's own AWS setup that must not leak into a test.
CLEARED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_RETRY_MODE",
    "AWS_MAX_ATTEMPTS",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, timeout: float = 2.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback only
        return response.read()


@dataclass
class MotoServer:
    endpoint: str
    process: subprocess.Popen

    def reset(self) -> None:
        request = urllib.request.Request(self.endpoint + "/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - loopback only
            pass


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory):
    """moto's server mode in a subprocess on a free loopback port, for the whole session."""
    for _ in range(3):  # the port is free when chosen; another process could take it first
        port = _free_port()
        log = open(tmp_path_factory.mktemp("moto") / "server.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **FAKE_ENV},
        )
        endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                _get(endpoint + "/moto-api/data.json")
                break
            except OSError:
                time.sleep(0.1)
        if process.poll() is None:
            break
        log.close()
    else:
        pytest.fail("moto server did not start (see its log in the pytest tmp folder)")
    server = MotoServer(endpoint, process)
    try:
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture
def aws_env(moto_server, monkeypatch, tmp_path):
    """A clean moto server and an environment pointing boto3 (and our CLI) at it."""
    moto_server.reset()
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    for name, value in FAKE_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return dict(os.environ)


@pytest.fixture
def s3(aws_env):
    return boto3.client("s3", region_name=REGION)


@pytest.fixture
def logs(aws_env):
    return boto3.client("logs", region_name=REGION)


@pytest.fixture
def ec2(aws_env):
    return boto3.client("ec2", region_name=REGION)


@pytest.fixture
def backoffs(monkeypatch):
    """botocore's back-off delays, recorded as (attempt, seconds) and then slept for at most 20 ms so
    that throttling tests stay fast (the delays are botocore's own computation, unchanged)."""
    from botocore.retries import standard

    delays: list[tuple[int, float]] = []
    real = standard.ExponentialBackoff.delay_amount

    def recorded(self, context):
        delay = real(self, context)
        delays.append((context.attempt_number, delay))
        return min(delay, 0.02)

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", recorded)
    return delays
