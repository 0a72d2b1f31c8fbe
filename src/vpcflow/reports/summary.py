"""A first look at a set of flow logs: volumes, accepted versus rejected, who is knocking.

Works on Arrow tables of any log format: columns a format lacks are simply not summarised.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from vpcflow.records.catalog import vpc_schema

SUMMARY_COLUMNS = (
    "interface_id",
    "srcaddr",
    "dstaddr",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "action",
    "log_status",
)
PROTOCOLS = {1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPv6"}


@dataclass
class Summary:
    records: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_action: dict[str, int] = field(default_factory=dict)
    top_rejected: list[dict] = field(default_factory=list)
    top_talkers: list[dict] = field(default_factory=list)


def conform(table: pa.Table) -> pa.Table:
    """The summary columns of any format's table; absent ones are null."""
    schema = vpc_schema()
    columns = {
        name: table.column(name)
        if name in table.column_names
        else pa.nulls(table.num_rows, schema.field(name).type)
        for name in SUMMARY_COLUMNS
    }
    return pa.table(columns)


def summarise(tables: list[pa.Table], top: int = 5) -> Summary:
    if not tables:
        return Summary()
    table = pa.concat_tables([conform(t) for t in tables])
    summary = Summary(records=table.num_rows)
    summary.by_status = _counts(table, "log_status")
    summary.by_action = _counts(table, "action")
    rejected = table.filter(pc.equal(table.column("action"), "REJECT"))
    if rejected.num_rows:
        grouped = rejected.group_by(["srcaddr"]).aggregate(
            [("srcaddr", "count"), ("dstport", "distinct"), ("bytes", "sum")]
        )
        rows = sorted(grouped.to_pylist(), key=lambda r: (-r["srcaddr_count"], r["srcaddr"] or ""))[:top]
        summary.top_rejected = [
            {
                "source": r["srcaddr"],
                "rejected": r["srcaddr_count"],
                "ports": ", ".join(
                    str(p) for p in sorted(x for x in r["dstport_distinct"] if x is not None)[:8]
                ),
                "bytes": r["bytes_sum"] or 0,
            }
            for r in rows
        ]
    talkers = (
        table.filter(pc.is_valid(table.column("srcaddr")))
        .group_by(["srcaddr", "dstaddr"])
        .aggregate([("bytes", "sum"), ("packets", "sum")])
    )
    rows = sorted(talkers.to_pylist(), key=lambda r: -(r["bytes_sum"] or 0))[:top]
    summary.top_talkers = [
        {
            "source": r["srcaddr"],
            "destination": r["dstaddr"],
            "bytes": r["bytes_sum"] or 0,
            "packets": r["packets_sum"] or 0,
        }
        for r in rows
    ]
    return summary


def _counts(table: pa.Table, column: str) -> dict[str, int]:
    values = table.column(column).value_counts().to_pylist()
    return {
        ("-" if v["values"] is None else v["values"]): v["counts"]
        for v in sorted(values, key=lambda v: -v["counts"])
    }
