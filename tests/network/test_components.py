"""Route selection, SG/NACL rules, DNS and policies, one table each."""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path

import pytest

from vpcflow.network import load_model
from vpcflow.network.dns import resolve
from vpcflow.network.filters import network_acl, security_groups
from vpcflow.network.loaders.common import assemble
from vpcflow.network.policy import ApiRequest, evaluate
from vpcflow.network.routing import route_for

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def base():
    return load_model(HERE / "models" / "base.yaml")


@pytest.fixture(scope="module")
def routes_model():
    vpc = {"id": "vpc-r", "region": "eu-west-1", "cidr_blocks": ["10.0.0.0/16"]}
    routes = [
        {"destination": "0.0.0.0/0", "target": "igw-r"},
        {"destination": "52.218.0.0/17", "target": "igw-r", "origin": "EnableVgwRoutePropagation"},
        {"destination": "pl-6da54004", "target": "vpce-s3"},
        {"destination": "52.218.0.0/16", "target": "igw-r"},
        {"destination": "3.5.64.0/21", "target": "nat-old", "state": "blackhole"},
        {"destination": "10.0.5.0/24", "target": "eni-fw"},
    ]
    return assemble(
        {
            "vpcs": [vpc],
            "subnets": [
                {
                    "id": "subnet-r",
                    "vpc_id": "vpc-r",
                    "cidr_block": "10.0.5.0/24",
                    "availability_zone": "eu-west-1a",
                }
            ],
            "internet_gateways": [{"id": "igw-r", "vpc_id": "vpc-r"}],
            "vpc_endpoints": [
                {
                    "id": "vpce-s3",
                    "vpc_id": "vpc-r",
                    "vpc_endpoint_type": "Gateway",
                    "service_name": "com.amazonaws.eu-west-1.s3",
                }
            ],
            "network_interfaces": [{"id": "eni-fw", "subnet_id": "subnet-r", "private_ip": "10.0.5.10"}],
            "route_tables": [{"id": "rtb-r", "vpc_id": "vpc-r", "main": True, "routes": routes}],
            "network_acls": [{"id": "acl-r", "vpc_id": "vpc-r", "is_default": True}],
        },
        "routes",
    )


ROUTES = [
    ("10.0.1.1", "local", "/16"),  # the local route AWS adds
    ("10.0.5.7", "eni-fw", "/24"),  # more specific than local (a subnet CIDR to an appliance)
    ("8.8.8.8", "igw-r", "/0"),
    ("52.218.1.1", "vpce-s3", "a prefix-list route beats a propagated route"),  # both /17
    ("52.218.200.1", "igw-r", "/16"),  # outside the prefix list: the static /16
    ("3.5.64.9", "nat-old", "/21"),  # blackhole still wins by prefix length
    ("52.92.1.1", "vpce-s3", "entry 52.92.0.0/17 of pl-6da54004"),
]


@pytest.mark.parametrize("dst, target, why", ROUTES)
def test_route_selection(routes_model, dst, target, why):
    choice = route_for(routes_model, "rtb-r", ip_address(dst))
    assert choice.route.target == target
    assert why in choice.reason


def test_propagated_loses_to_prefix_list_on_equal_prefix(routes_model):
    choice = route_for(routes_model, "rtb-r", ip_address("52.218.1.1"))
    assert choice.winner.cidr.prefixlen == 17 and any(
        c.route.origin.value == "EnableVgwRoutePropagation" for c in choice.others
    )


def test_no_route_for_ipv6_without_a_v6_route(routes_model):
    assert route_for(routes_model, "rtb-r", ip_address("2600::1")).route is None


# (group ids, direction, peer, protocol, port, allowed, words in the rule)
SG = [
    (("sg-web",), "ingress", "8.8.8.8", 6, 443, True, "tcp 80-443 from 0.0.0.0/0"),
    (("sg-web",), "ingress", "8.8.8.8", 6, 444, False, "no ingress rule"),
    (("sg-web",), "ingress", "192.0.2.9", 6, 22, True, "tcp 22 from 192.0.2.0/24"),
    (("sg-web",), "ingress", "8.8.8.8", 1, 8, True, "icmp type 8"),
    (("sg-web",), "ingress", "8.8.8.8", 1, 13, False, "no ingress rule"),
    (("sg-web",), "ingress", "2a00::1", 6, 443, True, "from ::/0"),
    (("sg-db",), "egress", "52.94.26.7", 6, 443, True, "to pl-6fa54006"),
    (("sg-db",), "egress", "52.218.1.1", 6, 443, False, "no egress rule"),
    (("sg-locked", "sg-app"), "egress", "8.8.8.8", 17, 53, True, "sg-app egress rule 1"),
    (("sg-locked",), "egress", "8.8.8.8", 17, 53, False, "no egress rule of sg-locked"),
]


@pytest.mark.parametrize("groups, direction, peer, proto, port, allowed, words", SG)
def test_security_groups(base, groups, direction, peer, proto, port, allowed, words):
    v = security_groups(
        base, groups, direction, ip_address(peer), proto, port, icmp_code=0 if proto == 1 else None
    )
    assert v.allowed is allowed and words in v.rule


def test_security_group_reference_needs_the_peer_groups(base):
    app = ip_address("10.1.1.10")
    assert security_groups(
        base, ("sg-db",), "ingress", app, 6, 5432, peer_groups=frozenset({"sg-app"})
    ).allowed
    assert not security_groups(base, ("sg-db",), "ingress", app, 6, 5432).allowed


# (direction, peer, protocol, port, allowed, rule number)
NACL = [
    ("inbound", "10.1.3.5", 6, 5432, False, 90),  # the lower-numbered deny wins
    ("inbound", "10.1.1.5", 6, 5432, True, 100),
    ("inbound", "10.1.1.5", 6, 22, True, 110),
    ("inbound", "10.1.1.5", 17, 5432, False, None),  # the implicit * rule
    ("inbound", "10.9.1.1", 6, 40000, True, 120),
    ("inbound", "10.9.1.1", 6, 80, False, None),
    ("outbound", "10.1.1.5", 6, 32768, True, 100),
    ("outbound", "10.1.1.5", 6, 32767, False, None),
    ("outbound", "8.8.8.8", 6, 443, False, None),
]


@pytest.mark.parametrize("direction, peer, proto, port, allowed, number", NACL)
def test_network_acl_first_match_by_number(base, direction, peer, proto, port, allowed, number):
    v = network_acl(base, base.get("acl-db"), direction, ip_address(peer), proto, port)
    assert (v.allowed, v.rule_number) == (allowed, number)


# (model, name, region, source of the answer, an address prefix or the exact address)
DNS = [
    ("base", "s3.eu-west-1.amazonaws.com", None, "aws-public", "52."),
    (
        "base",
        "bucket.s3.amazonaws.com",
        None,
        "aws-public",
        "52.21",
    ),  # legacy global endpoint = us-east-1 (52.216.0.0/15)
    ("base", "s3.amazonaws.com", None, "aws-public", "52.21"),
    ("base", "bucket.s3-eu-west-1.amazonaws.com", None, "aws-public", "52."),
    ("base", "service:s3", None, "aws-public", "52.21"),
    ("base", "service:s3", "eu-west-1", "aws-public", "52."),
    ("base", "dynamodb.us-east-1.amazonaws.com", None, "aws-public", "52."),
    ("base", "sqs.eu-west-1.amazonaws.com", None, "private-dns", "10.1.1.100"),
    ("base", "service:sqs", "eu-west-1", "private-dns", "10.1.1.100"),
    (
        "base",
        "sqs.us-east-1.amazonaws.com",
        None,
        "aws-public",
        "52.46.",
    ),  # the endpoint is for eu-west-1 only
    ("base", "sts.eu-west-1.amazonaws.com", None, "aws-public", "52.95."),  # private DNS off
    ("hostnames-off", "sqs.eu-west-1.amazonaws.com", None, "aws-public", "52.95."),
    ("dns-off", "sqs.eu-west-1.amazonaws.com", None, "unresolved", ""),
    ("base", "ec2-198-51-100-11.eu-west-1.compute.amazonaws.com", None, "ec2-hostname", "10.1.0.10"),
    (
        "hostnames-off",
        "ec2-198-51-100-11.eu-west-1.compute.amazonaws.com",
        None,
        "ec2-hostname",
        "198.51.100.11",
    ),
    ("base", "ip-10-1-1-10.eu-west-1.compute.internal", None, "ec2-hostname", "10.1.1.10"),
    ("hostnames-off", "ip-10-1-1-10.eu-west-1.compute.internal", None, "unresolved", ""),
    ("base", "google.com", None, "internet", "203.0.113."),
    ("base", "ssm.ap-south-2.amazonaws.com", None, "unresolved", ""),  # not in the catalog
    ("base", "10.1.2.10", None, "literal", "10.1.2.10"),
]


@pytest.mark.parametrize("model_name, name, region, source, prefix", DNS)
def test_dns(model_name, name, region, source, prefix):
    model = load_model(HERE / "models" / f"{model_name}.yaml")
    answer = resolve(model, model.get("vpc-a"), name, region=region)
    assert answer.source == source, answer.detail
    assert str(answer.address or "").startswith(prefix)


def test_dns_is_deterministic_and_warns_about_private_dns(base):
    vpc = base.get("vpc-a")
    assert resolve(base, vpc, "google.com").address == resolve(base, vpc, "GOOGLE.com.").address
    off = load_model(HERE / "models" / "hostnames-off.yaml")
    assert (
        "enableDnsHostnames=false"
        in resolve(off, off.get("vpc-a"), "sqs.eu-west-1.amazonaws.com").warnings[0]
    )


ALLOW_S3 = {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
ONE_BUCKET = {
    "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::a/*"}
    ]
}
DENY_OUTSIDE_VPCE = {
    "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:sourceVpce": "vpce-1"}},
        },
    ]
}
ROLE_ONLY = {
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "*",
            "Resource": "*",
            "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::1:role/app*"}},
        }
    ]
}
POLICIES = [
    (ALLOW_S3, ApiRequest("s3:ListBucket", "arn:aws:s3:::a"), "Allow"),
    (ALLOW_S3, ApiRequest("dynamodb:ListTables"), "ImplicitDeny"),
    (ONE_BUCKET, ApiRequest("s3:GetObject", "arn:aws:s3:::a/k"), "Allow"),
    (ONE_BUCKET, ApiRequest("S3:getobject", "arn:aws:s3:::a/k"), "Allow"),  # actions are case-insensitive
    (ONE_BUCKET, ApiRequest("s3:GetObject", "arn:aws:s3:::b/k"), "ImplicitDeny"),
    (DENY_OUTSIDE_VPCE, ApiRequest("s3:GetObject", "x", context={"aws:sourceVpce": "vpce-1"}), "Allow"),
    (DENY_OUTSIDE_VPCE, ApiRequest("s3:GetObject", "x", context={"aws:sourceVpce": "vpce-2"}), "Deny"),
    (DENY_OUTSIDE_VPCE, ApiRequest("s3:GetObject", "x"), "Deny"),  # absent key: StringNotEquals matches
    (ROLE_ONLY, ApiRequest("s3:GetObject", "x", principal_arn="arn:aws:iam::1:role/app"), "Allow"),
    (ROLE_ONLY, ApiRequest("s3:GetObject", "x", principal_arn="arn:aws:iam::1:role/web"), "ImplicitDeny"),
]


@pytest.mark.parametrize("policy, request_, effect", POLICIES)
def test_policies(policy, request_, effect):
    assert evaluate([policy], request_).effect == effect
