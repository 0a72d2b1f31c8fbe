"""`vpcflow ingest` on the command line: summary, exit status, progress bar only on a terminal."""

from __future__ import annotations

import gzip
import os
import pty
import subprocess
import sys

from typer.testing import CliRunner

from tests.lake.flowgen import write_tree
from vpcflow.cli import app

runner = CliRunner()


def test_summary_and_rerun(tmp_path):
    write_tree(tmp_path / "src", files=4, records_per_file=250)
    result = runner.invoke(app, ["ingest", str(tmp_path / "src"), "--lake", str(tmp_path / "lake")])
    assert result.exit_code == 0, result.output
    assert "ingested 1,000 records from 4 objects" in result.output
    assert "wrote 1 files" in result.output and "in 1 partitions" in result.output
    again = runner.invoke(app, ["ingest", str(tmp_path / "src"), "--lake", str(tmp_path / "lake")])
    assert (
        "ingested 0 records from 0 objects" in again.output
        and "4 objects were already in the lake" in again.output
    )


def test_a_bad_record_fails_with_its_file_and_line_and_exit_1(tmp_path):
    tree = write_tree(tmp_path / "src", files=1, records_per_file=10)
    with gzip.open(tree.files[0], "ab") as damaged:
        damaged.write(b"2 123456789012 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1764000000 1764000001 MAYBE OK\n")
    result = runner.invoke(app, ["ingest", str(tmp_path / "src"), "--lake", str(tmp_path / "lake")])
    assert result.exit_code == 1
    assert f"error: {tree.files[0]}:12: field 'action'" in result.output
    skipped = runner.invoke(
        app, ["ingest", str(tmp_path / "src"), "--lake", str(tmp_path / "lake"), "--on-error", "skip"]
    )
    assert (
        skipped.exit_code == 0
        and "ingested 10 records" in skipped.output
        and "1 bad records (skip)" in skipped.output
    )


def _ingest(tmp_path, stderr):
    return subprocess.run(
        [sys.executable, "-m", "vpcflow.cli", "ingest", str(tmp_path / "src"), "--lake", str(tmp_path / "lake")],
        stdout=subprocess.PIPE, stderr=stderr, env=dict(os.environ, COLUMNS="120", TERM="xterm"), timeout=120,
    )  # fmt: skip


def test_no_progress_bar_when_not_a_terminal(tmp_path):
    write_tree(tmp_path / "src", files=3, records_per_file=100)
    err = _ingest(tmp_path, subprocess.PIPE).stderr.decode()
    assert err.startswith("ingested 300 records") and "\x1b[" not in err and "records/s)" in err


def test_progress_bar_on_a_terminal(tmp_path):
    write_tree(tmp_path / "src", files=3, records_per_file=100)
    leader, follower = pty.openpty()
    proc = _ingest(tmp_path, follower)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert proc.returncode == 0
    text = shown.decode(errors="replace")
    assert "3/3 objects" in text and "300 records" in text and "records/s" in text and "\x1b[" in text
