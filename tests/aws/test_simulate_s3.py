"""`vpcflow simulate --out s3://...` against a local S3 (moto's server, real HTTP): the same files a
local --out writes, uploaded, and ingested back from s3:// without a bad record."""

from __future__ import annotations

import hashlib

import pytest
from typer.testing import CliRunner

from vpcflow.aws_session import AwsSettings
from vpcflow.capture.lab import LAB_MODEL, LAB_SCENARIO
from vpcflow.capture.upload_s3 import parse_s3_url, upload_folder
from vpcflow.cli import app
from vpcflow.errors import InputError
from vpcflow.lake import IngestOptions, LocalSource, ingest
from vpcflow.lake.source_s3 import S3Source
from vpcflow.records.badrecords import OnError

BUCKET = "simulated-flow-logs"
runner = CliRunner()
SIMULATE = [
    "simulate",
    "--model",
    str(LAB_MODEL),
    "--scenario",
    str(LAB_SCENARIO),
    "--hours",
    "0.25",
    "--seed",
    "3",
]


def digests_in_bucket(s3, prefix: str) -> dict[str, str]:
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for item in page.get("Contents", ()):
            body = s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
            found[item["Key"][len(prefix) :]] = hashlib.sha256(body).hexdigest()
    return found


def test_simulate_to_s3_uploads_what_a_local_out_writes_and_it_ingests_back_clean(s3, tmp_path):
    s3.create_bucket(Bucket=BUCKET)
    local = runner.invoke(app, [*SIMULATE, "--out", str(tmp_path / "local")])
    assert local.exit_code == 0, local.output
    remote = runner.invoke(app, [*SIMULATE, "--out", f"s3://{BUCKET}/runs/one/"])
    assert remote.exit_code == 0, remote.output
    assert f"to s3://{BUCKET}/runs/one/" in remote.output
    assert f"vpcflow ingest s3://{BUCKET}/runs/one/s3/<bucket>" in remote.output

    files = {
        p.relative_to(tmp_path / "local").as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (tmp_path / "local").rglob("*")
        if p.is_file()
    }
    assert any(name.startswith("s3/") and name.endswith(".log.gz") for name in files)
    assert digests_in_bucket(s3, "runs/one/") == files  # same keys, same bytes

    from_s3 = S3Source(f"s3://{BUCKET}/runs/one/s3/", AwsSettings())
    result = ingest([from_s3], tmp_path / "lake-s3", IngestOptions(on_error=OnError.skip))
    from_s3.close()
    local_result = ingest([LocalSource(tmp_path / "local" / "s3")], tmp_path / "lake-local")
    assert result.error is None and result.bad == 0 and not from_s3.warnings
    assert result.records == local_result.records > 0
    assert result.objects_read == sum(1 for name in files if name.startswith("s3/"))


def test_upload_errors_name_the_key_and_the_fix(aws_env, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.log.gz").write_bytes(b"x")
    with pytest.raises(
        InputError, match=r"s3://no-such-bucket-here/p/a/x.log.gz: cannot upload: NoSuchBucket.*aws s3 mb"
    ):
        upload_folder(tmp_path, "s3://no-such-bucket-here/p", AwsSettings())
    with pytest.raises(InputError, match="write s3://bucket"):
        parse_s3_url("s3:///nothing")
    assert parse_s3_url("s3://b") == ("b", "") and parse_s3_url("s3://b/p/q/") == ("b", "p/q/")
