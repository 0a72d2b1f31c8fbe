"""CloudWatch Logs shapes of flow log records.

- Subscription payloads: gzip JSON `{"messageType": "DATA_MESSAGE", "logGroup", "logStream",
  "logEvents": [{"id", "timestamp", "message"}]}`, one record a message, no header (flowlogs.md §5.1).
  Several payloads may be concatenated (as Firehose delivers them); CONTROL_MESSAGE payloads carry
  no records. Errors name the event by its position: line N is the N-th event of the input.
- Event lines: one JSON object a line, `{"timestamp", "ingestionTime", "message"}`, as
  `aws logs filter-log-events` returns events and as `vpcflow simulate` writes a log stream. Line N
  of the file is the N-th event.
- Exports (`aws logs` export to S3): an ISO-8601 timestamp, a space, the record; handled by the text
  reader with a leading column (see detect.py).
"""

from __future__ import annotations

import codecs
import io
import json
import re
from collections.abc import Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from vpcflow.errors import InputError
from vpcflow.records.formats import LogFormat, resolve_format
from vpcflow.records.text_codec import TextLayout

EVENTS_PER_BLOCK = 50_000


def payload_layout(log_format: str | LogFormat | None) -> tuple[LogFormat, TextLayout]:
    fmt = resolve_format(log_format)
    return fmt, TextLayout(fmt)


CHUNK_BYTES = 1 << 20


def iter_payloads(chunks: bytes | Iterable[bytes], name: str) -> Iterator[dict]:
    """Each JSON document of concatenated payloads (bytes, or the bytes a chunk at a time, as a
    stream gives them): memory holds the payload being decoded and what is left of a chunk, not
    the input, however many payloads a Firehose object concatenates."""
    chunks = iter([chunks] if isinstance(chunks, bytes | bytearray | memoryview) else chunks)
    utf8 = codecs.getincrementaldecoder("utf-8")("replace")
    decoder = json.JSONDecoder()
    text, pos, done = "", 0, False
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        try:
            if pos >= len(text):
                raise json.JSONDecodeError("no document yet", text, pos)
            obj, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            if done:
                if pos >= len(text):
                    return
                raise InputError(f"subscription payload is not valid JSON: {exc.msg} (character {exc.pos})", source=name) from None
            # A document cut by the chunk's end: read on (an object cannot decode before its last
            # brace, so a cut one never decodes early). Reads grow with the document, so a big
            # payload is decoded a bounded number of times.
            more = b""
            while len(more) < max(CHUNK_BYTES, len(text) - pos):
                chunk = next(chunks, None)
                if chunk is None:
                    done = True
                    break
                more += chunk
            text = text[pos:] + utf8.decode(more, final=done)
            pos = 0
            continue
        if not isinstance(obj, dict):
            raise InputError("subscription payload: expected a JSON object with logEvents", source=name)
        yield obj


# A payload's first key, as CloudWatch Logs writes them (messageType first): enough to know a
# payload whose first document is longer than the head the reader looks at.
_PAYLOAD_START = re.compile(rb'\s*\{\s*"(?:messageType|owner|logGroup|logStream|subscriptionFilters|logEvents)"')


def is_payload(head: bytes) -> bool:
    """Whether the bytes (the whole input, or its first bytes) are CloudWatch Logs subscription
    JSON (else they are text that starts with '{')."""
    try:
        first = next(iter_payloads(head, "<payload>"))
    except StopIteration:
        return False
    except InputError:
        return _PAYLOAD_START.match(head) is not None  # cut off, or damaged after its start
    return "logEvents" in first or "messageType" in first


def payload_blocks(payload: bytes | Iterable[bytes], name: str) -> Iterator[tuple[bytes, int]]:
    """Blocks of record lines from the payload's events, numbered by event position (1-based).
    Damage after some payloads gives their events first, then the error."""
    lines: list[str] = []
    first = 1
    try:
        for obj in iter_payloads(payload, name):
            if obj.get("messageType") == "CONTROL_MESSAGE":
                continue
            events = obj.get("logEvents")
            if not isinstance(events, list):
                raise InputError("subscription payload has no logEvents list", source=name)
            for event in events:
                message = event.get("message", "") if isinstance(event, dict) else ""
                lines.append(str(message).replace("\n", " "))
                if len(lines) >= EVENTS_PER_BLOCK:
                    yield ("\n".join(lines) + "\n").encode(), first
                    first += len(lines)
                    lines = []
    except InputError:  # the events read before the damage first (not in a `finally`: a
        if lines:  # generator closed early must not yield again)
            yield ("\n".join(lines) + "\n").encode(), first
        raise
    if lines:
        yield ("\n".join(lines) + "\n").encode(), first


def is_event_lines(head: bytes) -> bool:
    """Whether most of the first lines are CloudWatch Logs event objects (`timestamp` and
    `message`): a junk line first must not make the events around it unreadable."""
    lines = [line for line in head.split(b"\n")[:20] if line.strip()]
    return sum(map(_is_event, lines)) * 2 > len(lines)


def _is_event(line: bytes) -> bool:
    try:
        obj = json.loads(line)
    except ValueError:
        return False
    return isinstance(obj, dict) and "message" in obj and "timestamp" in obj


def event_blocks(payload: bytes, name: str) -> Iterator[tuple[bytes, int]]:
    """Blocks of record lines from event lines, numbered by line (1-based).

    pyarrow's JSON reader parses the whole file at once (no Python loop per event). It skips blank
    lines and refuses a file with one malformed line, so either case falls back to a line-by-line
    parse, where a line that is not an event object is passed on as it is: the record parser then
    reports it (file, line) and quarantines it, and the events around it are kept.
    """
    lines = payload.count(b"\n") + (0 if payload.endswith(b"\n") or not payload else 1)
    messages = None
    try:
        table = pajson.read_json(
            io.BytesIO(payload),
            parse_options=pajson.ParseOptions(
                explicit_schema=pa.schema([("message", pa.string())]), unexpected_field_behavior="ignore"
            ),
        )
        if table.num_rows == lines:
            messages = table.column("message").combine_chunks()
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        messages = None
    if messages is None:
        messages = pa.array([_event_message(line) for line in payload.splitlines()], pa.string())
    # One record a line: a newline inside a message would shift every later line number.
    messages = pc.replace_substring(pc.fill_null(messages, ""), "\n", " ")
    for start in range(0, len(messages), EVENTS_PER_BLOCK):
        chunk = pc.binary_join_element_wise(messages.slice(start, EVENTS_PER_BLOCK), pa.scalar(""), "\n")
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32)[chunk.offset : chunk.offset + len(chunk) + 1]
        yield chunk.buffers()[2][int(offsets[0]) : int(offsets[-1])].to_pybytes(), start + 1


def _event_message(line: bytes) -> str:
    try:
        obj = json.loads(line)
    except ValueError:
        return line.decode("utf-8", "replace")
    if isinstance(obj, dict) and isinstance(obj.get("message"), str):
        return obj["message"]
    return line.decode("utf-8", "replace")


def stream_name(interface_id: str, traffic_type: str = "ALL") -> str:
    """Log stream name of an interface: real payloads show `eni-<id>-all` (flowlogs.md §5.1, §10.4).

    AWS does not document the suffix for ACCEPT-only or REJECT-only flow logs; we choose `-accept`
    and `-reject` by analogy, and a combined stream (several flow logs into one group) is `-all`.
    """
    return f"{interface_id}-{traffic_type.lower()}"
