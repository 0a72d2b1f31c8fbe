"""Two ingests into one lake at once: the second refuses with a clear message, or waits with --wait;
nothing is corrupted either way."""

from __future__ import annotations

import time

from tests.lake.flowgen import write_tree
from tests.lake.test_crash import assert_exactly_once, kill9, start, visible_packets, wait_for_pause


def test_a_second_ingest_refuses_while_the_first_holds_the_lake(tmp_path):
    tree = write_tree(tmp_path / "src", files=6, records_per_file=300)
    lake = tmp_path / "lake"
    first = start(tmp_path / "src", lake, pause_at="journal-written")
    wait_for_pause(first)
    before = visible_packets(lake)

    second = start(tmp_path / "src", lake)
    out, err = second.communicate(timeout=60)
    assert second.returncode == 2
    assert "another ingest is writing this lake" in err and f"process {first.pid}" in err and "--wait" in err
    assert visible_packets(lake) == before  # the refused ingest touched nothing

    kill9(first)
    third = start(tmp_path / "src", lake)
    assert third.communicate(timeout=120)[0] == "" and third.returncode == 0
    assert_exactly_once(lake, tree.records)


def test_with_wait_the_second_ingest_queues_and_then_finishes_the_work(tmp_path):
    tree = write_tree(tmp_path / "src", files=6, records_per_file=300)
    lake = tmp_path / "lake"
    first = start(tmp_path / "src", lake, pause_at="file-published")
    wait_for_pause(first)
    second = start(tmp_path / "src", lake, "--wait", "60")
    time.sleep(1.5)
    assert second.poll() is None  # still waiting for the lock
    kill9(first)  # the holder dies mid-publish; the lock goes with it
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert "finished 1 transaction(s) left by an interrupted ingest" in err
    assert_exactly_once(lake, tree.records)


def test_two_ingests_started_together_both_succeed_and_records_are_once(tmp_path):
    tree = write_tree(tmp_path / "src", files=20, records_per_file=2000, regions=("us-east-1", "eu-west-1"))
    lake = tmp_path / "lake"
    procs = [start(tmp_path / "src", lake, "--wait", "120") for _ in range(2)]
    results = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    reads = sorted(int(err.split("records from ")[1].split()[0].replace(",", "")) for _, err in results)
    assert reads == [0, 20]  # one did the work, the other found it done
    assert_exactly_once(lake, tree.records)
