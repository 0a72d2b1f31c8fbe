"""From packet trains to each flow log's records: scope, aggregation interval, traffic type, NODATA.

- Scope (flowlogs.md §3.6): a VPC flow log covers every ENI in the VPC, a subnet flow log every ENI in
  the subnet - requester-managed ones (NAT gateway, endpoints) included - an ENI flow log one ENI.
- Interval: the flow log's MaxAggregationInterval, but "when a network interface is attached to a
  Nitro-based instance, the aggregation interval is always 1 minute or less".
- Traffic type ACCEPT / REJECT keeps only those records; NODATA and SKIPDATA records are kept by every
  traffic type (AWS is silent; they describe the interface, not a flow). An ENI is idle (NODATA) in a
  window only when it had no traffic at all, whatever the filter.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vpcflow.capture.deliver_cwl import FlowLogRecords
from vpcflow.capture.flowlogs import FlowLog, ResourceType, TrafficType
from vpcflow.capture.records import (
    ACCEPT,
    ID_COLUMNS,
    NODATA,
    REJECT,
    SKIPDATA,
    Capture,
    Materialiser,
    Trains,
    gather_ids,
    id_columns,
    idle_windows,
    limit_flows,
    status_rows,
    window_rows,
    with_status,
)  # fmt: skip
from vpcflow.errors import ModelError

_NOT_FOUND = {
    ResourceType.VPC: "InvalidVpcID.NotFound: The vpc ID '{}' does not exist",
    ResourceType.Subnet: "InvalidSubnetID.NotFound: The subnet ID '{}' does not exist",
    ResourceType.NetworkInterface: "InvalidNetworkInterfaceID.NotFound: The networkInterface ID '{}' does not exist",
}


def scope_of(flow_log: FlowLog, capture: Capture) -> np.ndarray:
    """Boolean mask over the capture's interfaces: the ENIs this flow log monitors."""
    attr = {ResourceType.VPC: "vpc_id", ResourceType.Subnet: "subnet_id", ResourceType.NetworkInterface: "id"}
    name = attr[flow_log.resource_type]
    mask = np.array([getattr(i, name) == flow_log.resource_id for i in capture.interfaces], dtype=bool)
    if not mask.any() and not _known(flow_log, capture):
        raise ModelError(
            f"flow log {flow_log.id}: " + _NOT_FOUND[flow_log.resource_type].format(flow_log.resource_id)
        )
    return mask


def _known(flow_log: FlowLog, capture: Capture) -> bool:
    known = getattr(capture, "known_resources", set())
    return flow_log.resource_id in known


def effective_intervals(flow_log: FlowLog, capture: Capture) -> np.ndarray:
    """The aggregation interval of each interface under this flow log (60 on Nitro)."""
    return np.array(
        [
            60 if i.nitro and i.kind == "instance" else flow_log.max_aggregation_interval
            for i in capture.interfaces
        ],
        dtype=np.int64,
    )


def collect(
    capture: Capture,
    trains: Trains,
    flow_logs: list[FlowLog],
    begin: int,
    end: int,
    *,
    capacity: int | None = None,
) -> list[FlowLogRecords]:
    """Every flow log's records for traffic between `begin` and `end` (Unix seconds)."""
    scopes = [scope_of(f, capture) for f in flow_logs]
    intervals = [effective_intervals(f, capture) for f in flow_logs]
    needed: dict[int, np.ndarray] = {}
    columns: dict[int, set[str]] = {}  # id columns each interval's flow logs read
    for flow_log, scope, interval in zip(flow_logs, scopes, intervals, strict=True):
        for a in np.unique(interval[scope]).tolist():
            needed[a] = needed.get(a, np.zeros(len(capture.interfaces), bool)) | (scope & (interval == a))
            columns[a] = columns.get(a, set()) | id_columns(flow_log.format)
    rows, skips = {}, {}
    for a, enis in needed.items():
        rows[a], skips[a] = limit_flows(window_rows(trains, capture, a, enis, columns[a]), capacity)
    materialise = Materialiser(capture)
    ids = np.array([i.id for i in capture.interfaces], dtype=object)
    out = []
    for flow_log, scope, interval in zip(flow_logs, scopes, intervals, strict=True):
        names = [c for c in ID_COLUMNS if c in id_columns(flow_log.format)]
        parts = []
        for a in np.unique(interval[scope]).tolist():
            enis = scope & (interval == a)
            mine = _on(rows[a], enis)
            idle_e, idle_w = idle_windows(mine, np.flatnonzero(enis), a, begin, end, capture.phase_s)
            parts.append(status_rows(idle_e, idle_w, np.full(len(idle_e), a), NODATA, capture.phase_s))
            skipped = _on(skips[a], enis)
            if skipped.num_rows:
                e, w = skipped["eni"].to_numpy(), skipped["window"].to_numpy()
                parts.append(status_rows(e, w, np.full(len(e), a), SKIPDATA, capture.phase_s))
            if flow_log.traffic_type is not TrafficType.ALL:
                keep = ACCEPT if flow_log.traffic_type is TrafficType.ACCEPT else REJECT
                mine = mine.filter(pc.equal(mine["action"], keep))
            parts.append(with_status(mine))
        parts = [p.select([*names, "status"]) for p in parts if p.num_rows] or [with_status(_empty_rows())]
        every = pa.concat_tables(parts)  # chunks, not copies: gather_ids reads them in sorted order
        # records grouped by the 5-minute window of their end (S3 files): one permutation, applied
        # while each id column is gathered; a stable radix sort on a small key is O(n)
        ends = every["end"].to_numpy()
        bucket = ends // 300
        bucket = bucket - (bucket.min() if len(bucket) else 0)
        small = bucket.astype(np.int16) if len(bucket) and bucket.max() < 32767 else bucket
        order = np.argsort(small, kind="stable")
        sorted_ids = gather_ids(every, [*names, "status"], order)
        table = materialise.table(sorted_ids, flow_log.format)
        account, region = _owner(capture, scope)
        monitored = frozenset(ids[scope].tolist())
        out.append(FlowLogRecords(
            flow_log, table, sorted_ids["eni"], ids, sorted_ids["start"], sorted_ids["end"],
            account, region, monitored,
        ))  # fmt: skip
    return out


def _empty_rows() -> pa.Table:
    return status_rows(
        np.zeros(0, np.int32), np.zeros(0, np.int64), np.zeros(0, np.int64), NODATA
    ).drop_columns(["status"])


def _on(rows: pa.Table, enis: np.ndarray) -> pa.Table:
    if rows.num_rows == 0 or enis.all():
        return rows
    return rows.filter(pa.array(enis[rows["eni"].to_numpy()]))


def _owner(capture: Capture, scope: np.ndarray) -> tuple[str, str]:
    """The account and Region of the monitored resource (the VPC owner of its ENIs)."""
    for iface, inside in zip(capture.interfaces, scope.tolist(), strict=True):
        if inside:
            return iface.owner_id or iface.account_id, iface.region
    return "", ""
