"""How fast the capture turns simulated traffic into delivered flow logs (records generated and
written per second), against writing the same records with the records layer alone, in one run.

    python bench/bench_capture.py [--records 2000000] [--format default|v5] [--repeat 1]

A seeded synthetic VPC: 400 instance ENIs, each talking to internet clients on a few ports; every
connection is a request and a response train lasting one to three one-minute windows. Two peers:
- write-only: `vpcflow.records.writer.write_text` of the already-built records to one gzip file
  (the floor: formatting and compression, no simulation);
- capture: `collect` (windows, 5-tuple aggregation, NODATA, materialising the format's columns) then
  `deliver_s3` (5-minute objects in AWS's layout, header, gzip) - what `vpcflow simulate` runs after
  the reachability engine has answered (paths are given here, so the engine is not measured).
Prints records/s for each and the capture's share of the write-only speed. Target: >= 1M records/s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vpcflow.capture.addresses import AddressBook  # noqa: E402
from vpcflow.capture.collect import collect  # noqa: E402
from vpcflow.capture.deliver_s3 import deliver_s3  # noqa: E402
from vpcflow.capture.flowlogs import FlowLog  # noqa: E402
from vpcflow.capture.paths import FlowPath, Interface, Port, Sighting  # noqa: E402
from vpcflow.capture.records import FIN, SYN, SYN_ACK, US, Capture, Trains  # noqa: E402
from vpcflow.capture.sinks import LocalBuckets  # noqa: E402
from vpcflow.records.formats import ATHENA_V5_FORMAT  # noqa: E402
from vpcflow.records.writer import write_text  # noqa: E402

START = 1795514400  # 2026-11-24T10:00:00Z
ENIS, PATHS_PER_ENI = 400, 25


def build(records: int, seed: int = 1) -> tuple[Capture, Trains]:
    rng = np.random.default_rng(seed)
    interfaces = [
        Interface(f"eni-{i:017x}", "123456789012", "vpc-0bench000000000001", f"subnet-{i % 8:017x}",
                  f"10.0.{i // 250}.{i % 250 + 4}", "eu-west-1", f"euw1-az{i % 3 + 1}", f"i-{i:017x}")
        for i in range(ENIS)
    ]  # fmt: skip
    capture = Capture(interfaces, AddressBook())
    clients = [f"{rng.integers(1, 223)}.{rng.integers(0, 256)}.{rng.integers(0, 256)}.{rng.integers(1, 255)}" for _ in range(5000)]
    for iface in interfaces:
        for _ in range(PATHS_PER_ENI):
            client = clients[int(rng.integers(len(clients)))]
            action = "ACCEPT" if rng.random() < 0.8 else "REJECT"
            request = (Sighting(iface.id, "ingress", client, iface.private_ip, client, iface.private_ip, Port.CLIENT, Port.SERVER, action),)
            response = () if action == "REJECT" else (
                Sighting(iface.id, "egress", iface.private_ip, client, iface.private_ip, client, Port.SERVER, Port.CLIENT, "ACCEPT", 8),)
            capture.add_path(FlowPath(6, request, response))  # fmt: skip
    # ~2 windows per train, ~1.8 sightings per connection -> about 3.6 records per connection
    n = max(1, int(records / 3.6))
    path = rng.integers(0, len(capture.paths), n)
    t0 = (START + rng.uniform(0, 3600, n)) * US
    duration = rng.uniform(5, 150, n) * US
    count = rng.integers(4, 400, n)
    interval = (duration / (count - 1)).astype(np.int64) + 1
    common = dict(
        path=np.concatenate([path, path]), t0=np.concatenate([t0, t0]).astype(np.int64),
        interval=np.concatenate([interval, interval]), count=np.concatenate([count, count]),
        leg=np.r_[np.zeros(n), np.ones(n)], size=np.r_[rng.uniform(60, 1400, n), rng.uniform(60, 1400, n)],
        flag_first=np.r_[np.full(n, SYN), np.full(n, SYN_ACK)], flag_last=FIN,
        flow=np.r_[np.arange(n), np.arange(n)],
        client_port=np.concatenate([rng.integers(32768, 61000, n)] * 2), server_port=np.concatenate([rng.choice([22, 80, 443, 5432], n)] * 2),
    )  # fmt: skip
    return capture, Trains.build(**common)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--format", choices=["default", "v5"], default="default")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    log_format = ATHENA_V5_FORMAT if args.format == "v5" else None
    flow_log = FlowLog(resource_type="VPC", resource_id="vpc-0bench000000000001", traffic_type="ALL",
                       max_aggregation_interval=60, log_format=log_format, log_destination_type="s3",
                       log_destination="arn:aws:s3:::bench-bucket")  # fmt: skip
    capture, trains = build(args.records)
    best_capture = best_write = float("inf")
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            out = collect(capture, trains, [flow_log], START, START + 3600)[0]
            objects = deliver_s3(flow_log, out.table, out.end, LocalBuckets(tmp), account="123456789012", region="eu-west-1")
            best_capture = min(best_capture, time.perf_counter() - started)
            records = out.table.num_rows
            started = time.perf_counter()
            write_text(out.table, Path(tmp) / "all.log.gz", flow_log.format)
            best_write = min(best_write, time.perf_counter() - started)
    print(f"records: {records:,} ({args.format} format), {len(objects)} S3 objects, {len(trains):,} packet trains")
    print(f"{'peer':<12} {'seconds':>8} {'records/s':>12}")
    print(f"{'write-only':<12} {best_write:8.2f} {records / best_write:12,.0f}")
    print(f"{'capture':<12} {best_capture:8.2f} {records / best_capture:12,.0f}")
    print(f"capture / write-only: {best_write / best_capture:.2f}; target >= 1,000,000 records/s: "
          f"{'met' if records / best_capture >= 1_000_000 else 'NOT met'}")  # fmt: skip


if __name__ == "__main__":
    main()
