"""The reports' plan choices: made on a sample of the lake (the period's records in its largest
file), never changing an answer (test_reports.py runs every plan against the plain answer)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

from tests.reports.lakegen import flow, write_lake
from vpcflow.reports import Options, Period, days, open_lake, run_report, scanners, top_talkers
from vpcflow.reports.source import largest_file, sample_of

T0 = 1_764_000_000  # 2025-11-24T16:00:00Z
DAY = 86_400


def one_off(n, rng, at):
    """n records of n different pairs, bytes spread evenly: no pair stands out."""
    return [
        flow(
            f"198.51.{i // 250}.{i % 250}",
            "10.0.0.5",
            40000,
            443,
            bytes=rng.randrange(40, 2_000_000),
            start=at,
        )
        for i in range(n)
    ]


def heavy(at):
    """20 pairs of 10 records of 50 MB: they stand out."""
    return [
        flow(f"10.0.1.{p}", "52.95.128.179", 40000 + i, 443, bytes=50_000_000, start=at)
        for p in range(20)
        for i in range(10)
    ]


def scan(at):
    return [flow("198.51.100.7", "10.0.0.71", 40000, 1 + i, action="REJECT", start=at) for i in range(40)]


def internet(n, at):
    return [flow(f"203.0.{i // 250}.{i % 250}", "10.0.0.5", 40000, 22, start=at) for i in range(n)]


def day(offset: int) -> Period:
    start = datetime.fromtimestamp(T0 - T0 % DAY + offset * DAY, UTC)
    return Period(since=start, until=datetime.fromtimestamp(start.timestamp() + DAY, UTC))


def test_scanners_skip_the_slot_count_when_a_sample_is_mostly_busy_sources(tmp_path):
    at = T0 + 600
    busy = open_lake(write_lake(tmp_path / "busy", scan(at) + internet(10, at)))
    assert not scanners.prefilter_pays(busy, Options())  # 40 of 50 probes are one busy source's
    wide = open_lake(write_lake(tmp_path / "internet", scan(at) + internet(400, at)))
    assert scanners.prefilter_pays(wide, Options())  # 40 of 440
    for source in (busy, wide):
        got = run_report("scanners", source, Options(top=0)).table.to_pylist()
        assert [(g["source"], g["kind"], g["ports"]) for g in got] == [("198.51.100.7", "vertical", 40)]


def test_top_talkers_takes_the_slot_plan_when_a_few_pairs_stand_out(tmp_path, monkeypatch):
    rng = random.Random(3)
    at = T0 + 60
    options = Options(top=10)
    monkeypatch.setattr(top_talkers, "SLOTS", 64)
    spread = open_lake(write_lake(tmp_path / "one-off", one_off(5000, rng, at)))
    assert not top_talkers.slots_pay_off(spread, options)  # ~78 records a slot: every slot passes
    monkeypatch.setattr(top_talkers, "SLOTS", 1024)
    standing_out = open_lake(write_lake(tmp_path / "heavy", one_off(1000, rng, at) + heavy(at)))
    assert top_talkers.slots_pay_off(standing_out, options)  # ~20 of 1024 slots pass
    got = run_report("top-talkers", standing_out, options).table.to_pylist()
    # 20 pairs tie at 500 MB and 10 packets: the first 10 by source address, as text
    assert [(g["source"], g["bytes"]) for g in got] == [
        (a, 500_000_000) for a in sorted(f"10.0.1.{p}" for p in range(20))[:10]
    ]


def test_the_sample_is_the_largest_file_of_the_period(tmp_path):
    root = write_lake(tmp_path, internet(400, T0) + internet(10, T0 + DAY) + internet(20, T0 + 2 * DAY))
    source = open_lake(root)
    assert "/day=24/" in largest_file(source)
    assert "/day=25/" not in largest_file(source)
    assert "/day=25/" in largest_file(source, day(1))
    assert "/day=26/" in largest_file(source, Period(since=day(1).until))
    assert largest_file(source, day(5)) is None and sample_of(source, day(5)) is None
    # the sample holds the period's records only (day 24's records end at T0 + 30)
    sample = sample_of(source, Period(since=datetime.fromtimestamp(T0 + 31, UTC)))
    assert "/day=24/" in sample
    assert source.engine.query(f"SELECT count(*) AS n FROM {sample}").column("n")[0].as_py() == 0
    assert sample_of(source, Period()).endswith("WHERE TRUE")


def test_a_file_outside_the_layout_may_hold_any_day(tmp_path):
    root = write_lake(tmp_path, internet(10, T0))
    odd = root / "vpc_flow_logs" / "aws_account_id=123456789012" / "year=2025"
    odd.mkdir(parents=True)
    (odd / "big.parquet").write_bytes(b"x" * 100_000)  # read by no one here: only its size counts
    assert largest_file(open_lake(root), day(5)).endswith("/year=2025/big.parquet")


def test_the_period_days_a_partition_can_hold():
    period = Period(since=datetime(2025, 11, 24, 16, tzinfo=UTC), until=datetime(2025, 11, 26, tzinfo=UTC))
    assert [period.holds_day(date(2025, 11, d)) for d in (23, 24, 25, 26)] == [False, True, True, False]
    assert Period().holds_day(date(1999, 1, 1))
    assert period.record_predicate() == '"end" >= 1764000000 AND "end" < 1764115200'
    assert period.predicate().startswith("date >= DATE '2025-11-24' AND date <= DATE '2025-11-25' AND ")


def test_top_talkers_chooses_on_the_period_not_the_whole_lake(tmp_path, monkeypatch):
    """The lake's largest file holds a day of one-off pairs; the period is another day, where a
    few pairs stand out: the choice follows the period's records."""
    rng = random.Random(5)
    monkeypatch.setattr(top_talkers, "SLOTS", 1024)
    records = one_off(5000, rng, T0 + 60) + one_off(1000, rng, T0 + DAY + 60) + heavy(T0 + DAY + 60)
    source = open_lake(write_lake(tmp_path, records))
    assert not top_talkers.slots_pay_off(source, Options(top=10))
    assert top_talkers.slots_pay_off(source, Options(top=10, period=day(1)))


def test_scanners_choose_on_the_period_not_the_whole_lake(tmp_path):
    records = scan(T0 + 600) + internet(400, T0 + 600) + scan(T0 + DAY + 600) + internet(10, T0 + DAY + 600)
    source = open_lake(write_lake(tmp_path, records))
    assert scanners.prefilter_pays(source, Options())  # the largest file: 40 busy of 440 probes
    assert not scanners.prefilter_pays(source, Options(period=day(1)))  # 40 of 50


def test_top_talkers_one_statement_a_day_sums_a_bucket_across_midnight(tmp_path, monkeypatch):
    """A pair's records of 23:00-24:00 lie in two partitions (the lake partitions by `end`): the
    day's statement reads both, so the pair's total is whole and it ranks first, as in one
    statement."""
    midnight = T0 - T0 % DAY + DAY
    straddling = [
        flow("10.0.1.1", "10.0.2.2", 40000 + i, 443, bytes=400, start=midnight - 20, end=midnight + 10 * i)
        for i in range(4)
    ]  # 1600 bytes: 1 record in the first day's partition, 3 in the next one's
    others = [flow(f"10.0.3.{i}", "10.0.2.2", 40000, 443, bytes=1000, start=midnight - 600) for i in range(3)]
    others += [flow("10.0.9.9", "10.0.2.2", 40000, 443, bytes=5, start=midnight + 60)]
    root = write_lake(tmp_path, straddling + others)
    source, options = open_lake(root), Options(top=2)
    assert top_talkers.day_plan(source, options) == [midnight - DAY, midnight]
    by_days = run_report("top-talkers", source, options).table.to_pylist()
    monkeypatch.setattr(top_talkers, "day_plan", lambda *a: None)
    assert run_report("top-talkers", source, options).table.to_pylist() == by_days
    assert [(g["source"], g["bytes"]) for g in by_days] == [
        ("10.0.1.1", 1600),
        ("10.0.3.0", 1000),
        ("10.0.9.9", 5),
    ]


def test_one_statement_when_the_files_do_not_prove_the_days(tmp_path):
    late = flow("10.0.1.1", "10.0.2.2", 40000, 443, start=T0, end=T0 + 3 * DAY)  # ends 3 days after it starts
    source = open_lake(write_lake(tmp_path / "late", [late, flow("10.0.1.1", "10.0.2.2", 1, 2, start=T0)]))
    assert days.start_days(source, Period()) is None
    assert top_talkers.day_plan(source, Options()) is None
    nulls = open_lake(
        write_lake(tmp_path / "nulls", [flow("10.0.1.1", "10.0.2.2", 1, 2, start=None, end=T0)])
    )
    assert days.start_days(nulls, Period()) is None
    fine = open_lake(write_lake(tmp_path / "fine", internet(5, T0) + internet(5, T0 + DAY)))
    assert days.start_days(fine, Period()) == [T0 - T0 % DAY, T0 - T0 % DAY + DAY]
    assert days.start_days(fine, day(1)) == [T0 - T0 % DAY + DAY]
    assert top_talkers.day_plan(fine, Options(bucket=7 * 60)) is None  # 7 minutes do not divide a day
    assert top_talkers.day_plan(fine, Options(by="eni")) is None
    (tmp_path / "fine" / "vpc_flow_logs").glob("**/*.parquet").__next__().write_bytes(b"not parquet")
    assert days.start_days(fine, Period()) is None
