"""Who an address belongs to, offline and vectorised: country, network owner, AWS service and region.

Reports call `install(con, ...)` once, then wrap a relation with `with_owner(...)` or
`with_aws_service(...)`: SQL that joins address ranges inside DuckDB (an ASOF join on block starts
for owners, a range join on prefixes for AWS services), never a Python loop per record. The demo and
scripts use `country_of`, `owner_of` and `aws_service_of` on Arrow arrays.

    country_of(pa.array(["133.11.0.1"]))  ->  ["JP"]
"""

from __future__ import annotations

import functools
import os

import duckdb
import pyarrow as pa

from vpcflow.reports.enrich import address, aws_ranges, owners
from vpcflow.reports.enrich.owners import EnrichmentUnavailable, available, database_version

__all__ = [
    "EnrichmentUnavailable",
    "available",
    "aws_service_of",
    "country_of",
    "database_version",
    "install",
    "owner_of",
    "with_aws_service",
    "with_owner",
]

OWNERS = "vpcflow_owners"
AWS_RANGES = "vpcflow_aws_ranges"
AWS_V4_16 = "vpcflow_aws_v4_slash16"  # the IPv4 /16s that hold any AWS prefix, as first*256 + second octet
RANGED_LEADS = 16  # up to this many leads, may_be_aws_sql tests ranges of text, not an IN list


def install_owners(con: duckdb.DuckDBPyConnection) -> bool:
    """Create the owner range table; False (and null columns later) when the database is missing."""
    address.install(con)
    exists = con.sql(f"SELECT count(*) FROM duckdb_tables() WHERE table_name = '{OWNERS}'").fetchall()[0][0]
    if exists:
        return owners.available()  # loaded once per connection: reports reuse it
    if not owners.available():
        con.execute(
            f"CREATE OR REPLACE TABLE {OWNERS} (family UTINYINT, start UHUGEINT, country VARCHAR, "
            "asn BIGINT, as_name VARCHAR, owner VARCHAR)"
        )
        return False
    table = owners.owner_table()
    con.register("vpcflow_owner_arrow", table)
    con.execute(
        f"CREATE OR REPLACE TABLE {OWNERS} AS SELECT family, "
        "(start_hi::UHUGEINT << 64) | start_lo::UHUGEINT AS start, country, asn, as_name, owner "
        "FROM vpcflow_owner_arrow ORDER BY family, start"
    )
    con.unregister("vpcflow_owner_arrow")
    return True


def install_aws_ranges(con: duckdb.DuckDBPyConnection, ip_ranges: str | os.PathLike) -> str:
    """Create the AWS prefix table from an ip-ranges.json; returns its createDate."""
    address.install(con)
    table, created = aws_ranges.load(ip_ranges)
    con.register("vpcflow_aws_arrow", table)
    con.execute(
        f"CREATE OR REPLACE TABLE {AWS_RANGES} AS SELECT family, "
        "(lo_hi::UHUGEINT << 64) | lo_lo::UHUGEINT AS lo, (hi_hi::UHUGEINT << 64) | hi_lo::UHUGEINT AS hi, "
        "prefix, prefix_len, service, region, network_border_group FROM vpcflow_aws_arrow"
    )
    con.unregister("vpcflow_aws_arrow")
    con.execute(
        f"CREATE OR REPLACE TABLE {AWS_V4_16} AS SELECT DISTINCT (lo // 65536)::BIGINT + r AS k "
        f"FROM {AWS_RANGES}, range(0, ((hi // 65536) - (lo // 65536))::BIGINT + 1) t(r) WHERE family = 4"
    )
    return created


def aws_v4_leads(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The first three characters of "a.b." for every IPv4 /16 that holds an AWS prefix: the text
    of any address in such a /16 starts with one of them (needs `install_aws_ranges`)."""
    rows = con.execute(
        f"SELECT DISTINCT left((k // 256)::VARCHAR || '.' || (k % 256)::VARCHAR || '.', 3) "
        f"FROM {AWS_V4_16} ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def may_be_aws_sql(column: str, leads: list[str]) -> str:
    """SQL: whether the address text in `column` may be AWS's, by cheap tests on its text: a filter
    that spares the aggregations most of the internet's addresses, before the exact range join of
    the addresses left (a superset: every AWS address passes; IPv6 addresses all pass).

    Every AWS IPv4 address begins with one of `leads`, the first three characters of the "a.b."
    of an AWS /16 (`aws_v4_leads`). A few leads are tested as ranges of text (`>= '52.' AND <
    '52/'`), compared on the inline prefix of DuckDB's strings, and nothing more: on the
    benchmark lakes this beats also parsing the two octets of each address that passes and
    checking its /16 (services on the lake of one-off addresses 8.1 -> 7.1 s, on a VPC's own
    traffic, whose AWS addresses are few and busy, 7.9 -> 4.5 s). Many leads (AWS's whole file has
    dozens, so most of the internet passes them) are one IN list on `left(addr, 3)`, and there the
    /16 check follows: parsing costs less than summing a host of one-off addresses (one side of
    services on 100M records: 16 s -> 7 s, 2026-11-25; a subquery in place of the constants
    measured as slow as no lead at all)."""
    if not leads:  # no IPv4 prefix at all: only IPv6 addresses can be AWS's
        return f"contains({column}, ':')"
    # the leads are digits and dots (built from integers in aws_v4_leads): safe to inline
    if len(leads) <= RANGED_LEADS:
        # the text after the lead's last character ('.' -> '/', '9' -> ':') bounds its range
        ranges = " OR ".join(
            f"({column} >= '{lead}' AND {column} < '{lead[:-1]}{chr(ord(lead[-1]) + 1)}')" for lead in leads
        )
        return f"({ranges} OR contains({column}, ':'))"
    octets = " * 256 + ".join(f"TRY_CAST(split_part({column}, '.', {i}) AS INTEGER)" for i in (1, 2))
    listed = ", ".join(f"'{lead}'" for lead in leads)
    return (
        f"((left({column}, 3) IN ({listed}) AND ({octets}) IN (SELECT k FROM {AWS_V4_16})) "
        f"OR contains({column}, ':'))"
    )


def install(con: duckdb.DuckDBPyConnection, *, ip_ranges: str | os.PathLike | None = None) -> None:
    install_owners(con)
    if ip_ranges is not None:
        install_aws_ranges(con, ip_ranges)


def with_owner(relation_sql: str, column: str, prefix: str = "") -> str:
    """SQL: `relation_sql` plus `{prefix}country`, `{prefix}asn`, `{prefix}as_name`, `{prefix}owner` of `column`.

    Rows keep their order-free identity: this is a LEFT ASOF join on (family, number >= start).
    """
    return f"""
        SELECT r.* EXCLUDE (vpcflow_family, vpcflow_number),
               o.country AS {prefix}country, o.asn AS {prefix}asn,
               o.as_name AS {prefix}as_name, o.owner AS {prefix}owner
        FROM (SELECT *, vpcflow_ip_family({column}) AS vpcflow_family,
                        vpcflow_ip_number({column}) AS vpcflow_number
              FROM ({relation_sql})) r
        ASOF LEFT JOIN {OWNERS} o
          ON r.vpcflow_family = o.family AND r.vpcflow_number >= o.start
    """


def aws_service_sql(addresses_sql: str, column: str) -> str:
    """SQL: the distinct addresses of `addresses_sql.column` that are AWS's, with service, region, prefix."""
    return f"""
        SELECT a.address, r.service, r.region, r.prefix
        FROM (SELECT DISTINCT {column} AS address, vpcflow_ip_family({column}) AS family,
                     vpcflow_ip_number({column}) AS number
              FROM ({addresses_sql}) WHERE {column} IS NOT NULL) a
        JOIN {AWS_RANGES} r ON a.family = r.family AND a.number BETWEEN r.lo AND r.hi
        QUALIFY row_number() OVER (
            PARTITION BY a.address
            ORDER BY (r.service <> 'AMAZON') DESC, r.prefix_len DESC, r.service) = 1
    """


def with_aws_service(relation_sql: str, column: str, prefix: str = "") -> str:
    """SQL: `relation_sql` plus `{prefix}service`, `{prefix}service_region` of `column` (null if not AWS's)."""
    rel = f"vpcflow_rel_{prefix}{column}"
    return f"""
        WITH {rel} AS MATERIALIZED ({relation_sql})
        SELECT r.*, s.service AS {prefix}service, s.region AS {prefix}service_region
        FROM {rel} r
        LEFT JOIN ({aws_service_sql(f"SELECT * FROM {rel}", column)}) s ON r.{column} = s.address
    """


@functools.cache
def _connection() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET autoinstall_known_extensions = false")
    install_owners(con)
    return con


def _lookup(addresses: pa.Array, columns: str, setup=None) -> pa.Table:
    con = _connection().cursor()
    if setup:
        setup(con)
    con.register("vpcflow_lookup", pa.table({"address": pa.array(addresses, pa.string())}))
    try:
        return con.sql(
            f"SELECT {columns} FROM ({with_owner('SELECT row_number() OVER () AS i, address FROM vpcflow_lookup', 'address')}) "
            "ORDER BY i"
        ).to_arrow_table()
    finally:
        con.unregister("vpcflow_lookup")


def country_of(addresses: pa.Array) -> pa.Array:
    """ISO 3166 country code the registry lists for each address (null: private, reserved, unknown)."""
    return _lookup(addresses, "country").column(0).combine_chunks()


def owner_of(addresses: pa.Array) -> pa.Table:
    """`asn`, `as_name` and `owner` (organisation) of the route covering each address."""
    return _lookup(addresses, "asn, as_name, owner")


def aws_service_of(addresses: pa.Array, ip_ranges: str | os.PathLike) -> pa.Table:
    """`service` and `region` from ip-ranges.json for each address (nulls where not AWS's)."""
    con = duckdb.connect()
    install_aws_ranges(con, ip_ranges)
    con.register("vpcflow_lookup", pa.table({"address": pa.array(addresses, pa.string())}))
    inner = "SELECT row_number() OVER () AS i, address FROM vpcflow_lookup"
    return con.sql(
        f"SELECT service, service_region AS region FROM ({with_aws_service(inner, 'address')}) ORDER BY i"
    ).to_arrow_table()
