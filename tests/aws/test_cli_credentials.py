"""`vpcflow ingest s3://...` as a user runs it: a real process whose AWS settings come from the
environment, the AWS config files, or --profile/--region/--endpoint-url, as the AWS CLI resolves
them; and no credential in its output, even when a server echoes the request's credentials back."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from typer.testing import CliRunner

from tests.aws.conftest import CLEARED
from tests.aws.helpers import flow_object, lake_packets, object_key
from vpcflow.aws_session import AwsSettings
from vpcflow.cli import app
from vpcflow.errors import VpcflowError

BUCKET = "flow-logs-cli"
ACCESS_KEY = "AKIAVPCFLOWTESTKEY01"
SECRET_KEY = "vpcflow/Secret+Key/0123456789abcdefghijklmnop"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLEvpcflowSessionToken0123456789"
SECRETS = (ACCESS_KEY, SECRET_KEY, TOKEN)


runner = CliRunner()


@dataclass
class Run:
    code: int
    output: str  # stdout and stderr, with the `error: ...` line main() prints for a VpcflowError


def run(env: dict, *args: str) -> Run:
    """The command in this process (fast), with exactly `env` as its environment."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        result = runner.invoke(app, list(args))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    if isinstance(result.exception, VpcflowError):
        return Run(2, result.output + f"error: {result.exception}\n")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.output)


def run_process(env: dict, *args: str) -> Run:
    """The command as a user runs it: a process of its own (slower; used once)."""
    done = subprocess.run(
        [sys.executable, "-m", "vpcflow.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )
    return Run(done.returncode, done.stdout + done.stderr)


def clean_env(tmp_path, **extra: str) -> dict:
    """The environment without any AWS setting, then `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in CLEARED}
    env |= {
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return env | extra


def secret_env(tmp_path, endpoint: str) -> dict:
    return clean_env(
        tmp_path,
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_SESSION_TOKEN=TOKEN,
        AWS_REGION="us-east-1",
        AWS_ENDPOINT_URL=endpoint,
    )


def put_objects(s3, count: int, corrupt: int | None = None) -> list[str]:
    s3.create_bucket(Bucket=BUCKET)
    keys = [object_key(i) for i in range(count)]
    for i, key in enumerate(keys):
        body = b"\x1f\x8b\x08\x00garbage" * 10 if i == corrupt else flow_object(2 * i + 1, 2, 1_763_640_000)
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    return keys


def assert_no_secret(*outputs: str) -> None:
    for output in outputs:
        for secret in SECRETS:
            assert secret not in output


def test_a_profile_in_the_aws_config_files_gives_region_endpoint_and_credentials(
    s3, moto_server, tmp_path, monkeypatch
):
    put_objects(s3, 3)
    (tmp_path / "config").write_text(
        f"[profile flows]\nregion = us-east-1\nendpoint_url = {moto_server.endpoint}\n"
    )
    (tmp_path / "credentials").write_text(
        f"[flows]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
    )
    env = clean_env(tmp_path)
    env |= {
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
    }
    lake = tmp_path / "lake"

    done = run(env, "ingest", f"s3://{BUCKET}/logs/", "--lake", str(lake), "--profile", "flows")
    assert done.code == 0, done.output
    assert "ingested 6 records from 3 objects" in done.output
    assert lake_packets(lake) == [1, 2, 3, 4, 5, 6]
    assert_no_secret(done.output)

    # AWS_PROFILE does what --profile does; the lake already has every object
    again = run(env | {"AWS_PROFILE": "flows"}, "ingest", f"s3://{BUCKET}/logs/", "--lake", str(lake))
    assert again.code == 0, again.output
    assert "3 objects were already in the lake" in again.output

    missing = run(env, "ingest", f"s3://{BUCKET}/logs/", "--lake", str(lake), "--profile", "nope")
    assert missing.code == 2
    assert "no AWS profile named 'nope'" in missing.output and "list-profiles" in missing.output

    # The library resolves the same credentials the AWS CLI would, from the profile (an explicit
    # profile wins over credentials in the environment, as in the AWS CLI)
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.setenv(name, env[name])
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    settings = AwsSettings(profile="flows")
    assert settings.session.get_credentials().access_key == ACCESS_KEY
    assert settings.region_name == "us-east-1"
    assert settings.client("s3").meta.endpoint_url == moto_server.endpoint or os.environ.get(
        "AWS_ENDPOINT_URL"
    )


def test_endpoint_url_and_region_options(s3, moto_server, tmp_path):
    put_objects(s3, 2)
    env = clean_env(tmp_path, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    lake = tmp_path / "lake"
    done = run(
        env, "ingest", f"s3://{BUCKET}/logs/", "--lake", str(lake),
        "--endpoint-url", moto_server.endpoint, "--region", "eu-west-1",
    )  # fmt: skip
    assert done.code == 0, done.output
    assert lake_packets(lake) == [1, 2, 3, 4]
    assert_no_secret(done.output)


def test_no_credential_in_the_output_of_a_run_with_bad_objects_and_errors(s3, moto_server, tmp_path):
    keys = put_objects(s3, 4, corrupt=2)
    env = secret_env(tmp_path, moto_server.endpoint)
    lake = tmp_path / "lake"

    skipped = run(env, "ingest", f"s3://{BUCKET}/logs/", "--lake", str(lake), "--on-error", "skip")
    assert skipped.code == 0, skipped.output
    assert keys[2] in skipped.output  # the corrupt object is named by its key
    assert lake_packets(lake) == [1, 2, 3, 4, 7, 8]

    stopped = run(env, "ingest", f"s3://{BUCKET}/logs/", "--lake", str(tmp_path / "lake2"))
    assert stopped.code == 1 and keys[2] in stopped.output

    no_bucket = run(env, "ingest", "s3://no-such-bucket-cli/", "--lake", str(lake))
    assert no_bucket.code == 2 and "NoSuchBucket" in no_bucket.output

    no_group = run(env, "ingest", "cwlogs:///aws/none", "--lake", str(lake))
    assert no_group.code == 2 and "no log group named '/aws/none'" in no_group.output

    assert_no_secret(
        *(p.output for p in (skipped, stopped, no_bucket, no_group)),
        *(
            path.read_text(errors="replace")
            for path in lake.rglob("*")
            if path.is_file() and path.suffix != ".parquet"
        ),
    )


class _EchoHandler(BaseHTTPRequestHandler):
    """A hostile endpoint: every request is refused with its own credential headers in the message."""

    def do_GET(self):  # noqa: N802 - http.server's name
        echoed = f"{self.headers.get('Authorization')} {self.headers.get('X-Amz-Security-Token')}"
        body = f"<Error><Code>AccessDenied</Code><Message>denied: {echoed}</Message></Error>".encode()
        self.send_response(403)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def echo_endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_credentials_echoed_back_by_a_server_are_cut_out_of_the_message(echo_endpoint, tmp_path):
    done = run_process(
        secret_env(tmp_path, echo_endpoint), "ingest", f"s3://{BUCKET}/logs/", "--lake", str(tmp_path / "l")
    )
    assert done.code == 2
    assert "AccessDenied: denied: AWS4-HMAC-SHA256 Credential=***/" in done.output  # the echo reached us
    assert "s3:ListBucket" in done.output  # and the hint says what the credentials need
    assert_no_secret(done.output)


def test_region_precedence_is_the_aws_clis(aws_env, monkeypatch, tmp_path):
    (tmp_path / "config").write_text("[default]\nregion = ap-south-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_REGION", "eu-west-2")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-1")
    assert AwsSettings(region="ca-central-1").region_name == "ca-central-1"  # --region first
    assert AwsSettings().region_name == "eu-west-2"  # then AWS_REGION
    monkeypatch.delenv("AWS_REGION")
    assert AwsSettings().region_name == "us-west-1"  # then AWS_DEFAULT_REGION
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    assert AwsSettings().region_name == "ap-south-1"  # then the profile
    assert AwsSettings().client("logs").meta.region_name == "ap-south-1"
