"""Least-privilege security group rules for the accepted inbound traffic seen, against the rules in place.

For each interface of the model that has security groups, the period's ACCEPT records of requests
to one of the interface's own addresses (inbound) are grouped by protocol, port and source. Each
group set of the interfaces gets:

- `needed`: a rule the traffic needed, as narrow as the traffic allows - protocol, one port,
  and the narrowest peer: the security group of the source interface when the source is in the
  model (AWS's idiom for traffic inside a VPC), else the sources' addresses collapsed into CIDRs;
  more than `MANY_SOURCES` distinct outside addresses of a family on one port become 0.0.0.0/0
  or ::/0 (a public service), which the note says.
- `used` / `unused`: every current ingress rule with the records it would admit; `unused` rules
  admitted nothing over the period (candidates for removal - the period may be too short to tell).

Only requests count (base.REQUEST). Security groups are stateful: the answer to a connection the
interface opened is let in whatever the inbound rules say (vpc.md §5.2), so an inbound reply needs
no rule, and counting replies would suggest opening the ephemeral ports of every server an
instance calls (on the benchmark's simulated VPC, 31M of the 43.7M accepted inbound records).

The matching of sources to rules and to the model's interfaces runs in DuckDB as joins on parsed
addresses (sg_tables), so a busy lake's million (interface, port, source) groups never reach Python.

Choices (AWS is silent): egress rules are not analysed (most groups allow all egress); a source
interface with several groups is referenced by its first.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict

import pyarrow as pa

from vpcflow.reports import sg_tables
from vpcflow.reports.base import REQUEST, Options, Result
from vpcflow.reports.enrich import address
from vpcflow.reports.explain import require_model
from vpcflow.reports.source import Source

NAME = "sg-suggest"
TITLE = "Security group rules: what the traffic needed, and what was never used"
MANY_SOURCES = 32
NAMES = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6", -1: "all"}


def inbound_sql(source: Source, options: Options, enis: dict) -> str:
    """Accepted requests addressed to each interface itself. The address test is a join, so the
    engine returns only those flows (not every flow through the interface, which may be millions
    of rows on a busy NAT or load balancer). IPv6 text has several spellings, so the rows of an
    interface with an IPv6 address and an IPv6 destination are all returned, to be matched by
    value (_flows_sql)."""
    pairs = []
    for eni_id, eni in sorted(enis.items()):
        addresses = [ipaddress.ip_address(a) for a in eni.addresses]
        pairs.extend(f"('{eni_id}', '{a}')" for a in addresses if a.version == 4)
        if any(a.version == 6 for a in addresses):
            pairs.append(f"('{eni_id}', NULL)")
    values = ", ".join(pairs) or "(NULL, NULL)"
    return f"""
        SELECT v.interface_id, v.protocol, v.dstport AS port, v.srcaddr AS source, v.dstaddr AS destination,
               count(*) AS records
        FROM vpc_flow_logs v
        JOIN (VALUES {values}) AS t(eni, address)
          ON v.interface_id = t.eni AND (v.dstaddr = t.address OR (t.address IS NULL AND v.dstaddr LIKE '%:%'))
        WHERE v.action = 'ACCEPT' AND v.srcaddr IS NOT NULL AND v.protocol IS NOT NULL
          AND {source.where(options.period)}
          AND coalesce(v.flow_direction, 'ingress') = 'ingress' AND {REQUEST}
        GROUP BY v.interface_id, v.protocol, v.dstport, v.srcaddr, v.dstaddr
    """


def _flows_sql(inbound: str) -> str:
    """SQL: the inbound groups (inbound_sql, as a relation) addressed to the interface itself, by
    value, summed per (group set, protocol, port, source), sources parsed (NULL when unparsable:
    they match no rule and no interface, and OUTSIDE leaves them out). Addresses are parsed once
    each, not per group: a busy VPC has a million groups and a few thousand addresses. (A filter on
    the parsed number here would be pushed below the DISTINCT by DuckDB and parse every group.)"""
    return f"""
        WITH f AS MATERIALIZED ({inbound}),
        v6 AS (
            SELECT d.interface_id, d.destination
            FROM (SELECT DISTINCT interface_id, destination FROM f WHERE destination LIKE '%:%') d
            SEMI JOIN vpcflow_sg_own o
              ON o.eni = d.interface_id AND o.family = 6 AND o.number::UHUGEINT = vpcflow_ip_number(d.destination)
        ),
        g AS (
            SELECT l.label, f.protocol, f.port, f.source, sum(f.records)::BIGINT AS records, count(*) AS groups
            FROM f JOIN vpcflow_sg_labels l ON f.interface_id = l.eni
            LEFT JOIN v6 ON f.interface_id = v6.interface_id AND f.destination = v6.destination
            WHERE f.destination NOT LIKE '%:%' OR v6.interface_id IS NOT NULL
            GROUP BY l.label, f.protocol, f.port, f.source
        ),
        s AS (
            SELECT source, vpcflow_ip_family(source) AS family, vpcflow_ip_number(source) AS number
            FROM (SELECT DISTINCT source FROM g)
        )
        SELECT g.label, g.protocol, g.port, g.source, s.family, s.number, g.records, g.groups
        FROM g JOIN s USING (source)"""


USED = """
    SELECT label, gid, i, sum(records)::BIGINT AS records FROM (
        SELECT DISTINCT r.label, r.gid, r.i, f.protocol, f.port, f.source, f.records
        FROM vpcflow_sg_flows f JOIN vpcflow_sg_rules r
          ON f.label = r.label AND f.family = r.family
         AND f.number BETWEEN r.lo::UHUGEINT AND r.hi::UHUGEINT
        WHERE (r.proto = -1 OR r.proto = f.protocol)
          AND (f.protocol NOT IN (6, 17) OR r.proto = -1 OR f.port BETWEEN r.lo_port AND r.hi_port))
    GROUP BY ALL"""

# Sources inside the model (an interface with groups): summed per its first group.
INSIDE = """
    SELECT f.label, f.protocol, f.port, m.sg AS peer, sum(f.records)::BIGINT AS records
    FROM vpcflow_sg_flows f JOIN vpcflow_sg_members m ON f.family = m.family AND f.number = m.number::UHUGEINT
    WHERE m.sg IS NOT NULL GROUP BY ALL"""

# Sources outside: counted per (group set, protocol, port); listed only where there are few.
OUTSIDE = f"""
    WITH o AS (
        SELECT f.* FROM (SELECT * FROM vpcflow_sg_flows WHERE number IS NOT NULL) f
        ANTI JOIN (SELECT * FROM vpcflow_sg_members WHERE sg IS NOT NULL) m
          ON f.family = m.family AND f.number = m.number::UHUGEINT
    ),
    n AS (
        SELECT label, protocol, port, family, count(*) AS sources, sum(records)::BIGINT AS records
        FROM o GROUP BY ALL
    )
    SELECT label, protocol, port, family, sources, records, NULL AS source FROM n WHERE sources > {MANY_SOURCES}
    UNION ALL
    SELECT o.label, o.protocol, o.port, o.family, 1, o.records, o.source FROM o
    SEMI JOIN (SELECT * FROM n WHERE sources <= {MANY_SOURCES}) n USING (label, protocol, port, family)"""


def run(source: Source, options: Options) -> Result:
    model = require_model(options, NAME)
    enis = {e.id: e for e in model.network_interfaces if e.security_group_ids}
    con = source.con
    address.install(con)
    members = sg_tables.members(model)
    tables = {
        "vpcflow_sg_labels": sg_tables.labels(enis),
        "vpcflow_sg_own": sg_tables.own_addresses(enis),
        "vpcflow_sg_members": members,
        "vpcflow_sg_rules": sg_tables.rule_ranges(model, enis, members),
    }
    for name, table in tables.items():
        con.register(name, table)
    try:
        inbound = source.relation(inbound_sql(source, options, enis))
        con.execute(f"CREATE OR REPLACE TEMP TABLE vpcflow_sg_flows AS {_flows_sql(inbound)}")
        groups = con.execute("SELECT coalesce(sum(groups), 0) FROM vpcflow_sg_flows").fetchall()[0][0]
        used = {
            (r["label"], r["gid"], r["i"]): r["records"] for r in con.sql(USED).to_arrow_table().to_pylist()
        }
        inside = con.sql(INSIDE).to_arrow_table().to_pylist()
        outside = con.sql(OUTSIDE).to_arrow_table().to_pylist()
    finally:
        con.execute("DROP TABLE IF EXISTS vpcflow_sg_flows")
        for name in tables:
            con.unregister(name)
    rows = _rows(model, enis, used, inside, outside)
    table = (
        pa.Table.from_pylist(rows)
        if rows
        else pa.table({k: pa.array([], pa.string()) for k in ("security_groups", "status")})
    )
    notes = [f"{groups} accepted inbound (interface, protocol, port, source) groups over the period"]
    return Result(NAME, TITLE, table, notes)


def _rows(model, enis: dict, used: dict, inside: list[dict], outside: list[dict]) -> list[dict]:
    """The report's rows, group set by group set (every one in the model, with or without traffic:
    a group set nobody reached has only unused rules)."""
    needed: dict[str, dict] = defaultdict(
        lambda: defaultdict(lambda: {"inside": {}, 4: [], 6: [], "many": {}})
    )
    for r in inside:
        needed[r["label"]][(r["protocol"], r["port"])]["inside"][r["peer"]] = r["records"]
    for r in outside:
        need = needed[r["label"]][(r["protocol"], r["port"])]
        if r["source"] is None:
            need["many"][r["family"]] = (r["sources"], r["records"])
        else:
            need[r["family"]].append((ipaddress.ip_address(r["source"]), r["records"]))
    groups = {sg.id: sg for sg in model.security_groups}
    rows: list[dict] = []
    for label in sorted({sg_tables.label(e) for e in enis.values()}):
        rules = [
            (gid, i, rule)
            for gid in label.split(",")
            if gid in groups
            for i, rule in enumerate(groups[gid].ingress, 1)
        ]
        existing = {(rule.protocol, _ports(rule), rule.peer) for _, _, rule in rules}
        for (protocol, port), need in sorted(needed[label].items()):
            shown = str(port) if protocol in (6, 17) else None
            for peer, records, note in _peers(need):
                status = "needed (exists)" if (protocol, shown, peer) in existing else "needed"
                rows.append(_row(label, status, protocol, shown, peer, records, note))
        for gid, i, rule in rules:
            count = used.get((label, gid, i), 0)
            note = f"{gid} ingress rule {i}" + (f" ({rule.description})" if rule.description else "")
            rows.append(
                _row(gid, "used" if count else "unused", rule.protocol, _ports(rule), rule.peer, count, note)
            )
    return rows


def _peers(need: dict) -> list[tuple[str, int, str]]:
    out = [
        (gid, records, "the source interface's security group")
        for gid, records in sorted(need["inside"].items())
    ]
    for family, everyone in ((4, "0.0.0.0/0"), (6, "::/0")):
        if family in need["many"]:
            sources, records = need["many"][family]
            note = f"{sources} distinct outside IPv{family} sources: a public service"
            out.append((everyone, records, note))
            continue
        listed = sorted(need[family])
        for net in ipaddress.collapse_addresses(a for a, _ in listed):
            out.append((str(net), sum(r for a, r in listed if a in net), "observed sources"))
    return out


def _ports(rule) -> str | None:
    span = sg_tables.ports(rule)
    if span is None:
        return None
    low, high = span
    return str(low) if low == high else f"{low}-{high}"


def _row(groups, status, protocol, port, peer, records, note) -> dict:
    return {"security_groups": groups, "status": status, "protocol": NAMES.get(protocol, str(protocol)),
            "port": None if port is None else str(port), "peer": peer, "records": records, "note": note}  # fmt: skip
