"""The lab tour behind `vpcflow demo`: each stage's answer, checked against an independent reading."""

from __future__ import annotations

import gzip

import plevin
import pytest

from vpcflow import tour
from vpcflow.errors import InputError


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    out = tour.prepare(tmp_path_factory.mktemp("tour") / "demo")
    run = tour.simulate_lab(out / "capture", seed=7, hours=1)
    ingested = tour.ingest_lab(run, out / "lake")
    return out, run, ingested


def test_story_outcomes_follow_the_lab():
    answers = [(s.step, s.trace.outcome.value) for s in tour.reachability_story()]
    assert answers == [
        ("lab", "Reachable"),
        ("step2-no-nat-route", "TimedOut"),
        ("step3-s3-gateway-endpoint", "TimedOut"),  # no --region: the CLI calls us-east-1
        ("step3-s3-gateway-endpoint", "Reachable"),
        ("step3-s3-gateway-endpoint", "TimedOut"),
        ("step4-endpoint-policy", "AccessDenied"),
    ]


def test_every_delivered_record_is_in_the_lake(lab):
    _, run, ingested = lab
    lines = 0
    for path in run.s3_roots[0].rglob("*.log.gz"):
        lines += len(gzip.decompress(path.read_bytes()).splitlines()) - 1  # the header line
    assert ingested.bad == 0 and ingested.records == lines > 1000


def test_classic_query_rows_are_rejected_tcp_with_the_registry_country(lab):
    out, _, _ = lab
    rows = tour.classic_rejects(out / "lake")
    assert rows.num_rows == 100
    assert set(rows.column("action").to_pylist()) == {"REJECT"} and set(rows.column("protocol").to_pylist()) == {6}
    db = plevin.Plevin()
    for address, country in zip(rows.column("srcaddr").to_pylist()[:20], rows.column("country").to_pylist()[:20], strict=True):
        assert db.lookup(address).network.country == country


def test_scanners_from_japan_ireland_and_germany_on_7766_and_8088(lab):
    out, _, _ = lab
    countries = tour.by_country(tour.rejected_sources(out / "lake")).to_pylist()
    seen = {row["country"]: row for row in countries}
    assert {"JP", "IE", "DE"} <= set(seen)
    for country in ("JP", "IE", "DE"):
        ports = set(map(int, seen[country]["ports_tried"].split(",")))
        assert {7766, 8088} <= ports


def test_prepare_refuses_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not made by `vpcflow demo`"):
        tour.prepare(tmp_path)
    assert (tmp_path / "notes.txt").exists()


def test_prepare_empties_an_earlier_demo(tmp_path):
    out = tour.prepare(tmp_path / "d")
    (out / "old").write_text("x")
    tour.prepare(out)
    assert not (out / "old").exists() and (out / tour.MARKER).exists()
