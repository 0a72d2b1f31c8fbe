"""Delivered flow logs to a real S3 bucket: `vpcflow simulate --out s3://bucket/prefix`.

    result = upload_folder(delivered_dir, "s3://my-bucket/sim", AwsSettings())

The simulation delivers into a local folder first (`OUT/s3/<bucket>/AWSLogs/...`,
`OUT/logs/<group>/<stream>.jsonl`, see simulate.deliver); this uploads every file of it with
PutObject, several at once, to the same relative key below the prefix, so `s3://bucket/prefix/`
holds exactly what a local `--out` folder would:

    OUT/s3/lab-flow-logs/AWSLogs/123456789012/vpcflowlogs/...   ->  s3://bucket/prefix/s3/lab-flow-logs/AWSLogs/...

and `vpcflow ingest s3://bucket/prefix/s3/<bucket>/` reads them back. Objects are uploaded whole with
their bytes unchanged (gzip text keeps `.log.gz`, no Content-Encoding, as AWS stores them);
credentials, Region and endpoint are resolved as the AWS CLI resolves them (aws_session.py).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from vpcflow.aws_session import AwsSettings, aws_errors, describe_error, error_code
from vpcflow.errors import InputError

WORKERS = 8
CONTENT_TYPES = {
    ".gz": "application/gzip",
    ".parquet": "application/vnd.apache.parquet",
    ".jsonl": "application/x-ndjson",
}


@dataclass
class UploadResult:
    url: str
    keys: list[str] = field(default_factory=list)  # s3:// URLs, in the folder's order
    bytes: int = 0


def parse_s3_url(url: str) -> tuple[str, str]:
    """(bucket, prefix ending in '/' or empty) of `s3://bucket[/prefix]`."""
    if not url.startswith("s3://") or not url[5:].split("/", 1)[0]:
        raise InputError("write s3://bucket or s3://bucket/prefix", source=url)
    bucket, _, prefix = url[5:].partition("/")
    prefix = prefix.strip("/")
    return bucket, prefix + "/" if prefix else ""


def upload_folder(
    folder: str | os.PathLike,
    url: str,
    settings: AwsSettings | None = None,
    *,
    workers: int = WORKERS,
    client=None,
) -> UploadResult:
    """Every file below `folder`, uploaded to the same relative key below `url`."""
    settings = settings or AwsSettings()
    bucket, prefix = parse_s3_url(url)
    s3 = client or settings.client("s3", connections=workers)
    root = Path(folder)
    files = sorted(p for p in root.rglob("*") if p.is_file())
    result = UploadResult(url)

    def put(path: Path) -> str:
        key = prefix + path.relative_to(root).as_posix()
        extra = {"ContentType": CONTENT_TYPES[path.suffix]} if path.suffix in CONTENT_TYPES else {}
        try:
            with open(path, "rb") as body:
                s3.put_object(Bucket=bucket, Key=key, Body=body, **extra)
        except aws_errors() as exc:
            hint = ""
            if error_code(exc) in ("AccessDenied", "403"):
                hint = "; the credentials need s3:PutObject on the bucket"
            elif error_code(exc) == "NoSuchBucket":
                hint = "; create the bucket first (aws s3 mb s3://" + bucket + ")"
            raise InputError(
                f"cannot upload: {settings.redact(describe_error(exc))}{hint}", source=f"s3://{bucket}/{key}"
            ) from None
        return f"s3://{bucket}/{key}"

    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="vpcflow-upload") as pool:
        result.keys = list(pool.map(put, files))
    result.bytes = sum(p.stat().st_size for p in files)
    return result
