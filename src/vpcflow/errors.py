"""One exception hierarchy for all of vpcflow.

    VpcflowError                      every error a user can see; `str()` is the whole message
    ├── FormatError                   a log format string (unknown field, empty format)
    ├── InputError                    a file or stream that cannot be read at all
    │   └── RecordError               one bad record: file, line, field, value
    ├── ModelError                    a VPC model that is invalid (resource id, field)
    ├── QueryError                    SQL or Insights text that cannot be run (line, column)
    └── LakeError                     a lake that is locked, missing or damaged

The CLI catches `VpcflowError` and prints its message without a traceback; anything else is a bug.
"""

from __future__ import annotations


class VpcflowError(Exception):
    """Base class: every error vpcflow raises on purpose."""


class FormatError(VpcflowError):
    """A log format string that AWS would not accept."""


class InputError(VpcflowError):
    """A file that cannot be read as flow logs at all (missing, empty, binary, truncated)."""

    def __init__(
        self, message: str, *, source: str | None = None, line: int | None = None, field: str | None = None
    ):
        self.source = source
        self.line = line
        self.field = field
        where = source or "<input>"
        if line is not None:
            where = f"{where}:{line}"
        detail = f"field {field!r}: {message}" if field else message
        super().__init__(f"{where}: {detail}")


class RecordError(InputError):
    """One record that does not fit its format; the records around it are still good."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None,
        line: int | None,
        field: str | None = None,
        text: str | None = None,
    ):
        self.text = text
        super().__init__(message, source=source, line=line, field=field)


class ModelError(VpcflowError):
    """An invalid VPC model: names the resource id and the field."""


class QueryError(VpcflowError):
    """A query that cannot be translated or run."""


class LakeError(VpcflowError):
    """A lake that cannot be written or read as asked."""
