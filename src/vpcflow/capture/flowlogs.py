"""Flow log resources as CreateFlowLogs defines them (flowlogs.md §6.1), validated as AWS validates them.

    flow_logs:                                   # a section of the model YAML, or a file of its own
      - resource_type: VPC                       # VPC | Subnet | NetworkInterface
        resource_id: vpc-0abc...
        traffic_type: ALL                        # ACCEPT | REJECT | ALL
        max_aggregation_interval: 60             # 60 | 600 (default 600)
        log_format: "${version} ${vpc-id} ..."   # optional: the default format otherwise
        log_destination_type: s3                 # s3 | cloud-watch-logs (default, as in the API)
        log_destination: arn:aws:s3:::my-bucket/my-logs/
        destination_options: {file_format: parquet, hive_compatible_partitions: true, per_hour_partition: true}
      - resource_type: Subnet
        resource_id: subnet-0abc...
        traffic_type: REJECT
        log_group_name: vpc-flow-logs
        deliver_logs_permission_arn: arn:aws:iam::123456789012:role/publishFlowLogs

Keys may also be written as the API spells them (`ResourceType`, `LogDestination`, ...). Error
messages quote AWS's own wording where AWS documents it (the API reference, or errors AWS returns that
users have published); the rest are ours and say what would fix the flow log.
"""

from __future__ import annotations

import hashlib
import re
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_pascal

from vpcflow.errors import FormatError, ModelError
from vpcflow.records.formats import LogFormat

S3_ARN = re.compile(r"^arn:aws[a-z-]*:s3:::(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<folder>.*))?$")
LOG_GROUP_ARN = re.compile(
    r"^arn:aws[a-z-]*:logs:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):log-group:(?P<name>[^:]+)$"
)
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
FLOW_LOG_ID = re.compile(r"^fl-[0-9a-f]{8,17}$")


class ResourceType(StrEnum):
    VPC = "VPC"
    Subnet = "Subnet"
    NetworkInterface = "NetworkInterface"


class TrafficType(StrEnum):
    ACCEPT = "ACCEPT"
    REJECT = "REJECT"
    ALL = "ALL"

    def keeps(self, action: str) -> bool:
        return self is TrafficType.ALL or self.value == action


class _ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True, extra="forbid", frozen=True)


class DestinationOptions(_ApiModel):
    """S3 only: file format, Hive-compatible prefixes, hourly partitions (API defaults)."""

    file_format: Literal["plain-text", "parquet"] = "plain-text"
    hive_compatible_partitions: bool = False
    per_hour_partition: bool = False


class FlowLog(_ApiModel):
    """One flow log: one resource, one destination (CreateFlowLogs makes one per resource id)."""

    flow_log_id: str | None = Field(default=None, alias="FlowLogId")
    resource_type: ResourceType
    resource_id: str
    traffic_type: TrafficType | None = None
    max_aggregation_interval: int = 600
    log_format: str | None = None
    log_destination_type: Literal["cloud-watch-logs", "s3", "kinesis-data-firehose"] = "cloud-watch-logs"
    log_destination: str | None = None
    log_group_name: str | None = None
    deliver_logs_permission_arn: str | None = None
    destination_options: DestinationOptions | None = None
    tags: dict[str, str] = Field(default_factory=dict)

    @field_validator("max_aggregation_interval")
    @classmethod
    def _interval(cls, value: int) -> int:
        if value not in (60, 600):
            raise ValueError(
                f"MaxAggregationInterval must be 60 or 600 seconds, not {value} (AWS accepts only these two values)"
            )
        return value

    @field_validator("log_format")
    @classmethod
    def _format(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            fmt = LogFormat.parse(value)
        except FormatError as exc:
            raise ValueError(f"Value '{value}' at 'logFormat' has an invalid format: {exc}") from None
        if fmt.family != "vpc":
            raise ValueError(
                "Transit Gateway fields are valid only in transit gateway flow logs, not in a VPC flow log"
            )
        return value

    @model_validator(mode="after")
    def _destination(self) -> FlowLog:
        if self.traffic_type is None:
            raise ValueError(
                f"TrafficType is required for resource type {self.resource_type.value}: give ACCEPT, REJECT or ALL"
            )
        prefix = {"VPC": "vpc-", "Subnet": "subnet-", "NetworkInterface": "eni-"}[self.resource_type.value]
        if not self.resource_id.startswith(prefix):
            raise ValueError(
                f"resource id {self.resource_id!r} is not a {self.resource_type.value} id ({prefix}...)"
            )
        if self.flow_log_id is not None and not FLOW_LOG_ID.match(self.flow_log_id):
            raise ValueError(f"flow log id {self.flow_log_id!r} is not fl- followed by 8 to 17 hex digits")
        if self.log_destination_type == "kinesis-data-firehose":
            raise ValueError(
                "kinesis-data-firehose destinations are not simulated yet: use s3 or cloud-watch-logs"
            )
        if self.log_destination_type == "s3":
            self._check_s3()
        else:
            self._check_cloudwatch()
        return self

    def _check_s3(self) -> None:
        if self.deliver_logs_permission_arn is not None:
            raise ValueError("DeliverLogsPermissionArn is not applicable for s3 delivery")
        if self.log_group_name is not None:
            raise ValueError(
                "If you specify LogDestinationType as s3, do not specify DeliverLogsPermissionArn or LogGroupName."
            )
        if not self.log_destination:
            raise ValueError(
                "LogDestination is required for s3: the bucket ARN, e.g. arn:aws:s3:::my-bucket/my-logs/"
            )
        match = S3_ARN.match(self.log_destination)
        if match is None:
            raise ValueError(
                f"LogDestination {self.log_destination!r} is not an S3 bucket ARN "
                "(arn:aws:s3:::bucket_name or arn:aws:s3:::bucket_name/subfolder_name/)"
            )
        folders = [part for part in (match["folder"] or "").split("/") if part]
        if "AWSLogs" in folders:
            raise ValueError("You cannot use AWSLogs as a subfolder name. This is a reserved term.")

    def _check_cloudwatch(self) -> None:
        if self.destination_options is not None:
            raise ValueError("DestinationOptions apply only when LogDestinationType is s3")
        if self.log_group_name and self.log_destination:
            raise ValueError("specify either LogGroupName or LogDestination (the log group ARN), not both")
        if not (self.log_group_name or self.log_destination):
            raise ValueError(
                "a cloud-watch-logs flow log needs LogGroupName or LogDestination (a log group ARN)"
            )
        if self.log_destination:
            if self.log_destination.endswith(":*"):
                raise ValueError(
                    f"LogDestination {self.log_destination!r}: a log group ARN must not end in ':*' "
                    "(write arn:aws:logs:region:account_id:log-group:my_group)"
                )
            if LOG_GROUP_ARN.match(self.log_destination) is None:
                raise ValueError(
                    f"LogDestination {self.log_destination!r} is not a log group ARN "
                    "(arn:aws:logs:region:account_id:log-group:my_group)"
                )
        if not self.deliver_logs_permission_arn:
            raise ValueError(
                "DeliverLogsPermissionArn is required if the destination type is cloud-watch-logs: "
                "the ARN of an IAM role that vpc-flow-logs.amazonaws.com can assume"
            )
        if ROLE_ARN.match(self.deliver_logs_permission_arn) is None:
            raise ValueError(
                f"DeliverLogsPermissionArn {self.deliver_logs_permission_arn!r} is not an IAM role ARN"
            )

    # -- what the capture needs ------------------------------------------------------------------

    @property
    def id(self) -> str:
        """The flow log id: as given, or fl- and 17 hex digits derived from the definition (stable)."""
        if self.flow_log_id:
            return self.flow_log_id
        seed = self.model_dump_json(exclude={"flow_log_id", "tags"})
        return "fl-" + hashlib.sha1(seed.encode()).hexdigest()[:17]

    @property
    def format(self) -> LogFormat:
        return LogFormat.parse(self.log_format) if self.log_format else LogFormat.default()

    @property
    def options(self) -> DestinationOptions:
        return self.destination_options or DestinationOptions()

    @property
    def bucket(self) -> str:
        return S3_ARN.match(self.log_destination)["bucket"]

    @property
    def s3_prefix(self) -> str:
        """The optional folder in the bucket ('' for none), without slashes at either end."""
        return (S3_ARN.match(self.log_destination)["folder"] or "").strip("/")

    @property
    def log_group(self) -> str:
        if self.log_group_name:
            return self.log_group_name
        return LOG_GROUP_ARN.match(self.log_destination)["name"]

    def check_region(self, region: str, account: str) -> None:
        """A log group ARN in another Region is refused, in AWS's words."""
        if self.log_destination_type == "cloud-watch-logs" and self.log_destination:
            match = LOG_GROUP_ARN.match(self.log_destination)
            if match["region"] != region:
                raise ModelError(
                    f"flow log {self.id}: LogDestination must be in the same region as the API caller."
                )


def parse_flow_logs(data: Any, source: str = "<flow_logs>", *, region: str | None = None) -> list[FlowLog]:
    """Flow logs from the `flow_logs:` list of a YAML document (resource_ids lists expand, as in the API)."""
    if data is None:
        return []
    if not isinstance(data, list):
        raise ModelError(f"{source}: flow_logs must be a list of flow logs")
    found: list[FlowLog] = []
    for index, item in enumerate(data):
        where = f"{source}: flow_logs[{index}]"
        if not isinstance(item, dict):
            raise ModelError(f"{where}: a flow log is a mapping of CreateFlowLogs parameters")
        ids = item.get("resource_ids", item.get("ResourceIds"))
        items = [item]
        if ids is not None:
            base = {k: v for k, v in item.items() if k not in ("resource_ids", "ResourceIds")}
            if not isinstance(ids, list) or not ids:
                raise ModelError(f"{where}: resource_ids must be a non-empty list")
            if len(ids) > 1000:
                raise ModelError(f"{where}: ResourceIds: maximum of 1000 for this resource type")
            if len(ids) > 1 and ("flow_log_id" in base or "FlowLogId" in base):
                raise ModelError(f"{where}: one flow_log_id cannot name flow logs for several resource_ids")
            items = [{**base, "resource_id": rid} for rid in ids]
        for one in items:
            try:
                flow_log = FlowLog.model_validate(one)
            except ValidationError as exc:
                raise ModelError(f"{where}: {_first_error(exc)}") from None
            if region is not None:
                flow_log.check_region(region, "")
            found.append(flow_log)
    ids = [f.id for f in found]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ModelError(
            f"{source}: flow log id {dupes[0]} is used twice; give each flow log its own flow_log_id"
        )
    return found


def load_flow_logs(path: str | Path, *, region: str | None = None) -> list[FlowLog]:
    """The `flow_logs:` section of a YAML file (a model file or a file of flow logs alone)."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ModelError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ModelError(f"{path}: not valid YAML: {exc}") from None
    if isinstance(document, list):
        return parse_flow_logs(document, str(path), region=region)
    if not isinstance(document, dict):
        return []
    return parse_flow_logs(document.get("flow_logs"), str(path), region=region)


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "__root__")
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        return f"{where} is required"
    if error["type"] == "extra_forbidden":
        return f"{where!r} is not a CreateFlowLogs parameter"
    if error["type"] in ("enum", "literal_error"):
        return f"{where}: {message}"
    return f"{where}: {message}" if where else message
