"""Packets to flow log records, vectorised: trains of packets -> per ENI, direction and aggregation
window, one record per flow -> Arrow tables in any log format.

A *train* is `count` packets of one leg (request or response) of one connection, `interval` apart,
starting at `t0`, all of one size; its flags are those of its first packet, its last packet, and every
packet (so a TCP connection is a request train SYN..FIN and a response train SYN-ACK..FIN; SYN retries
are trains of one). Each train crosses the sightings of its path (paths.py). Records follow AWS's
capture rules (flowlogs.md §3):

- windows are aligned on multiples of the aggregation interval (60 or 600 s; 60 s or less on Nitro),
  shifted by the capture's `phase_s`: AWS's own examples show windows that do not start on the
  minute (e.g. 1616729292-1616729349), so tests that reproduce them set the phase; AWS does not
  document how its windows are placed;
- a record aggregates one 5-tuple (with its direction, action and packet-level addresses) on one ENI in
  one window: packets and bytes summed, `start`/`end` = first/last packet time, `tcp-flags` OR-ed;
- tcp-flags reports only FIN 1, SYN 2, RST 4 and SYN-ACK 18; pure ACK/PSH packets add 0;
- an ENI with no traffic at all in a window gets a NODATA record (start/end = the window's bounds: AWS
  does not say which times NODATA records carry; its example spans 58 s of one interval);
- more flows than `capacity` on one ENI in one window: the extra flows are dropped and one SKIPDATA
  record stands for them (AWS: "a single skipped record can represent multiple flows").

Times are integer microseconds inside, so window boundaries are exact.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from vpcflow.capture.addresses import AddressBook
from vpcflow.capture.paths import FlowPath, Interface, Port
from vpcflow.records.formats import LogFormat
from vpcflow.records.pool import pool

US = 1_000_000
REQUEST, RESPONSE = 0, 1
INGRESS, EGRESS = 0, 1
ACCEPT, REJECT = 0, 1
OK, NODATA, SKIPDATA = 0, 1, 2
FIN, SYN, RST, SYN_ACK = 1, 2, 4, 18


@dataclass
class Trains:
    """Packet trains, one row each (columnar numpy arrays of one length)."""

    path: np.ndarray  # int32: index into the capture's paths
    leg: np.ndarray  # int8: REQUEST or RESPONSE
    t0: np.ndarray  # int64 microseconds
    interval: np.ndarray  # int64 microseconds between packets (>0)
    count: np.ndarray  # int64 packets
    size: np.ndarray  # float64 mean bytes per packet (totals are rounded cumulatively, so exact)
    flag_first: np.ndarray  # int16
    flag_last: np.ndarray  # int16
    flag_each: np.ndarray  # int16
    client_port: np.ndarray  # int32
    server_port: np.ndarray  # int32
    nat_port: np.ndarray  # int32
    flow: np.ndarray  # int64: trains of one flow (same path, ports) share it; pieces of a flow merge

    COLUMNS = ("path", "leg", "t0", "interval", "count", "size", "flag_first", "flag_last", "flag_each",
               "client_port", "server_port", "nat_port", "flow")  # fmt: skip
    DTYPES = (np.int32, np.int8, np.int64, np.int64, np.int64, np.float64, np.int16, np.int16, np.int16,
              np.int32, np.int32, np.int32, np.int64)  # fmt: skip

    @classmethod
    def build(cls, **columns) -> Trains:
        n = max(np.size(v) for v in columns.values())
        if "flow" not in columns:  # each train its own flow unless the caller says otherwise
            columns = {**columns, "flow": np.arange(n)}
        arrays = {}
        for name, dtype in zip(cls.COLUMNS, cls.DTYPES, strict=True):
            value = columns.get(name, 0)
            arrays[name] = np.broadcast_to(np.asarray(value, dtype=dtype), (n,)).copy()
        arrays["interval"] = np.maximum(arrays["interval"], 1)
        return cls(**arrays)

    @classmethod
    def concat(cls, parts: list[Trains]) -> Trains:
        if not parts:
            return cls.build(path=np.zeros(0))
        return cls(**{c: np.concatenate([getattr(p, c) for p in parts]) for c in cls.COLUMNS})

    def __len__(self) -> int:
        return len(self.path)

    def take(self, mask) -> Trains:
        return Trains(**{c: getattr(self, c)[mask] for c in self.COLUMNS})


@dataclass
class Capture:
    """The interfaces, addresses and paths trains refer to, flattened for vectorised lookups."""

    interfaces: list[Interface]
    addresses: AddressBook
    paths: list[FlowPath] = field(default_factory=list)
    phase_s: int = 0  # windows start at phase + k * interval (AWS's are not on the minute; see module doc)

    def __post_init__(self):
        self.eni_index = {iface.id: i for i, iface in enumerate(self.interfaces)}
        self._flat: dict | None = None

    def add_path(self, path: FlowPath) -> int:
        self.paths.append(path)
        self._flat = None
        return len(self.paths) - 1

    def sightings(self) -> dict:
        """Sighting columns, and for each (path, leg) the offset and number of its sightings."""
        if self._flat is not None:
            return self._flat
        cols = {
            k: []
            for k in (
                "eni",
                "dir",
                "src",
                "dst",
                "psrc",
                "pdst",
                "sport",
                "dport",
                "action",
                "tpath",
                "proto",
            )
        }
        offset = np.zeros((len(self.paths), 2), dtype=np.int64)
        number = np.zeros((len(self.paths), 2), dtype=np.int64)
        book = self.addresses
        for p, path in enumerate(self.paths):
            for leg, sightings in ((REQUEST, path.request), (RESPONSE, path.response)):
                offset[p, leg] = len(cols["eni"])
                number[p, leg] = len(sightings)
                for s in sightings:
                    cols["eni"].append(self.eni_index[s.interface])
                    cols["dir"].append(EGRESS if s.flow_direction == "egress" else INGRESS)
                    cols["src"].append(book.id(s.srcaddr))
                    cols["dst"].append(book.id(s.dstaddr))
                    cols["psrc"].append(book.id(s.pkt_srcaddr))
                    cols["pdst"].append(book.id(s.pkt_dstaddr))
                    cols["sport"].append(int(s.srcport))
                    cols["dport"].append(int(s.dstport))
                    cols["action"].append(REJECT if s.action == "REJECT" else ACCEPT)
                    cols["tpath"].append(s.traffic_path or 0)
                    cols["proto"].append(path.protocol)
        flat = {k: np.array(v, dtype=np.int32) for k, v in cols.items()}
        flat["offset"], flat["number"] = offset, number
        self._flat = flat
        return flat


def window_rows(
    trains: Trains,
    capture: Capture,
    interval_s: int,
    enis: np.ndarray | None = None,
    columns: Iterable[str] | None = None,
) -> pa.Table:
    """Aggregated records (as id columns) of every sighting of every train, in `interval_s` windows.

    `enis`: a boolean mask over the capture's interfaces; sightings on other ENIs are not computed.
    `columns`: the id columns wanted (`id_columns` of the formats to write; the ones collect itself
    reads are always there), in `ID_COLUMNS` order; others are not gathered.
    """
    a = interval_s * US
    t0, step, count = trains.t0, trains.interval, trains.count
    shift = capture.phase_s * US
    w_lo = (t0 - shift) // a
    w_hi = (t0 - shift + (count - 1) * step) // a
    n_win = (w_hi - w_lo + 1).astype(np.int64)
    train = np.repeat(np.arange(len(trains), dtype=np.int64), n_win)
    starts = np.cumsum(n_win) - n_win
    window = w_lo[train] + (np.arange(len(train), dtype=np.int64) - starts[train])
    ws = window * a + shift - t0[train]
    st, cn = step[train], count[train]
    k_lo = np.where(ws <= 0, 0, -(-ws // st))
    k_hi = np.minimum(cn - 1, -(-(ws + a) // st) - 1)
    keep = k_hi >= k_lo
    train, window, k_lo, k_hi, st = train[keep], window[keep], k_lo[keep], k_hi[keep], st[keep]
    first_t = (t0[train] + k_lo * st) // US
    last_t = (t0[train] + k_hi * st) // US
    packets = k_hi - k_lo + 1
    nbytes = _bytes(k_lo, k_hi, trains.size[train])
    flags = (
        np.where(k_lo == 0, trains.flag_first[train], 0)
        | np.where(k_hi == trains.count[train] - 1, trains.flag_last[train], 0)
        | trains.flag_each[train]
    ).astype(np.int16)
    train, window, first_t, last_t, packets, nbytes, flags = _merge_same_flow(
        trains, train, window, first_t, last_t, packets, nbytes, flags
    )

    # each (train, window) crosses the sightings of its path's leg
    flat = capture.sightings()
    path, leg = trains.path[train], trains.leg[train]
    n_s = flat["number"][path, leg]
    row = np.repeat(np.arange(len(train), dtype=np.int64), n_s)
    s = flat["offset"][path, leg][row] + (np.arange(len(row), dtype=np.int64) - (np.cumsum(n_s) - n_s)[row])
    if enis is not None:
        on = enis[flat["eni"][s]]
        row, s = row[on], s[on]
    wanted = ID_COLUMNS if columns is None else [c for c in ID_COLUMNS if c in set(columns) | set(_ALWAYS)]
    tr = train[row]
    ports = np.stack(
        [trains.client_port, trains.server_port, trains.nat_port, np.zeros(len(trains), np.int32)]
    ) if "sport" in wanted or "dport" in wanted else None  # fmt: skip
    # each column is a gather from the sightings (small), the pieces, or the trains' ports
    make = {
        "eni": lambda: flat["eni"][s], "dir": lambda: flat["dir"][s].astype(np.int8),
        "src": lambda: flat["src"][s], "dst": lambda: flat["dst"][s],
        "psrc": lambda: flat["psrc"][s], "pdst": lambda: flat["pdst"][s],
        "sport": lambda: ports[flat["sport"][s], tr], "dport": lambda: ports[flat["dport"][s], tr],
        "proto": lambda: flat["proto"][s].astype(np.int16), "action": lambda: flat["action"][s].astype(np.int8),
        "tpath": lambda: flat["tpath"][s].astype(np.int8), "window": lambda: window[row],
        "start": lambda: first_t[row], "end": lambda: last_t[row], "packets": lambda: packets[row],
        "bytes": lambda: nbytes[row], "flags": lambda: flags[row],
    }  # fmt: skip
    return pa.table({name: make[name]() for name in wanted})


def _merge_same_flow(trains: Trains, train, window, first_t, last_t, packets, nbytes, flags):
    """Aggregate (train, window) pieces of the same flow (`Trains.flow`, and leg) in the same window.

    Such pieces - SYN retries, a probe's SYN and RST, repeated connections that reuse a source port -
    give the same 5-tuple on every ENI they cross, so merging them before the sightings are expanded
    is AWS's 5-tuple aggregation at a fraction of a hash aggregation's cost. Builders number flows in
    the order they add trains, so the key is nearly sorted and a stable sort of it nearly free.
    """
    if len(train) == 0:
        return train, window, first_t, last_t, packets, nbytes, flags
    w0 = window.min()
    span = int(window.max() - w0) + 1
    key = (trains.flow[train] * 2 + trains.leg[train]) * span + (window - w0)
    if np.all(key[1:] > key[:-1]):
        return train, window, first_t, last_t, packets, nbytes, flags
    order = np.argsort(key, kind="stable")
    key = key[order]
    distinct = key[1:] != key[:-1]
    if distinct.all():  # nothing to merge (e.g. a flow's two legs): the same order, no reductions
        return (
            train[order],
            window[order],
            first_t[order],
            last_t[order],
            packets[order],
            nbytes[order],
            flags[order],
        )
    starts = np.flatnonzero(np.r_[True, distinct])
    pick = order[starts]
    return (
        train[pick], window[pick],
        np.minimum.reduceat(first_t[order], starts), np.maximum.reduceat(last_t[order], starts),
        np.add.reduceat(packets[order], starts), np.add.reduceat(nbytes[order], starts),
        np.bitwise_or.reduceat(flags[order], starts),
    )  # fmt: skip


def _bytes(k_lo: np.ndarray, k_hi: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Bytes of packets k_lo..k_hi of a train: cumulative rounding, so a train's windows add up exactly."""
    return (np.floor((k_hi + 1) * size + 0.5) - np.floor(k_lo * size + 0.5)).astype(np.int64)


def limit_flows(rows: pa.Table, capacity: int | None) -> tuple[pa.Table, pa.Table]:
    """Keep at most `capacity` flows per ENI and window (earliest first); the rest become SKIPDATA.

    Returns (kept rows, skip marks: one row per ENI and window that lost flows, with its window).
    """
    empty = pa.table({"eni": pa.array([], pa.int32()), "window": pa.array([], pa.int64())})
    if capacity is None or rows.num_rows == 0:
        return rows, empty
    order = np.lexsort((rows["start"].to_numpy(), rows["window"].to_numpy(), rows["eni"].to_numpy()))
    eni, window = rows["eni"].to_numpy()[order], rows["window"].to_numpy()[order]
    new_group = np.r_[True, (eni[1:] != eni[:-1]) | (window[1:] != window[:-1])]
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(len(order)), 0))
    rank = np.arange(len(order)) - group_start
    kept = np.sort(order[rank < capacity])
    dropped = order[rank >= capacity]
    marks = pa.table({"eni": rows["eni"].take(dropped), "window": rows["window"].take(dropped)})
    marks = marks.group_by(["eni", "window"], use_threads=False).aggregate([])
    return rows.take(kept), marks


def status_rows(
    enis: np.ndarray, windows: np.ndarray, interval_s: np.ndarray, status: int, phase_s: int = 0
) -> pa.Table:
    """NODATA or SKIPDATA records (id form, the flow columns zero) for (ENI, window) pairs."""
    n = len(enis)
    start = windows * interval_s + phase_s
    zeros32, zeros8 = np.zeros(n, np.int32), np.zeros(n, np.int8)
    return pa.table({
        "eni": enis.astype(np.int32), "dir": zeros8, "src": zeros32, "dst": zeros32, "psrc": zeros32,
        "pdst": zeros32, "sport": zeros32, "dport": zeros32, "proto": np.zeros(n, np.int16), "action": zeros8,
        "tpath": zeros8, "window": windows.astype(np.int64), "start": start.astype(np.int64),
        "end": (start + interval_s - 1).astype(np.int64), "packets": np.zeros(n, np.int64),
        "bytes": np.zeros(n, np.int64), "flags": np.zeros(n, np.int16), "status": np.full(n, status, np.int8),
    })  # fmt: skip


def with_status(rows: pa.Table) -> pa.Table:
    """Flow rows with their log-status column (OK), ready to be concatenated with status rows."""
    return rows.append_column("status", pa.array(np.zeros(rows.num_rows, np.int8)))


def idle_windows(
    rows: pa.Table, enis: np.ndarray, interval_s: np.ndarray, begin: int, end: int, phase_s: int = 0
) -> tuple:
    """(ENI, window) pairs in [begin, end) with no rows: the NODATA records, by ENI (in `enis`
    order) then window. `rows` hold windows of the ENI's own interval (`interval_s`, per ENI)."""
    enis, interval_s = (
        np.asarray(enis, np.int64),
        np.broadcast_to(np.asarray(interval_s, np.int64), len(enis)),
    )
    if len(enis) == 0:
        return np.zeros(0, np.int32), np.zeros(0, np.int64)
    w0 = (begin - phase_s) // interval_s
    count = np.maximum(-(-(end - phase_s) // interval_s) - w0, 0)
    # every (ENI position, window) pair, flattened: position p owns slots offset[p] .. offset[p] + count[p]
    offset = np.cumsum(count) - count
    busy = np.zeros(int(count.sum()), bool)
    if rows.num_rows:
        position = np.full(int(max(enis.max(), rows["eni"].to_numpy().max())) + 1, -1, np.int64)
        position[enis] = np.arange(len(enis))
        p = position[rows["eni"].to_numpy()]
        inside = p >= 0
        p, w = p[inside], rows["window"].to_numpy()[inside] - w0[p[inside]]
        inside = (w >= 0) & (w < count[p])
        busy[offset[p[inside]] + w[inside]] = True
    slot = np.flatnonzero(~busy)
    owner = np.searchsorted(offset, slot, side="right") - 1
    return enis[owner].astype(np.int32), (w0[owner] + slot - offset[owner]).astype(np.int64)


class Materialiser:
    """Id-form rows -> the Arrow columns of a log format (strings taken from small lookup arrays)."""

    def __init__(self, capture: Capture):
        self.capture = capture
        ifs = capture.interfaces
        self.iface = {
            "account-id": pa.array([i.account_id for i in ifs], pa.string()),
            "interface-id": pa.array([i.id for i in ifs], pa.string()),
            "vpc-id": pa.array([i.vpc_id for i in ifs], pa.string()),
            "subnet-id": pa.array([i.subnet_id for i in ifs], pa.string()),
            "instance-id": pa.array([i.instance_id for i in ifs], pa.string()),
            "region": pa.array([i.region for i in ifs], pa.string()),
            "az-id": pa.array([None if i.sublocation_type else i.az_id for i in ifs], pa.string()),
            "sublocation-type": pa.array([i.sublocation_type for i in ifs], pa.string()),
            "sublocation-id": pa.array([i.sublocation_id for i in ifs], pa.string()),
        }

    def table(self, ids: dict[str, np.ndarray], fmt: LogFormat) -> pa.Table:
        """Records in `fmt` from id columns (`gather_ids`: flows and NODATA/SKIPDATA rows, told apart
        by `status`), one column per field built on the shared pool (pyarrow and numpy release the
        GIL). Call it from the main thread: pool tasks must not wait on the pool."""
        n = len(ids["status"])
        no_flow = ids["status"] != OK
        # flow fields are '-' on NODATA/SKIPDATA rows: one validity bitmap shared by those columns
        valid = pa.array(~no_flow).buffers()[1] if no_flow.any() else None
        book = self.capture.addresses.table

        def flow(name: str) -> pa.Array:
            values = ids[name]
            return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), n, [valid, pa.py_buffer(values)])

        def column(f) -> pa.Array:
            t = f.token
            if t == "version":
                col = pa.array(np.full(n, fmt.version, np.int32))
            elif t in self.iface:
                col = self.iface[t].take(ids["eni"])
            elif t in _ADDRESS_COLUMNS:
                col = book.text.take(flow(_ADDRESS_COLUMNS[t]))
            elif t in _NUMBER_COLUMNS:
                col = flow(_NUMBER_COLUMNS[t])
            elif t in ("start", "end"):
                col = pa.array(ids[t])
            elif t == "action":
                col = _ACTIONS.take(flow("action"))
            elif t == "log-status":
                col = _STATUSES.take(ids["status"])
            elif t == "type":
                col = book.ip_type.take(flow("src"))
            elif t == "pkt-src-aws-service":
                col = book.service.take(flow("psrc"))
            elif t == "pkt-dst-aws-service":
                col = book.service.take(flow("pdst"))
            elif t == "flow-direction":
                col = _DIRECTIONS.take(flow("dir"))
            elif t == "traffic-path":
                tp = ids["tpath"]
                col = pa.array(tp.astype(np.int32), mask=tp == 0)
            else:  # ecs-*, reject-reason, resource-id, encryption-status: '-' (see docs/scenarios.md)
                col = pa.nulls(n, f.arrow_type)
            if isinstance(col, pa.ChunkedArray):
                col = col.combine_chunks()
            return col.cast(f.arrow_type) if col.type != f.arrow_type else col

        # one chunk per column: pyarrow's CSV writer emits garbage when a column starts with an
        # empty chunk (seen with pyarrow 26), and every consumer is faster on contiguous columns
        return pa.table(list(pool().map(column, fmt.fields)), schema=fmt.schema)


def id_columns(fmt: LogFormat) -> set[str]:
    """The id columns (`ID_COLUMNS`) a log format's fields are made from."""
    names = set(_ALWAYS)
    for f in fmt.fields:
        t = f.token
        source = _ADDRESS_COLUMNS.get(t) or _NUMBER_COLUMNS.get(t) or _OTHER_SOURCES.get(t)
        if source:
            names.add(source)
    return names


def gather_ids(
    rows: pa.Table, names: Iterable[str], order: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Id columns of `rows` as contiguous arrays, permuted by `order` (one gather per column, on the
    shared pool; call from the main thread)."""

    def one(name: str) -> np.ndarray:
        column = rows[name]
        values = column.chunk(0).to_numpy() if column.num_chunks == 1 else column.to_numpy()
        return values[order] if order is not None else values

    names = list(names)
    return dict(zip(names, pool().map(one, names), strict=True))


# id columns: what window_rows and status_rows produce, in this order
ID_COLUMNS = ("eni", "dir", "src", "dst", "psrc", "pdst", "sport", "dport", "proto", "action", "tpath",
              "window", "start", "end", "packets", "bytes", "flags")  # fmt: skip
_ALWAYS = ("eni", "window", "start", "end", "action")  # read by collect itself (scope, NODATA, filters)
_ADDRESS_COLUMNS = {"srcaddr": "src", "dstaddr": "dst", "pkt-srcaddr": "psrc", "pkt-dstaddr": "pdst"}
_NUMBER_COLUMNS = {"srcport": "sport", "dstport": "dport", "protocol": "proto", "packets": "packets",
                   "bytes": "bytes", "tcp-flags": "flags"}  # fmt: skip
_OTHER_SOURCES = {"type": "src", "pkt-src-aws-service": "psrc", "pkt-dst-aws-service": "pdst",
                  "flow-direction": "dir", "traffic-path": "tpath", "action": "action"}  # fmt: skip
_ACTIONS = pa.array(["ACCEPT", "REJECT"])
_DIRECTIONS = pa.array(["ingress", "egress"])
_STATUSES = pa.array(["OK", "NODATA", "SKIPDATA"])

__all__ = [
    "ID_COLUMNS",
    "Capture",
    "Materialiser",
    "gather_ids",
    "id_columns",
    "Port",
    "Trains",
    "idle_windows",
    "limit_flows",
    "status_rows",
    "window_rows",
]
