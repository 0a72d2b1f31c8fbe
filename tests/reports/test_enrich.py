"""Enrichment on known addresses, checked against the libraries' own answers, not ours."""

import ipaddress
import json
import random

import duckdb
import plevin
import pyarrow as pa
import pytest

from vpcflow.errors import InputError
from vpcflow.reports import enrich
from vpcflow.reports.enrich import address, aws_ranges, owners

# Registry countries that have not moved in decades: the University of Tokyo (AS2501), eir's
# 87.32.0.0/12 in Ireland, heise's 193.99.144.0/24 in Germany.
KNOWN = [
    ("133.11.0.1", "JP", 2501),
    ("87.32.0.1", "IE", 1213),
    ("193.99.144.80", "DE", 12306),
    ("2a02:2e0::1", "DE", 12306),
]


def test_country_and_owner_of_known_addresses():
    addresses = pa.array(
        [a for a, _, _ in KNOWN] + ["10.0.0.1", "192.168.1.1", None, "not-an-ip", "300.1.1.1"]
    )
    countries = enrich.country_of(addresses).to_pylist()
    assert countries == [c for _, c, _ in KNOWN] + [None] * 5
    owned = enrich.owner_of(addresses).to_pylist()
    assert [o["asn"] for o in owned[: len(KNOWN)]] == [asn for _, _, asn in KNOWN]
    assert owned[0]["owner"] == "The University of Tokyo"
    assert all(o["asn"] is None and o["owner"] is None for o in owned[len(KNOWN) :])


def test_range_table_agrees_with_plevin_lookups_on_random_addresses():
    rng = random.Random(6)
    sample = [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(400)]
    sample += [str(ipaddress.IPv6Address((0x2 << 124) | rng.getrandbits(124))) for _ in range(100)]
    ours = enrich.owner_of(pa.array(sample)).to_pylist()
    countries = enrich.country_of(pa.array(sample)).to_pylist()
    db = plevin.Plevin(owners._data_path())
    for addr, mine, country in zip(sample, ours, countries, strict=True):
        network = db.lookup(addr).network
        assert mine["asn"] == (network.asn if network else None), addr
        assert country == (network.country or None if network else None), addr


def test_address_numbers_match_ipaddress():
    con = duckdb.connect()
    address.install(con)
    rng = random.Random(1)
    values = [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(300)]
    values += [str(ipaddress.IPv6Address(rng.getrandbits(128))) for _ in range(300)] + [
        "::",
        "::ffff:1.2.3.4",
    ]
    con.register("t", pa.table({"a": values}))
    got = con.sql("SELECT a, vpcflow_ip_number(a)::VARCHAR AS n, vpcflow_ip_family(a) AS f FROM t").fetchall()
    for a, n, f in got:
        assert int(n) == int(ipaddress.ip_address(a)) and f == ipaddress.ip_address(a).version, a


SERVICE_CASES = [
    ("52.216.10.1", "S3", "us-east-1"),  # S3 and AMAZON list the same /15: the named service wins
    ("52.218.1.1", "S3", "eu-west-1"),
    ("52.94.24.7", "DYNAMODB", "eu-west-1"),
    ("52.94.1.1", "DYNAMODB", "us-east-1"),
    ("54.208.1.1", "EC2", "us-east-1"),
    ("52.4.0.1", "AMAZON", "us-east-1"),  # only AMAZON covers it
    ("52.95.128.179", "S3", "ap-southeast-2"),  # AWS's own flow log example (flowlogs.md §9.8)
    ("2a05:d078:8000::1", "AMAZON", "eu-west-1"),
    ("8.8.8.8", None, None),
    ("10.0.0.1", None, None),
]


@pytest.mark.parametrize("addr, service, region", SERVICE_CASES)
def test_aws_service_of_the_shipped_sample(addr, service, region):
    got = enrich.aws_service_of(pa.array([addr]), aws_ranges.sample_path()).to_pylist()
    assert got == [{"service": service, "region": region}]


def test_aws_service_prefers_the_longest_named_prefix(tmp_path):
    doc = {
        "createDate": "x",
        "prefixes": [
            {"ip_prefix": "52.0.0.0/8", "region": "us-east-1", "service": "EC2"},
            {"ip_prefix": "52.1.0.0/16", "region": "us-west-2", "service": "S3"},
            {"ip_prefix": "52.1.2.0/24", "region": "us-west-2", "service": "AMAZON"},
        ],
    }
    path = tmp_path / "ranges.json"
    path.write_text(json.dumps(doc))
    got = enrich.aws_service_of(pa.array(["52.1.2.3", "52.9.9.9"]), path).to_pylist()
    assert got == [{"service": "S3", "region": "us-west-2"}, {"service": "EC2", "region": "us-east-1"}]


def test_bad_ip_ranges_files_name_the_file(tmp_path):
    with pytest.raises(InputError, match="missing.json: no such file"):
        aws_ranges.load(tmp_path / "missing.json")
    (tmp_path / "html.json").write_text("<html>")
    with pytest.raises(InputError, match="html.json: not AWS's ip-ranges.json"):
        aws_ranges.load(tmp_path / "html.json")
    (tmp_path / "bad.json").write_text(json.dumps({"prefixes": [{"ip_prefix": "1.2.3.0/24"}]}))
    with pytest.raises(InputError, match="entry 0 of 'ip_prefix'"):
        aws_ranges.load(tmp_path / "bad.json")


def test_ip_ranges_offline_without_a_copy_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("VPCFLOW_CACHE_DIR", str(tmp_path))
    with pytest.raises(InputError, match="--ip-ranges FILE"):
        aws_ranges.locate(None, offline=True)
    assert aws_ranges.locate(tmp_path / "given.json") == tmp_path / "given.json"


@pytest.mark.parametrize("ranged", [True, False], ids=["text-ranges", "in-list"])
def test_may_be_aws_keeps_every_aws_address_and_drops_the_others_it_can(monkeypatch, ranged):
    """The services prefilter keeps every address the range join calls AWS's, and drops every
    address whose text begins with no lead; the IN-list form (many leads) also drops every
    address of a /16 with no AWS prefix, however its text begins."""
    monkeypatch.setattr(enrich, "RANGED_LEADS", 16 if ranged else 0)
    con = duckdb.connect()
    enrich.install_aws_ranges(con, aws_ranges.sample_path())
    leads = enrich.aws_v4_leads(con)
    slash16s = {k for (k,) in con.sql(f"SELECT k FROM {enrich.AWS_V4_16}").fetchall()}
    rng = random.Random(7)
    addresses = [a for a, _, _ in SERVICE_CASES] + ["::1", "2600:1f18::1", "5.2.0.1", "52", "52/1.1.1", "3.2"]
    for lead in leads:  # neighbours of every lead: same first characters, other octets, edges
        first = int(lead.split(".")[0]) if lead.endswith(".") else None
        for _ in range(300):
            a = first if first is not None else rng.choice([int(lead.replace(".", "")[:1]), int(lead.replace(".", ""))])
            addresses.append(f"{a}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}")
        addresses += [f"{lead}0.0", f"{lead}255.255", f"{lead[:-1]}{chr(ord(lead[-1]) + 1)}.1.1"]
    for _ in range(3000):
        addresses.append(".".join(str(rng.randrange(256)) for _ in range(4)))
    con.register("t", pa.table({"a": addresses}))
    passed = {a for (a,) in con.sql(f"SELECT a FROM t WHERE {enrich.may_be_aws_sql('a', leads)}").fetchall()}
    aws = {row[0] for row in con.sql(enrich.aws_service_sql("SELECT a FROM t", "a")).fetchall()}
    assert aws and aws <= passed
    for a in addresses:
        led = any(a.startswith(lead) for lead in leads)
        try:
            ip = ipaddress.ip_address(a)
        except ValueError:  # not an address: no AWS /16 either, but the text may begin with a lead
            assert (a in passed) == (ranged and led), a
            continue
        if ip.version == 4:
            assert (a in passed) == (led if ranged else int(ip) >> 16 in slash16s), a
        else:
            assert a in passed, a
