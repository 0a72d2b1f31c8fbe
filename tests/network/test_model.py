"""The model, the YAML loader and the validation pass: bad input names the resource and field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from vpcflow.errors import ModelError
from vpcflow.network import load_model
from vpcflow.network.model import SecurityGroupRule

LAB = Path(__file__).parents[2] / "examples" / "endpoint-lab" / "lab.yaml"

# (what to change in the lab, the words the error must contain)
BAD = [
    (
        {
            "subnets": [
                {
                    "id": "subnet-x",
                    "vpc_id": "vpc-lab",
                    "cidr_block": "10.0.10.128/25",
                    "availability_zone": "eu-west-1a",
                }
            ]
        },
        ["subnet-x", "'cidr_block'", "overlaps subnet-private-a"],
    ),
    (
        {
            "subnets": [
                {
                    "id": "subnet-x",
                    "vpc_id": "vpc-lab",
                    "cidr_block": "10.1.0.0/24",
                    "availability_zone": "eu-west-1a",
                }
            ]
        },
        ["subnet-x", "'cidr_block'", "outside the CIDR blocks of vpc-lab"],
    ),
    (
        {
            "subnets": [
                {
                    "id": "subnet-x",
                    "vpc_id": "vpc-lab",
                    "cidr_block": "10.0.99.0/33",
                    "availability_zone": "eu-west-1a",
                }
            ]
        },
        ["subnet-x", "'cidr_block'", "10.0.99.0/33"],
    ),
    (
        {
            "subnets": [
                {
                    "id": "subnet-x",
                    "vpc_id": "vpc-nope",
                    "cidr_block": "10.0.99.0/24",
                    "availability_zone": "eu-west-1a",
                }
            ]
        },
        ["subnet-x", "'vpc_id'", "vpc-nope"],
    ),
    (
        {
            "route_tables": [
                {
                    "id": "rtb-x",
                    "vpc_id": "vpc-lab",
                    "routes": [{"destination": "0.0.0.0/0", "target": "nat-gone"}],
                }
            ]
        },
        ["rtb-x", "routes[0].target", "nat-gone", "blackhole"],
    ),
    (
        {
            "route_tables": [
                {
                    "id": "rtb-x",
                    "vpc_id": "vpc-lab",
                    "routes": [{"destination": "0.0.0.0/0", "target": "blackhole"}],
                }
            ]
        },
        ["rtb-x", "state: blackhole"],
    ),
    (
        {"route_tables": [{"id": "rtb-x", "vpc_id": "vpc-lab", "subnet_ids": ["subnet-public-a"]}]},
        ["subnet-public-a", "two route tables"],
    ),
    (
        {
            "route_tables": [
                {"id": "rtb-x", "vpc_id": "vpc-lab", "main": True},
                {"id": "rtb-y", "vpc_id": "vpc-lab", "main": True},
            ]
        },
        ["vpc-lab", "2 main route tables"],
    ),
    (
        {
            "security_groups": [
                {
                    "id": "sg-x",
                    "vpc_id": "vpc-lab",
                    "ingress": [{"protocol": "tcp", "port": 22, "group_id": "sg-nope"}],
                }
            ]
        },
        ["sg-x", "ingress.group_id", "sg-nope"],
    ),
    (
        {
            "security_groups": [
                {
                    "id": "sg-x",
                    "vpc_id": "vpc-lab",
                    "ingress": [{"protocol": "tcpp", "port": 22, "cidr": "0.0.0.0/0"}],
                }
            ]
        },
        ["sg-x", "ingress.0.protocol", "tcpp"],
    ),
    (
        {
            "network_acls": [
                {
                    "id": "acl-x",
                    "vpc_id": "vpc-lab",
                    "inbound": [
                        {"rule_number": 100, "action": "allow", "cidr": "0.0.0.0/0"},
                        {"rule_number": 100, "action": "deny", "cidr": "0.0.0.0/0"},
                    ],
                }
            ]
        },
        ["acl-x", "rule number 100"],
    ),
    (
        {
            "network_acls": [
                {
                    "id": "acl-x",
                    "vpc_id": "vpc-lab",
                    "inbound": [{"rule_number": 40000, "action": "allow", "cidr": "0.0.0.0/0"}],
                }
            ]
        },
        ["acl-x", "inbound.0.rule_number"],
    ),
    (
        {"instances": [{"id": "i-x", "subnet_id": "subnet-public-a", "private_ip": "10.0.1.5"}]},
        ["eni-x", "'private_ip'", "outside subnet-public-a"],
    ),
    (
        {"instances": [{"id": "i-x", "subnet_id": "subnet-public-a", "private_ip": "10.0.0.10"}]},
        ["'private_ip'", "10.0.0.10 is also held by eni-"],
    ),
    (
        {"instances": [{"id": "i-x", "subnet_id": "subnet-public-a", "private_ip": "10.0.0.2"}]},
        ["eni-x", "reserved"],
    ),
    (
        {
            "vpc_endpoints": [
                {
                    "id": "vpce-x",
                    "vpc_id": "vpc-lab",
                    "vpc_endpoint_type": "Gateway",
                    "service_name": "com.amazonaws.eu-west-1.sqs",
                }
            ]
        },
        ["vpce-x", "S3 and DynamoDB"],
    ),
    (
        {"nat_gateways": [{"id": "nat-x", "subnet_id": "subnet-public-b", "private_ip": "10.0.1.100"}]},
        ["nat-x", "'public_ip'"],
    ),
    ({"vpcs": [{"id": "VPC-1", "region": "eu-west-1", "cidr_blocks": ["10.9.0.0/16"]}]}, ["VPC-1", "'id'"]),
    ({"routers": []}, ["unknown section 'routers'"]),
]


@pytest.mark.parametrize("change, words", BAD, ids=[w[0] for _, w in BAD])
def test_invalid_models_name_resource_and_field(tmp_path, change, words):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"extends": str(LAB), **change}))
    with pytest.raises(ModelError) as err:
        load_model(path)
    message = str(err.value)
    assert message.startswith(str(path)), message
    for word in words:
        assert word in message, message


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("vpcs:\n  - id: vpc-a\n    region: [eu-west-1\n")
    with pytest.raises(ModelError, match=r"broken.yaml:\d+: not valid YAML"):
        load_model(path)


def test_defaults_aws_creates_are_added():
    model = load_model(LAB)
    main = model.get("rtb-lab-main")
    assert main.main and [r.target for r in model.routes_of(main.id)] == ["local"]
    acl = model.network_acl_for_subnet("subnet-private-a")
    assert acl.is_default and [r.rule_number for r in acl.inbound] == [100]
    assert model.get("eni-lab").interface_type.value == "nat_gateway"
    assert str(model.get("eni-lab").public_ip) == "198.51.100.20"


def test_lookups_by_id_and_address():
    model = load_model(LAB)
    assert model.interface_for_ip("10.0.10.20").id == "eni-app"
    assert model.interface_for_public_ip("198.51.100.10").id == "eni-bastion"
    assert model.instance_of(model.get("eni-app")).id == "i-app"
    assert model.route_table_for_subnet("subnet-private-b").id == "rtb-private"
    assert model.service_for_ip("52.218.3.4").region == "eu-west-1"
    assert model.prefix_list("com.amazonaws.eu-west-1.s3").id == "pl-6da54004"
    with pytest.raises(ModelError, match="no resource with id 'vpc-zzz'"):
        model.get("vpc-zzz")


def test_replace_makes_a_new_checked_model():
    model = load_model(LAB)
    changed = model.replace(
        instances=[i for i in model.instances if i.id != "i-bastion"],
        network_interfaces=[e for e in model.network_interfaces if e.id != "eni-bastion"],
    )
    assert changed.find("i-bastion") is None and model.find("i-bastion") is not None


def test_rule_shorthands():
    rule = SecurityGroupRule.model_validate({"protocol": "udp", "ports": "1024-65535", "peer": "pl-6da54004"})
    assert (rule.protocol, rule.from_port, rule.to_port, rule.prefix_list_id) == (
        17,
        1024,
        65535,
        "pl-6da54004",
    )
    assert SecurityGroupRule.model_validate({"protocol": "all", "peer": "sg-x"}).group_id == "sg-x"


def test_a_folder_of_yaml_files_is_one_model(tmp_path):
    data = yaml.safe_load(LAB.read_text())
    (tmp_path / "a.yaml").write_text(yaml.safe_dump({k: data[k] for k in ("vpcs", "subnets")}))
    (tmp_path / "b.yaml").write_text(
        yaml.safe_dump({k: v for k, v in data.items() if k not in ("vpcs", "subnets")})
    )
    assert len(load_model(tmp_path).instances) == 2


def test_not_a_model():
    with pytest.raises(ModelError, match="no such file"):
        load_model("/nonexistent/model.yaml")
