"""Why was it rejected: each REJECT flow of the period replayed through the VPC model.

The rejected records are grouped by (interface, source, destination, port, protocol), the most
frequent first, at most `--sample` of them; each group is evaluated once with
`vpcflow.network.reach.evaluate_flow` and the interface's verdict is read off: the security group or
network ACL rule that rejected it (or the missing rule), with AWS Reachability Analyzer's explanation
code and the fix. A record whose interface the model accepts is reported as such: AWS also writes
REJECT for packets that arrive after a connection closed (flowlogs.md §1.3), and a model can differ
from the account.
"""

from __future__ import annotations

from ipaddress import ip_address

import pyarrow as pa

from vpcflow.errors import VpcflowError
from vpcflow.reports.base import PROTOCOL_NAME, Options, ReportError, Result
from vpcflow.reports.source import Source

NAME = "explain"
TITLE = "Why traffic was rejected"


def require_model(options: Options, name: str):
    if options.model is None:
        raise ReportError(f"report {name} needs the VPC model: add --model FILE (see docs/model.md)")
    return options.model


def flows_sql(source: Source, options: Options) -> str:
    return f"""
        SELECT interface_id, srcaddr AS source, dstaddr AS destination, dstport AS port, protocol,
               {PROTOCOL_NAME} AS protocol_name, min(srcport) AS source_port, count(*) AS records,
               to_timestamp(min(start)) AS first_seen, to_timestamp(max("end")) AS last_seen
        FROM vpc_flow_logs
        WHERE action = 'REJECT' AND srcaddr IS NOT NULL AND dstaddr IS NOT NULL AND {source.where(options.period)}
        GROUP BY interface_id, srcaddr, dstaddr, dstport, protocol
        ORDER BY records DESC, interface_id, source, destination, port
        LIMIT {max(int(options.sample), 1)}
    """


def _destination(model, source: str, destination: str) -> str:
    # A record on an interface shows the interface's private address even when the packet came in
    # through an internet gateway to its public address (flowlogs.md §1.2, srcaddr/dstaddr): replay
    # an outside source towards the public address, as the internet sent it.
    if model.interface_for_ip(source) is not None:
        return destination
    eni = model.interface_for_ip(destination)
    return str(eni.public_ip) if eni is not None and eni.public_ip is not None else destination


def explain_flow(model, row: dict) -> dict:
    from vpcflow.network.reach import evaluate_flow

    out = {"model_action": None, "responsible": None, "code": None, "detail": None, "fix": None}
    try:
        ip_address(row["source"]), ip_address(row["destination"])
        dst = _destination(model, row["source"], row["destination"])
        port = row["port"] if row["protocol"] in (6, 17) else None
        verdict = evaluate_flow(model, row["source"], dst, row["protocol"], port, row["source_port"] or None)
    except (VpcflowError, ValueError) as exc:
        out["detail"] = f"not evaluated: {exc}"
        return out
    seen = [o for o in verdict.observations if o.interface_id == row["interface_id"]]
    rejected = [o for o in seen if o.action == "REJECT"]
    explanation = verdict.explanations[0] if verdict.explanations else None
    if rejected:
        out["model_action"] = "REJECT"
        out["responsible"] = rejected[0].decided_by[-1] if rejected[0].decided_by else None
    elif seen:
        out["model_action"] = "ACCEPT"
        out["detail"] = (
            f"the model accepts this flow at {row['interface_id']}: the record may be a packet after the "
            "connection closed, or the account differs from the model"
        )
    else:
        out["detail"] = f"the model's path for this flow does not cross {row['interface_id']}"
    if explanation is not None and rejected:
        out["code"], out["detail"], out["fix"] = explanation.code, explanation.detail, explanation.fix or None
    return out


def run(source: Source, options: Options) -> Result:
    model = require_model(options, NAME)
    rows = source.query(flows_sql(source, options)).to_pylist()
    # One model evaluation per distinct flow (at most --sample), not per record.
    explained = [{**r, **explain_flow(model, r)} for r in rows]
    for r in explained:
        r["protocol"] = r.pop("protocol_name")
        r.pop("source_port")
    names = ["interface_id", "source", "destination", "port", "protocol", "records", "model_action",
             "responsible", "code", "detail", "fix", "first_seen", "last_seen"]  # fmt: skip
    if not explained:
        table = pa.table({n: pa.array([], pa.string()) for n in names})
    else:
        table = pa.Table.from_pylist([{n: r[n] for n in names} for r in explained])
    return Result(
        NAME, TITLE, table, [f"{len(rows)} distinct rejected flows explained (--sample {options.sample})"]
    )
