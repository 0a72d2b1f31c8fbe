"""What kind of flow log input a file is, from its first bytes: the reader never asks the user.

Kinds: AWS Parquet delivery (`PAR1`), CloudWatch Logs subscription payloads (gzip JSON with
`logEvents`), CloudWatch Logs exports (ISO-8601 timestamp, a space, the record), S3 text files
(header line first, plain or gzip), and header-less records (CloudWatch Logs messages).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import NoReturn

from vpcflow.errors import InputError
from vpcflow.records import text_codec
from vpcflow.records.catalog import BY_TOKEN
from vpcflow.records.formats import LogFormat, resolve_format
from vpcflow.records.text_codec import TextLayout

GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
ISO_TIMESTAMP = re.compile(text_codec.ISO_TIMESTAMP)
_HEADER_WORD = re.compile(r"^[a-z][a-z0-9-]*$")


class Kind(enum.StrEnum):
    text = "text"  # S3 text file with its header line
    records = "records"  # header-less records, as in CloudWatch Logs messages
    cloudwatch_export = "cloudwatch-export"
    subscription = "subscription"  # CloudWatch Logs subscription payload (gzip JSON)
    cloudwatch_events = "cloudwatch-events"  # JSON lines {"timestamp", "ingestionTime", "message"}
    parquet = "parquet"


@dataclass(frozen=True)
class TextPlan:
    """How to read a text input: its kind, its columns, and the line its records start on."""

    kind: Kind
    layout: TextLayout
    first_line: int  # 1-based line of the first record (2 after a header)
    header_bytes: int  # bytes to skip before the first record


def looks_binary(head: bytes) -> bool:
    """Mostly non-text bytes: a binary file. A few odd bytes are bad lines among good ones."""
    sample = head[:4096]
    if not sample:
        return False
    odd = sum(1 for b in sample if b > 126 or (b < 32 and b not in (9, 10, 13)))
    return odd / len(sample) > 0.10


def plan_text(head: bytes, source: str, log_format: str | LogFormat | None) -> TextPlan:
    """Decide the layout of a text input from its first (decompressed) bytes.

    A header line decides alone. Without one, the kind is what most of the first lines read as
    (header-less records, or a CloudWatch Logs export's timestamped records), not the first line
    alone: a few junk lines before the records, or a run of binary bytes, must not cost the file's
    good records (they become bad lines). Only a head in which no line reads as a record is a
    whole-file error (binary data, or records of another format)."""
    if not head.strip():
        raise InputError("empty file: no header line and no records", source=source)
    newline = head.find(b"\n")
    first = head if newline < 0 else head[:newline]
    words = first.decode("utf-8", "replace").split()

    header = _header_format(words, source)
    if header is not None:
        skip = len(head) if newline < 0 else newline + 1
        return TextPlan(Kind.text, TextLayout(header), 2, skip)

    late = _late_header(head)
    if late is not None:  # junk before the header: read from line 1 with the header's format, so
        # the junk lines and the header itself are bad lines, named, and the records after it kept
        return TextPlan(Kind.text, TextLayout(late), 1, 0)
    fmt = resolve_format(log_format)
    records, exports = _fitting_lines(head, fmt)
    first_is_export = bool(words) and ISO_TIMESTAMP.match(words[0]) is not None
    if exports > records or (not records and first_is_export):
        return TextPlan(Kind.cloudwatch_export, TextLayout(fmt, ("event-timestamp",)), 1, 0)
    if records:
        return TextPlan(Kind.records, TextLayout(fmt), 1, 0)
    if looks_binary(head):
        line, field = _first_odd_byte(head, fmt)
        raise InputError(
            "binary data, not flow log text (is it compressed or Parquet under another name?)",
            source=source, line=line, field=field,
        )  # fmt: skip
    _no_fitting_records(head, fmt, source)


def _late_header(head: bytes) -> LogFormat | None:
    """A header line among lines 2-5 (every word a field name), after junk."""
    for line in head.split(b"\n")[1:5]:
        words = line.decode("ascii", "replace").split()
        if len(words) >= 2 and all(_HEADER_WORD.match(w) and w in BY_TOKEN for w in words):
            return LogFormat.parse(" ".join(words))
    return None


def _fitting_lines(head: bytes, fmt: LogFormat) -> tuple[int, int]:
    """How many of the head's lines have the format's field count, as header-less records and as
    an export's timestamped records."""
    records = exports = 0
    for line in head.split(b"\n"):
        words = line.split()
        if len(words) == len(fmt):
            records += 1
        elif len(words) == len(fmt) + 1 and ISO_TIMESTAMP.match(words[0].decode("ascii", "replace")):
            exports += 1
    return records, exports


def _first_odd_byte(head: bytes, fmt: LogFormat) -> tuple[int, str]:
    """The line and field of the head's first byte that is not text."""
    pos = text_codec.first_odd_byte(head)
    start = head.rfind(b"\n", 0, pos) + 1
    return head.count(b"\n", 0, pos) + 1, text_codec.field_at(TextLayout(fmt), head[start:pos], pos - start)


def _header_format(words: list[str], source: str) -> LogFormat | None:
    """The header's format; None when the line is a record; an error for a header with unknown names."""
    if not words or not all(_HEADER_WORD.match(w) for w in words):
        return None
    known = [w for w in words if w in BY_TOKEN]
    if len(known) == len(words):
        return LogFormat.parse(" ".join(words))
    if len(known) * 2 >= len(words):  # mostly field names: a header with a typo, not a record
        unknown = next(w for w in words if w not in BY_TOKEN)
        try:
            LogFormat.parse(unknown)
        except Exception as exc:  # the FormatError names close matches
            raise InputError(f"header line: {exc}", source=source, line=1, field=unknown) from None
    return None


def _no_fitting_records(head: bytes, fmt: LogFormat, source: str) -> NoReturn:
    """No line of the head has the format's field count: the input has another format."""
    lines = [ln for ln in head.split(b"\n") if ln.strip()]
    found = len(lines[0].split())
    raise InputError(
        f"no header line, and the records have {found} fields where the log format has {len(fmt)} "
        f"({'default format' if fmt == LogFormat.default() else 'custom format'}); "
        "pass --log-format with the flow log's format (aws ec2 describe-flow-logs shows it)",
        source=source,
        line=1,
        field=fmt.fields[min(found, len(fmt) - 1)].token,
    )
