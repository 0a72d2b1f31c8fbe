"""The read pipeline: units of parsing work run on the shared pool, results delivered in input order.

A job is a block of lines, a whole Parquet file, or a whole small gzip file (one task inflates and
parses it, line_blocks.py). At most WORKERS + 1 run at once, so memory stays flat; each result's
bad records go to the sink, numbered by their physical line, before its good batch is yielded.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

from vpcflow.errors import RecordError
from vpcflow.records import parquet_codec
from vpcflow.records.badrecords import BadRecord, BadRecordSink
from vpcflow.records.line_blocks import Truncated, parse_gzip_file
from vpcflow.records.pool import WORKERS, pool
from vpcflow.records.text_codec import parse_block

if TYPE_CHECKING:  # reader.py imports this module
    from vpcflow.records.reader import FlowLogInput


@dataclass
class Job:
    flow: FlowLogInput
    block: bytes | memoryview | object | None  # None: a whole Parquet file; WHOLE_GZIP: a gzip file
    line: int | None  # the block's first line, or None: numbered in order by the pipeline
    offset: int | None = None  # where the block starts in flow._text (numbered lazily)


WHOLE_GZIP = object()  # a job's block: the whole of flow._gzip_path


def _run(job: Job):
    flow = job.flow
    if job.block is WHOLE_GZIP:
        return parse_gzip_file(flow._gzip_path, flow._start, flow._layout, flow.name)
    if job.block is None:
        return list(parquet_codec.read_batches(flow._path or flow._stream, flow.name))
    if isinstance(job.block, Truncated):
        return job.block
    return parse_block(job.block, flow._layout, flow.name, job.line or 1, trusted=flow.trusted)


def run_jobs(jobs: Iterator[Job], sink: BadRecordSink) -> Iterator[tuple[FlowLogInput, pa.RecordBatch]]:
    """Run jobs on the pool, results in input order, a bounded number in flight (flat memory)."""
    pending: collections.deque = collections.deque()
    lines: dict[int, int] = {}  # per input: lines before its next block
    try:
        while True:
            while len(pending) < WORKERS + 1:
                job = next(jobs, None)
                if job is None:
                    break
                pending.append((job, pool().submit(_run, job)))
            if not pending:
                return
            job, future = pending.popleft()
            result = future.result()
            if job.block is WHOLE_GZIP:  # every block's result, in order
                for each in result:
                    yield from _deliver(job, each, sink, lines)
            elif job.block is None:  # a Parquet file's batches
                for batch in result:
                    sink.stats.good += batch.num_rows
                    yield job.flow, batch
            else:
                yield from _deliver(job, result, sink, lines)
    finally:
        for _, future in pending:
            future.cancel()


def _deliver(
    job: Job, result, sink: BadRecordSink, lines: dict[int, int]
) -> Iterator[tuple[FlowLogInput, pa.RecordBatch]]:
    """One block's batch, after its bad records (numbered by their physical line) went to the sink."""
    flow = job.flow
    before = lines.setdefault(id(flow), flow._first_line - 1)
    if isinstance(result, Truncated):
        reason = f"gzip data ends early ({result.reason}); this line is cut off"
        sink(BadRecord(flow.name, before + 1, None, reason, bytes(result)))
        return
    if job.offset is not None:
        if result.bad:
            result.shift(flow.lines_before(job.offset))
    elif job.line is None:
        result.shift(before)
        lines[id(flow)] = before + result.line_count
    for bad in result.bad:
        try:
            sink(bad)
        except RecordError:
            head = result.good_before(bad.line or 0)
            sink.stats.good += head.num_rows
            if head.num_rows:
                yield flow, head
            raise
    sink.stats.good += result.batch.num_rows
    if result.batch.num_rows:
        yield flow, result.batch
