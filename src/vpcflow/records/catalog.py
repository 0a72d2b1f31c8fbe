"""The catalog of every flow log field AWS documents.

Sources (see ../shared/spec/flowlogs.md §1): the "Available fields" table of the VPC User Guide
(versions 2-7, Parquet types), the Athena DDL (column names and types, versions 2-5), and the
Transit Gateway flow log page (version 6 fields).

Choices where AWS is silent, made here once:
- Versions of `reject-reason` (8), `resource-id` (9) and `encryption-status` (10) come from third-party
  parsers (Elastic Beats, a Terraform module test); AWS text for them was not available.
- Arrow types follow AWS's Athena DDL where it has the column (so `protocol` is int64, as Athena's
  `bigint`, although AWS's Parquet delivery stores INT32; `parquet_type` keeps that physical type for
  writing AWS-shaped Parquet). Columns not in the DDL are strings, except `encryption-status`, whose
  documented values are the integers 0-3.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

ARROW_TYPES = {"int32": pa.int32(), "int64": pa.int64(), "string": pa.string()}
ATHENA_TYPES = {"int32": "int", "int64": "bigint", "string": "string"}


@dataclass(frozen=True)
class Field:
    """One flow log field: `${token}` in a format string, `column` in Athena and Arrow."""

    token: str
    version: int
    kind: str  # "int32" | "int64" | "string": our Arrow type (Athena's type where AWS's DDL has it)
    parquet_type: str  # AWS's Parquet delivery type: INT_32 | INT_64 | STRING
    meaning: str
    values: tuple[str, ...] = ()  # the values AWS enumerates, if any
    strict: bool = False  # a value outside `values` is a bad record (AWS never writes one)
    family: str = "vpc"  # "vpc" or "tgw" (Transit Gateway flow logs)
    in_athena_ddl: bool = False
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def column(self) -> str:
        """Athena/Arrow column name: hyphens become underscores (AWS's Athena rule)."""
        return self.token.replace("-", "_")

    @property
    def arrow_type(self) -> pa.DataType:
        return ARROW_TYPES[self.kind]

    @property
    def athena_type(self) -> str:
        return ATHENA_TYPES[self.kind]

    @property
    def is_numeric(self) -> bool:
        return self.kind != "string"

    @property
    def format_token(self) -> str:
        return "${" + self.token + "}"


def _f(token, version, kind, parquet, meaning, values=(), strict=False, family="vpc", ddl=False):
    return Field(token, version, kind, parquet, meaning, tuple(values), strict, family, ddl)


AWS_SERVICES = (
    "AMAZON", "AMAZON_APPFLOW", "AMAZON_CONNECT", "API_GATEWAY", "CHIME_MEETINGS",
    "CHIME_VOICECONNECTOR", "CLOUD9", "CLOUDFRONT", "CODEBUILD", "DYNAMODB", "EBS", "EC2",
    "EC2_INSTANCE_CONNECT", "GLOBALACCELERATOR", "KINESIS_VIDEO_STREAMS", "ROUTE53",
    "ROUTE53_HEALTHCHECKS", "ROUTE53_HEALTHCHECKS_PUBLISHING", "ROUTE53_RESOLVER", "S3",
    "WORKSPACES_GATEWAYS",
)  # fmt: skip

TCP_FLAG_BITS = {"FIN": 1, "SYN": 2, "RST": 4, "SYN-ACK": 18}

TRAFFIC_PATHS = {
    1: "Through another resource in the same VPC, including resources that create a network interface in the VPC",
    2: "Through an internet gateway or a gateway VPC endpoint",
    3: "Through a virtual private gateway",
    4: "Through an intra-region VPC peering connection",
    5: "Through an inter-region VPC peering connection",
    6: "Through a local gateway",
    7: "Through a gateway VPC endpoint (Nitro-based instances only)",
    8: "Through an internet gateway (Nitro-based instances only)",
}

# VPC flow log fields, in the order of AWS's "Available fields" table (= Athena DDL order for v2-v5).
VPC_FIELDS: tuple[Field, ...] = (
    _f("version", 2, "int32", "INT_32", "The VPC Flow Logs version: 2 for the default format, else the highest version among the fields.", ddl=True),
    _f("account-id", 2, "string", "STRING", "The AWS account ID of the owner of the source network interface ('unknown' for some AWS-service interfaces).", ddl=True),
    _f("interface-id", 2, "string", "STRING", "The ID of the network interface for which the traffic is recorded.", ddl=True),
    _f("srcaddr", 2, "string", "STRING", "Source address of incoming traffic, or the interface's address for outgoing traffic (always its primary private IPv4).", ddl=True),
    _f("dstaddr", 2, "string", "STRING", "Destination address of outgoing traffic, or the interface's address for incoming traffic (always its primary private IPv4).", ddl=True),
    _f("srcport", 2, "int32", "INT_32", "The source port of the traffic.", ddl=True),
    _f("dstport", 2, "int32", "INT_32", "The destination port of the traffic.", ddl=True),
    _f("protocol", 2, "int64", "INT_32", "The IANA protocol number of the traffic (6 TCP, 17 UDP, 1 ICMP).", ddl=True),
    _f("packets", 2, "int64", "INT_64", "The number of packets transferred during the flow.", ddl=True),
    _f("bytes", 2, "int64", "INT_64", "The number of bytes transferred during the flow.", ddl=True),
    _f("start", 2, "int64", "INT_64", "Unix seconds when the first packet of the flow was received within the aggregation interval.", ddl=True),
    _f("end", 2, "int64", "INT_64", "Unix seconds when the last packet of the flow was received within the aggregation interval.", ddl=True),
    _f("action", 2, "string", "STRING", "ACCEPT if the security groups and network ACLs permitted the traffic, REJECT if not.", ("ACCEPT", "REJECT"), True, ddl=True),
    _f("log-status", 2, "string", "STRING", "OK: logging normally; NODATA: no traffic in the interval; SKIPDATA: records were skipped.", ("OK", "NODATA", "SKIPDATA"), True, ddl=True),
    _f("vpc-id", 3, "string", "STRING", "The ID of the VPC that contains the network interface.", ddl=True),
    _f("subnet-id", 3, "string", "STRING", "The ID of the subnet that contains the network interface.", ddl=True),
    _f("instance-id", 3, "string", "STRING", "The ID of the instance of the interface, if you own it; '-' for requester-managed interfaces (NAT gateway).", ddl=True),
    _f("tcp-flags", 3, "int32", "INT_32", "Bitmask of TCP flags OR-ed over the interval: FIN 1, SYN 2, RST 4, SYN-ACK 18; ACK and PSH alone give 0.", tuple(f"{k}={v}" for k, v in TCP_FLAG_BITS.items()), ddl=True),
    _f("type", 3, "string", "STRING", "The type of traffic.", ("IPv4", "IPv6", "EFA"), True, ddl=True),
    _f("pkt-srcaddr", 3, "string", "STRING", "The packet-level (original) source IP address, e.g. behind a NAT gateway interface.", ddl=True),
    _f("pkt-dstaddr", 3, "string", "STRING", "The packet-level (original) destination IP address, e.g. behind a NAT gateway interface.", ddl=True),
    _f("region", 4, "string", "STRING", "The Region that contains the network interface.", ddl=True),
    _f("az-id", 4, "string", "STRING", "The ID of the Availability Zone of the interface; '-' for a sublocation.", ddl=True),
    _f("sublocation-type", 4, "string", "STRING", "The type of sublocation; '-' when not from a sublocation.", ("wavelength", "outpost", "localzone"), True, ddl=True),
    _f("sublocation-id", 4, "string", "STRING", "The ID of the sublocation of the interface; '-' when not from a sublocation.", ddl=True),
    _f("pkt-src-aws-service", 5, "string", "STRING", "The ip-ranges.json service subset of pkt-srcaddr, if it is an AWS address.", AWS_SERVICES, ddl=True),
    _f("pkt-dst-aws-service", 5, "string", "STRING", "The ip-ranges.json service subset of pkt-dstaddr, if it is an AWS address.", AWS_SERVICES, ddl=True),
    _f("flow-direction", 5, "string", "STRING", "The direction of the flow with respect to the interface where traffic is captured.", ("ingress", "egress"), True, ddl=True),
    _f("traffic-path", 5, "int32", "INT_32", "The path egress traffic takes to the destination (1-8); '-' for ingress.", tuple(str(k) for k in TRAFFIC_PATHS), True, ddl=True),
    _f("ecs-cluster-arn", 7, "string", "STRING", "ARN of the ECS cluster if the traffic is from a running ECS task."),
    _f("ecs-cluster-name", 7, "string", "STRING", "Name of the ECS cluster if the traffic is from a running ECS task."),
    _f("ecs-container-instance-arn", 7, "string", "STRING", "ARN of the ECS container instance ('-' on Fargate)."),
    _f("ecs-container-instance-id", 7, "string", "STRING", "ID of the ECS container instance ('-' on Fargate)."),
    _f("ecs-container-id", 7, "string", "STRING", "Docker runtime ID of the first container of the ECS task."),
    _f("ecs-second-container-id", 7, "string", "STRING", "Docker runtime ID of the second container of the ECS task, if any."),
    _f("ecs-service-name", 7, "string", "STRING", "Name of the ECS service that started the task, if any."),
    _f("ecs-task-definition-arn", 7, "string", "STRING", "ARN of the ECS task definition."),
    _f("ecs-task-arn", 7, "string", "STRING", "ARN of the ECS task."),
    _f("ecs-task-id", 7, "string", "STRING", "ID of the ECS task."),
    _f("reject-reason", 8, "string", "STRING", "Why the traffic was rejected, when AWS says (BPA: VPC Block Public Access).", ("BPA",)),
    _f("resource-id", 9, "string", "STRING", "The resource the record is for (e.g. a regional NAT gateway); undocumented beyond its name."),
    _f("encryption-status", 10, "int32", "STRING", "Encryption in transit: 0 none, 1 Nitro, 2 application (port 443 to endpoints), 3 both; '-' unknown.", ("0", "1", "2", "3"), True),
)  # fmt: skip

# Transit Gateway flow log fields that VPC flow logs do not have (version 6), from the TGW guide.
TGW_FIELDS: tuple[Field, ...] = (
    _f("resource-type", 6, "string", "STRING", "The type of resource the subscription is on.", ("TransitGateway", "TransitGatewayAttachment"), True, "tgw"),
    _f("tgw-id", 6, "string", "STRING", "The ID of the transit gateway.", family="tgw"),
    _f("tgw-attachment-id", 6, "string", "STRING", "The ID of the transit gateway attachment.", family="tgw"),
    _f("tgw-src-vpc-account-id", 6, "string", "STRING", "The AWS account ID of the source VPC.", family="tgw"),
    _f("tgw-dst-vpc-account-id", 6, "string", "STRING", "The AWS account ID of the destination VPC.", family="tgw"),
    _f("tgw-src-vpc-id", 6, "string", "STRING", "The ID of the source VPC.", family="tgw"),
    _f("tgw-dst-vpc-id", 6, "string", "STRING", "The ID of the destination VPC.", family="tgw"),
    _f("tgw-src-subnet-id", 6, "string", "STRING", "The ID of the source subnet.", family="tgw"),
    _f("tgw-dst-subnet-id", 6, "string", "STRING", "The ID of the destination subnet.", family="tgw"),
    _f("tgw-src-eni", 6, "string", "STRING", "The ID of the source transit gateway attachment ENI.", family="tgw"),
    _f("tgw-dst-eni", 6, "string", "STRING", "The ID of the destination transit gateway attachment ENI.", family="tgw"),
    _f("tgw-src-az-id", 6, "string", "STRING", "The ID of the Availability Zone of the source.", family="tgw"),
    _f("tgw-dst-az-id", 6, "string", "STRING", "The ID of the Availability Zone of the destination.", family="tgw"),
    _f("tgw-pair-attachment-id", 6, "string", "STRING", "Depending on the flow direction, the egress or ingress attachment ID of the flow.", family="tgw"),
    _f("packets-lost-no-route", 6, "int64", "INT_64", "Packets lost because no route was specified.", family="tgw"),
    _f("packets-lost-blackhole", 6, "int64", "INT_64", "Packets lost to a blackhole route.", family="tgw"),
    _f("packets-lost-mtu-exceeded", 6, "int64", "INT_64", "Packets lost because they exceeded the MTU.", family="tgw"),
    _f("packets-lost-ttl-expired", 6, "int64", "INT_64", "Packets lost because their time-to-live expired.", family="tgw"),
)  # fmt: skip

ALL_FIELDS: tuple[Field, ...] = VPC_FIELDS + TGW_FIELDS
BY_TOKEN: dict[str, Field] = {f.token: f for f in ALL_FIELDS}
BY_COLUMN: dict[str, Field] = {f.column: f for f in ALL_FIELDS}

# The fields Transit Gateway records share with VPC records (TGW guide).
TGW_SHARED_TOKENS = (
    "version", "account-id", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets",
    "bytes", "start", "end", "log-status", "type", "tcp-flags", "region", "flow-direction",
    "pkt-src-aws-service", "pkt-dst-aws-service",
)  # fmt: skip

# AWS's Athena DDL column order (v2-v5): the order `SELECT *` returns in the lake.
ATHENA_COLUMNS: tuple[str, ...] = tuple(f.column for f in VPC_FIELDS if f.in_athena_ddl)


def lookup(name: str) -> Field | None:
    """A field by token (`log-status`), format token (`${log-status}`) or column (`log_status`)."""
    name = name.strip()
    if name.startswith("${") and name.endswith("}"):
        name = name[2:-1]
    return BY_TOKEN.get(name) or BY_COLUMN.get(name)


def vpc_schema() -> pa.Schema:
    """Every VPC field as a column, in AWS's table order: the lake's record schema."""
    return pa.schema([pa.field(f.column, f.arrow_type) for f in VPC_FIELDS])


def tgw_schema() -> pa.Schema:
    """Every field a Transit Gateway record can have, in the TGW default format's order."""
    from vpcflow.records.formats import TGW_DEFAULT_FORMAT, LogFormat

    return LogFormat.parse(TGW_DEFAULT_FORMAT).schema
