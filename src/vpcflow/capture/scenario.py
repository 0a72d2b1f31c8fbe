"""Scenario files: the traffic to simulate, on a simulated clock (docs/scenarios.md).

    seed: 7
    start: 2026-11-24T10:00:00Z        # UTC; the simulated clock starts here
    duration: 1h
    capacity: null                     # flows per ENI and window before SKIPDATA (none: unlimited)
    flow_logs: [...]                   # CreateFlowLogs parameters (capture/flowlogs.py)
    connections:
      - {source: 203.0.113.12, destination: i-web, protocol: tcp, port: 443,
         start: 5m, duration: 30s, rate: 10, bytes: 600, response_rate: 12, response_bytes: 1400,
         every: 10m, count: 3}
    service_calls:
      - {from: i-app, command: aws s3 ls, region: eu-west-1, every: 1m}
    internet_background:
      - {name: scanners, from: [133.242.1.1], random: 20, targets: public, ports: [22, 7766, 8088],
         protocol: tcp, rate: 60/min}

Everything here is data; `expand()` in simulate.py turns it into connections with a seeded generator.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from vpcflow.errors import ModelError

_DURATION = re.compile(r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|m|min|h|d)?\s*$")
_UNITS = {None: 1.0, "ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_RATE = re.compile(r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?:/\s*(?P<unit>s|sec|second|m|min|minute|h|hour))?\s*$")
_PER = {
    None: 1.0,
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
}
PROTOCOLS = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58}


def seconds(value: Any) -> float:
    """'90s', '5m', '1h', 30 -> seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = _DURATION.match(str(value))
    if match is None:
        raise ValueError(f"{value!r} is not a duration like 30s, 5m, 1h")
    return float(match["n"]) * _UNITS[match["unit"]]


def per_second(value: Any) -> float:
    """'60/min', '2/s', 0.5 -> events per second."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = _RATE.match(str(value))
    if match is None:
        raise ValueError(f"{value!r} is not a rate like 10, 2/s, 60/min")
    return float(match["n"]) / _PER[match["unit"]]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _protocol(value: Any) -> int:
    if isinstance(value, int):
        return value
    text = str(value).lower()
    if text in PROTOCOLS:
        return PROTOCOLS[text]
    if text.isdigit():
        return int(text)
    raise ValueError(f"protocol {value!r} is not tcp, udp, icmp, icmpv6 or a number")


class Connection(_Spec):
    """Connections from a source to a destination; `every` repeats them (`count` times, or to the end)."""

    name: str | None = None
    source: str  # an instance id, ENI id, or an address (internet or in the VPC)
    destination: str  # an instance id, ENI id, an address, or a host name (resolved in the source's VPC)
    protocol: int = 6
    port: int = 0
    source_port: int | None = None  # default: an ephemeral port per connection (Linux 32768-60999)
    start: float = 0.0  # seconds after the scenario start
    duration: float = 10.0
    rate: float = 5.0  # packets per second, client to server
    bytes: float = 100  # mean bytes per packet, client to server
    response_rate: float | None = None  # default: rate
    response_bytes: float | None = None  # default: bytes
    on_reject: Literal["retry", "keep"] = "retry"  # TCP not answered: SYN retries, or keep sending
    every: float | None = None
    count: int | None = None

    _proto = field_validator("protocol", mode="before")(lambda v: _protocol(v))
    _secs = field_validator("start", "duration", "every", mode="before")(
        lambda v: None if v is None else seconds(v)
    )
    _rate = field_validator("rate", "response_rate", mode="before")(
        lambda v: None if v is None else per_second(v)
    )

    @model_validator(mode="after")
    def _check(self) -> Connection:
        if self.protocol in (6, 17) and not 1 <= self.port <= 65535:
            raise ValueError(f"port {self.port}: TCP and UDP connections need a destination port 1-65535")
        if self.duration < 0 or self.rate <= 0:
            raise ValueError("duration must be >= 0 and rate > 0")
        if self.every is not None and self.every <= 0:
            raise ValueError("every must be a positive duration")
        return self


class ServiceCall(_Spec):
    """An AWS CLI call from an instance, e.g. `aws s3 ls` every minute (one HTTPS connection each)."""

    source: str = Field(alias="from")
    command: str = "aws s3 ls"
    region: str | None = None  # --region; without it the CLI calls us-east-1 (see docs/scenarios.md)
    start: float = 0.0
    every: float = 60.0
    count: int | None = None

    _secs = field_validator("start", "every", mode="before")(lambda v: seconds(v))

    @field_validator("command")
    @classmethod
    def _command(cls, value: str) -> str:
        words = value.split()
        if len(words) < 2 or words[0] != "aws":
            raise ValueError(f"command {value!r} is not an AWS CLI command like 'aws s3 ls'")
        if "--region" in words:
            raise ValueError("give the Region as `region:`, not inside the command")
        return value

    @property
    def service(self) -> str:
        return self.command.split()[1]


class Background(_Spec):
    """Internet scanners probing public interfaces: given and/or random public source addresses."""

    name: str = "scanners"
    source: list[str] = Field(default_factory=list, alias="from")
    random: int = 0
    targets: Literal["public"] | list[str] = "public"
    ports: list[int] | str = Field(default_factory=lambda: [22, 23, 80, 443, 3389])
    protocol: int = 6
    rate: float = 1.0  # probes per second across all sources
    start: float = 0.0
    duration: float | None = None  # default: to the end of the scenario

    _proto = field_validator("protocol", mode="before")(lambda v: _protocol(v))
    _secs = field_validator("start", "duration", mode="before")(lambda v: None if v is None else seconds(v))
    _rate = field_validator("rate", mode="before")(lambda v: per_second(v))

    @field_validator("ports", mode="before")
    @classmethod
    def _ports(cls, value: Any) -> list[int]:
        if isinstance(value, int):
            return [value]
        if isinstance(value, str):
            out: list[int] = []
            for part in value.split(","):
                low, _, high = part.strip().partition("-")
                if not low.isdigit() or (high and not high.isdigit()):
                    raise ValueError(f"ports {value!r} is not a list like 22,80,8000-8100")
                out += range(int(low), int(high or low) + 1)
            value = out
        ports = [int(p) for p in value]
        if not ports or any(not 1 <= p <= 65535 for p in ports):
            raise ValueError("ports must be 1-65535 and at least one")
        return ports

    @model_validator(mode="after")
    def _check(self) -> Background:
        if not self.source and self.random <= 0:
            raise ValueError("internet background needs `from:` addresses or `random:` > 0")
        return self


class Scenario(_Spec):
    seed: int = 0
    start: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    duration: float = 3600.0
    capacity: int | None = None
    window_offset: int = 0  # seconds: windows start at offset + k * interval (0: on the minute)
    flow_logs: list[dict[str, Any]] = Field(default_factory=list)
    connections: list[Connection] = Field(default_factory=list)
    service_calls: list[ServiceCall] = Field(default_factory=list)
    internet_background: list[Background] = Field(default_factory=list)
    source: str | None = Field(default=None, exclude=True)

    _secs = field_validator("duration", mode="before")(lambda v: seconds(v))

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, value: Any) -> Any:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, UTC)
        return value

    @field_validator("start")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @property
    def begin(self) -> int:
        return int(self.start.timestamp())

    @property
    def end(self) -> int:
        return self.begin + int(self.duration)


def parse_scenario(data: Any, source: str = "<scenario>") -> Scenario:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ModelError(f"{source}: a scenario is a mapping (seed:, start:, connections:, ...)")
    try:
        return Scenario.model_validate({**data, "source": source})
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "is not a scenario field (see docs/scenarios.md)"
        raise ModelError(f"{source}: {where}: {message}") from None


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the scenario: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ModelError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    return parse_scenario(data, str(path))
