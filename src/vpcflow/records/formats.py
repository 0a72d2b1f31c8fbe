"""Log format strings: `${version} ${vpc-id} ...` as CreateFlowLogs takes them, and header lines.

AWS rules kept here (../shared/spec/flowlogs.md §1.1, §2): at least one field; the default format is
the fourteen version-2 fields; a custom format's version is the highest version among its fields.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cached_property

import pyarrow as pa

from vpcflow.errors import FormatError
from vpcflow.records.catalog import BY_TOKEN, TGW_SHARED_TOKENS, VPC_FIELDS, Field, lookup

DEFAULT_FORMAT = (
    "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} "
    "${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}"
)

# Every VPC field of versions 2-5, in AWS's table order: what AWS's Athena DDL expects.
ATHENA_V5_FORMAT = " ".join(f.format_token for f in VPC_FIELDS if f.in_athena_ddl)

# Transit Gateway default format: every TGW field in the order of AWS's TGW field table.
TGW_DEFAULT_FORMAT = (
    "${version} ${resource-type} ${account-id} ${tgw-id} ${tgw-attachment-id} ${tgw-src-vpc-account-id} "
    "${tgw-dst-vpc-account-id} ${tgw-src-vpc-id} ${tgw-dst-vpc-id} ${tgw-src-subnet-id} ${tgw-dst-subnet-id} "
    "${tgw-src-eni} ${tgw-dst-eni} ${tgw-src-az-id} ${tgw-dst-az-id} ${tgw-pair-attachment-id} ${srcaddr} "
    "${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${log-status} ${type} "
    "${packets-lost-no-route} ${packets-lost-blackhole} ${packets-lost-mtu-exceeded} "
    "${packets-lost-ttl-expired} ${tcp-flags} ${region} ${flow-direction} ${pkt-src-aws-service} "
    "${pkt-dst-aws-service}"
)

_TOKEN = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class LogFormat:
    """An ordered list of fields: one flow log subscription's record layout."""

    fields: tuple[Field, ...]

    @classmethod
    def parse(cls, text: str) -> LogFormat:
        """Parse `${a} ${b}` (CreateFlowLogs syntax) or `a b` (a header line)."""
        text = text.strip()
        if not text:
            raise FormatError("a log format needs at least one field")
        if "${" in text:
            names = _TOKEN.findall(text)
            leftover = _TOKEN.sub(" ", text).split()
            if leftover:
                raise FormatError(
                    f"log format: {leftover[0]!r} is not a field; write fields as ${{field-name}} separated by spaces"
                )
        else:
            names = text.split()
        fields = []
        for name in names:
            found = BY_TOKEN.get(name)
            if found is None:
                raise FormatError(_unknown_field_message(name))
            if found in fields:
                raise FormatError(f"log format: field {name!r} appears twice")
            fields.append(found)
        fmt = cls(tuple(fields))
        fmt.family  # noqa: B018 - validates that VPC-only and TGW-only fields are not mixed
        return fmt

    @classmethod
    def default(cls) -> LogFormat:
        return cls.parse(DEFAULT_FORMAT)

    @classmethod
    def from_header(cls, line: str) -> LogFormat | None:
        """The format a header line announces, or None when the line is not a header."""
        names = line.split()
        if names and all(n in BY_TOKEN for n in names) and len(set(names)) == len(names):
            return cls.parse(line)
        return None

    @cached_property
    def family(self) -> str:
        tgw_only = [f for f in self.fields if f.family == "tgw"]
        if not tgw_only:
            return "vpc"
        vpc_only = [f.token for f in self.fields if f.family == "vpc" and f.token not in TGW_SHARED_TOKENS]
        if vpc_only:
            raise FormatError(
                f"log format mixes Transit Gateway field {tgw_only[0].token!r} with VPC-only field {vpc_only[0]!r}"
            )
        return "tgw"

    @property
    def version(self) -> int:
        """AWS's `version` value for records of this format."""
        if self.family == "tgw":
            return 6
        if self.format_string == DEFAULT_FORMAT:
            return 2
        return max(f.version for f in self.fields)

    @property
    def tokens(self) -> list[str]:
        return [f.token for f in self.fields]

    @property
    def columns(self) -> list[str]:
        return [f.column for f in self.fields]

    @property
    def header(self) -> str:
        """The header line AWS writes at the top of S3 text files."""
        return " ".join(self.tokens)

    @property
    def format_string(self) -> str:
        return " ".join(f.format_token for f in self.fields)

    @cached_property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(f.column, f.arrow_type) for f in self.fields])

    def __len__(self) -> int:
        return len(self.fields)

    def __str__(self) -> str:
        return self.format_string


def _unknown_field_message(name: str) -> str:
    close = difflib.get_close_matches(name, list(BY_TOKEN), n=3, cutoff=0.6)
    if lookup(name) is not None:  # given as a column name (log_status) instead of a token
        close = [lookup(name).token]
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else "; `vpcflow fields` lists them"
    return f"log format: unknown field {name!r}{hint}"


def resolve_format(fmt: str | LogFormat | None) -> LogFormat:
    if fmt is None:
        return LogFormat.default()
    if isinstance(fmt, LogFormat):
        return fmt
    return LogFormat.parse(fmt)
