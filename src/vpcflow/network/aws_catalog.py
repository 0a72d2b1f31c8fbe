"""Built-in AWS side of the model: managed prefix lists and service address ranges for a few Regions.

The figures are a small sample of https://ip-ranges.amazonaws.com/ip-ranges.json (service S3,
DYNAMODB, AMAZON) and of the AWS-managed prefix list ids as `aws ec2 describe-managed-prefix-lists`
prints them; they are enough to tell "this Region's S3" from "another Region's S3" and from "the
internet", which is what reachability needs. A model that lists its own `prefix_lists` or
`services` (or a folder of real describe output) overrides these entries by id / (service, Region).

Interface-endpoint services other than S3 and DynamoDB get one /24 each, carved in a fixed order
out of a per-Region AMAZON block - an invented but stable address, documented in docs/model.md.
"""

from __future__ import annotations

from ipaddress import ip_network

from vpcflow.network.model import AwsService, ManagedPrefixList

# region -> (s3 prefix list id, s3 cidrs, dynamodb prefix list id, dynamodb cidrs, AMAZON block for others)
_REGIONS: dict[str, tuple[str, tuple[str, ...], str, tuple[str, ...], str]] = {
    "us-east-1": (
        "pl-63a5400a",
        ("52.216.0.0/15", "54.231.0.0/16", "3.5.0.0/19", "16.182.0.0/16"),
        "pl-02cd2c6b",
        ("52.94.0.0/22", "52.119.224.0/20"),
        "52.46.0.0/18",
    ),
    "us-west-2": (
        "pl-68a54001",
        ("52.218.128.0/17", "52.92.128.0/17", "3.5.76.0/22"),
        "pl-00a54069",
        ("52.94.10.0/24", "52.119.160.0/20"),
        "52.94.192.0/20",
    ),
    "eu-west-1": (
        "pl-6da54004",
        ("52.218.0.0/17", "52.92.0.0/17", "3.5.64.0/21"),
        "pl-6fa54006",
        ("52.94.26.0/23", "52.119.240.0/21"),
        "52.95.64.0/20",
    ),
    "eu-central-1": (
        "pl-6ea54007",
        ("52.219.72.0/22", "52.219.168.0/21", "3.5.134.0/23"),
        "pl-66a5400f",
        ("52.94.17.0/24", "52.119.188.0/22"),
        "52.95.240.0/20",
    ),
    "ap-southeast-2": (
        "pl-6ca54005",
        ("52.95.128.0/21", "3.5.164.0/22"),  # 52.95.128.179 is S3 in AWS's own flow log example
        "pl-62a5400b",
        ("52.94.13.0/24", "52.119.212.0/23"),
        "52.95.32.0/20",
    ),
}

# Interface-endpoint services that get an invented /24 each (order fixes the address).
INTERFACE_SERVICES = (
    "sts",
    "ec2",
    "sqs",
    "sns",
    "kms",
    "ssm",
    "ssmmessages",
    "ec2messages",
    "logs",
    "monitoring",
    "ecr.api",
    "ecr.dkr",
    "secretsmanager",
    "execute-api",
    "lambda",
    "elasticloadbalancing",
)

_FLOW_LOG_CODES = {"s3": "S3", "dynamodb": "DYNAMODB", "ec2": "EC2"}


def builtin_prefix_lists() -> tuple[ManagedPrefixList, ...]:
    lists = []
    for region, (s3_pl, s3_cidrs, ddb_pl, ddb_cidrs, _) in _REGIONS.items():
        lists.append(
            ManagedPrefixList(
                id=s3_pl, prefix_list_name=f"com.amazonaws.{region}.s3", region=region, cidrs=s3_cidrs
            )
        )
        lists.append(
            ManagedPrefixList(
                id=ddb_pl, prefix_list_name=f"com.amazonaws.{region}.dynamodb", region=region, cidrs=ddb_cidrs
            )
        )
    return tuple(lists)


def builtin_services() -> tuple[AwsService, ...]:
    services = []
    for region, (s3_pl, s3_cidrs, ddb_pl, ddb_cidrs, amazon_block) in _REGIONS.items():
        legacy = ("s3.amazonaws.com",) if region == "us-east-1" else ()
        services.append(
            AwsService(
                service="s3",
                region=region,
                public_cidrs=s3_cidrs,
                hostnames=(*legacy, f"s3-{region}.amazonaws.com", f"s3.dualstack.{region}.amazonaws.com"),
                flow_log_code="S3",
                prefix_list_id=s3_pl,
            )
        )
        services.append(
            AwsService(
                service="dynamodb",
                region=region,
                public_cidrs=ddb_cidrs,
                flow_log_code="DYNAMODB",
                prefix_list_id=ddb_pl,
            )
        )
        blocks = ip_network(amazon_block).subnets(new_prefix=24)
        for name, block in zip(INTERFACE_SERVICES, blocks, strict=False):
            services.append(
                AwsService(
                    service=name,
                    region=region,
                    public_cidrs=(block,),
                    flow_log_code=_FLOW_LOG_CODES.get(name, "AMAZON"),
                )
            )
    return tuple(services)


BUILTIN_REGIONS = tuple(_REGIONS)
