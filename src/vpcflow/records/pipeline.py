"""The read pipeline: units of parsing work run on the shared pool, results delivered in input order.

A job is a block of lines, a row group of a Parquet file, or a whole small gzip file (one task
inflates and parses it, line_blocks.py). At most WORKERS + 1 run at once, so memory stays flat; each
result's bad records go to the sink, numbered by their physical line (a Parquet row: its row number
in the file), before its good batch is yielded.

A text job's result is bounded by its block; a row group's is as big as the row group, which the
file's writer chose (pyarrow's default is 1Mi rows, ~140 MB read for AWS's default format). So row
groups also count against IN_FLIGHT_BYTES, by their estimated size (parquet_codec.decoded_size),
and one over EAGER_GROUP_BYTES is not read on the pool at all: it is read a batch at a time as it
is delivered. Parquet input then holds at most IN_FLIGHT_BYTES of row groups read ahead, plus the
one being delivered (at most EAGER_GROUP_BYTES), plus what a big row group's reader holds (one
batch, and a buffer and a page per column), whatever the size of the file or of its row groups.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

from vpcflow.errors import InputError, RecordError
from vpcflow.records.badrecords import BadRecord, BadRecordSink
from vpcflow.records.line_blocks import Truncated, parse_gzip_file
from vpcflow.records.parquet_codec import RowGroup, row_groups
from vpcflow.records.pool import WORKERS, pool
from vpcflow.records.text_codec import field_at, parse_block

if TYPE_CHECKING:  # reader.py imports this module
    from vpcflow.records.reader import FlowLogInput


IN_FLIGHT_BYTES = 256 << 20  # Parquet row groups read ahead, by their estimated size
EAGER_GROUP_BYTES = 128 << 20  # a bigger row group is read as it is delivered, a batch at a time


@dataclass
class Job:
    flow: FlowLogInput
    block: bytes | memoryview | object | RowGroup  # WHOLE_GZIP: a gzip file
    line: int | None  # the block's first line, or None: numbered in order by the pipeline
    offset: int | None = None  # where the block starts in flow._text (numbered lazily)

    @property
    def weight(self) -> int:
        """What its result holds until it is delivered, counted against IN_FLIGHT_BYTES: a row
        group read on the pool. 0 for the rest: text results are bounded by their number, and a
        big row group is not read until it is delivered."""
        return self.block.size if isinstance(self.block, RowGroup) and _eager(self.block) else 0


WHOLE_GZIP = object()  # a job's block: the whole of flow._gzip_path


@dataclass
class Damaged:
    """A job's block: where an input could not be read on, found while its jobs were made (a
    payload that is not JSON, a stream that breaks off). Delivered in order, after the jobs before
    it, as one bad record (read_many then goes on with the next input)."""

    error: InputError


def parquet_jobs(flow: FlowLogInput) -> Iterator[Job]:
    """A Parquet input's jobs: one a row group, numbered by its first row."""
    for group in row_groups(flow._path or flow._stream, flow.format, flow.name):
        yield Job(flow, group, group.first_row + 1)


def _eager(group: RowGroup) -> bool:
    return group.size <= EAGER_GROUP_BYTES


def _run(job: Job):
    flow = job.flow
    if job.block is WHOLE_GZIP:
        return parse_gzip_file(flow._gzip_path, flow._start, flow._layout, flow.name)
    if isinstance(job.block, RowGroup):  # a big one: read by the delivering thread, as it delivers
        # (pyarrow still decodes its columns on its own threads)
        batches = job.block.batches()
        return collections.deque(batches) if _eager(job.block) else batches
    if isinstance(job.block, Truncated | Damaged):
        return job.block
    return parse_block(job.block, flow._layout, flow.name, job.line or 1, trusted=flow.trusted)


def run_jobs(jobs: Iterator[Job], sink: BadRecordSink) -> Iterator[tuple[FlowLogInput, pa.RecordBatch]]:
    """Run jobs on the pool, results in input order, a bounded number and size in flight (flat
    memory): a job is held back while the row groups ahead of it would pass IN_FLIGHT_BYTES."""
    pending: collections.deque = collections.deque()
    lines: dict[int, int] = {}  # per input: lines before its next block
    held, waiting = 0, None  # the weight of the pending jobs; a job held back
    try:
        while True:
            while len(pending) < WORKERS + 1:
                job = waiting if waiting is not None else next(jobs, None)
                waiting = None
                if job is None:
                    break
                if pending and held + job.weight > IN_FLIGHT_BYTES:
                    waiting = job
                    break
                held += job.weight
                pending.append((job, pool().submit(_run, job)))
            if not pending:
                return
            job, future = pending.popleft()
            held -= job.weight
            try:
                result = future.result()
                if isinstance(result, Damaged):
                    raise result.error
                if job.block is WHOLE_GZIP:  # every block's result, in order
                    for each in result:
                        yield from _deliver(job, each, sink, lines)
                elif isinstance(job.block, RowGroup):  # its batches' results, each let go once delivered
                    while (each := _next(result)) is not None:
                        yield from _deliver(job, each, sink, lines)
                else:
                    yield from _deliver(job, result, sink, lines)
            except RecordError:
                raise  # the policy stopped the read at a bad record
            except InputError as exc:
                # This job's part of its input is damaged (a Parquet row group that does not
                # decode): what it delivered stands, the rest of it is one bad record for the
                # policy, and the jobs after it (the next row groups, the next inputs) go on.
                bad = BadRecord.whole_file(job.flow.name, exc)
                bad.reason += "; the rest of this input cannot be read" if isinstance(job.block, Damaged) else (
                    "; the rest of this part of the input cannot be read"
                )
                sink(bad)
    finally:
        for _, future in pending:
            future.cancel()


def _next(results: collections.deque | Iterator):
    if isinstance(results, collections.deque):
        return results.popleft() if results else None
    return next(results, None)


def _deliver(
    job: Job, result, sink: BadRecordSink, lines: dict[int, int]
) -> Iterator[tuple[FlowLogInput, pa.RecordBatch]]:
    """One block's batch, after its bad records (numbered by their physical line) went to the sink."""
    flow = job.flow
    before = lines.setdefault(id(flow), flow._first_line - 1)
    if isinstance(result, Truncated):
        field = field_at(flow._layout, result, len(result))  # the field the line was cut in
        reason = f"gzip data ends early ({result.reason}); this line is cut off"
        sink(BadRecord(flow.name, before + 1, field, reason, bytes(result)))
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
