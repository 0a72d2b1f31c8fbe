"""Deliver flow logs to CloudWatch Logs as AWS does (flowlogs.md §5.1).

- One log stream per network interface, named as real payloads show (`eni-<id>-all`; `-accept` /
  `-reject` for ACCEPT-only / REJECT-only flow logs, see `vpcflow.records.cwlogs.stream_name`).
  "If the same network interface is present in one or more flow logs in the same log group, it has one
  combined log stream": that stream is `-all` and holds the events of every such flow log.
- One event per record, no header: `{"timestamp": start*1000, "ingestionTime": ..., "message": record}`,
  in timestamp order within a stream (PutLogEvents requires it).
- ingestionTime is "later than the end time": AWS delivers "in about 5 minutes", so we take the end of
  the record's minute plus five minutes (AWS gives no formula).
- The log group "is only created when traffic is recorded": no records, no folder.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vpcflow.capture.flowlogs import FlowLog
from vpcflow.capture.sinks import StreamSink
from vpcflow.records.cwlogs import stream_name
from vpcflow.records.writer import record_lines

DELIVERY_DELAY_S = 300


@dataclass
class FlowLogRecords:
    """One flow log's records in its format, with what delivery needs that the format may not hold."""

    flow_log: FlowLog
    table: pa.Table
    eni: np.ndarray  # int32: the interface of each record, an index into `interfaces`
    interfaces: np.ndarray  # object array: ENI ids
    start: np.ndarray  # int64
    end: np.ndarray  # int64
    account: str = ""  # the owner of the monitored resource: S3 keys carry it
    region: str = ""
    monitored: frozenset[str] = frozenset()  # every ENI in the flow log's scope (records or not)

    @property
    def interface_ids(self) -> np.ndarray:
        """The ENI id of each record (object array; only CloudWatch Logs delivery needs it)."""
        return self.interfaces[self.eni]


@dataclass(frozen=True)
class DeliveredStream:
    group: str
    stream: str
    events: int


def deliver_cloudwatch(outputs: list[FlowLogRecords], sink: StreamSink) -> list[DeliveredStream]:
    """Write the records of every CloudWatch Logs flow log, combining streams that share a log group."""
    by_group: dict[str, list[FlowLogRecords]] = defaultdict(list)
    for out in outputs:
        by_group[out.flow_log.log_group].append(out)
    delivered = []
    for group, members in sorted(by_group.items()):
        enis_per_log = [set(m.monitored) | set(m.interface_ids.tolist()) for m in members]
        streams: dict[str, list[tuple[np.ndarray, np.ndarray, pa.Array]]] = defaultdict(list)
        for member in members:
            if member.table.num_rows == 0:
                continue
            messages = pa.array(record_lines(member.table, member.flow_log.format).decode().split("\n")[:-1])
            ids = member.interface_ids
            for eni in sorted(set(ids.tolist())):
                shared = sum(eni in other for other in enis_per_log) > 1
                name = stream_name(eni, "ALL" if shared else member.flow_log.traffic_type.value)
                mask = ids == eni
                streams[name].append((member.start[mask], member.end[mask], messages.filter(pa.array(mask))))
        for name, parts in sorted(streams.items()):
            start = np.concatenate([p[0] for p in parts])
            end = np.concatenate([p[1] for p in parts])
            messages = pa.concat_arrays([p[2] for p in parts])
            order = np.argsort(start, kind="stable")
            sink.append(group, name, _event_lines(start[order], end[order], messages.take(pa.array(order))))
            delivered.append(DeliveredStream(group, name, len(order)))
    return delivered


def _event_lines(start: np.ndarray, end: np.ndarray, messages: pa.Array) -> bytes:
    """JSON lines, built column-wise (records hold no characters JSON must escape; checked)."""
    if pc.any(pc.match_substring_regex(messages, r'["\\\x00-\x1f]')).as_py():
        import json

        return "".join(
            json.dumps({"timestamp": int(s) * 1000, "ingestionTime": _ingestion_ms(int(e)), "message": m})
            + "\n"
            for s, e, m in zip(start, end, messages.to_pylist(), strict=True)
        ).encode()
    ingestion = (end // 60 + 1) * 60_000 + DELIVERY_DELAY_S * 1000
    parts = [
        '{"timestamp": ', pc.cast(pa.array(start * 1000), pa.string()),
        ', "ingestionTime": ', pc.cast(pa.array(ingestion), pa.string()),
        ', "message": "', messages, '"}',
    ]  # fmt: skip
    lines = pc.binary_join_element_wise(*parts, "")
    return ("\n".join(lines.to_pylist()) + "\n").encode()


def _ingestion_ms(end: int) -> int:
    return (end // 60 + 1) * 60_000 + DELIVERY_DELAY_S * 1000
