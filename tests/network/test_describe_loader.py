"""The describe-* JSON loader: the lab as AWS CLI output answers exactly like the YAML lab; files are
recognised by their keys; errors name the file, the resource id and the AWS field."""

from __future__ import annotations

import json
import shutil
from functools import cache
from pathlib import Path

import botocore.session
import pytest

from vpcflow.errors import ModelError
from vpcflow.network import load_model
from vpcflow.network.loaders import describe
from vpcflow.network.policy import ApiRequest
from vpcflow.network.reach import evaluate_flow, reach

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
YAML_LAB = ROOT / "examples" / "endpoint-lab"
DESCRIBE_LAB = ROOT / "examples" / "endpoint-lab-describe"
STEP_FOLDERS = {
    "lab": DESCRIBE_LAB,
    "step2-no-nat-route": DESCRIBE_LAB / "step2-no-nat-route",
    "step3-s3-gateway-endpoint": DESCRIBE_LAB / "step3-s3-gateway-endpoint",
    "step4-endpoint-policy": DESCRIBE_LAB / "step4-endpoint-policy",
}


@cache
def yaml_step(step: str):
    return load_model(YAML_LAB / f"{step}.yaml")


@cache
def describe_step(step: str):
    return load_model(STEP_FOLDERS[step])


def _lab_scenarios():
    for number, line in enumerate((HERE / "scenarios.txt").read_text().splitlines(), 1):
        if line.startswith("lab:"):
            fields = [f.strip() for f in line.split("|")]
            yield pytest.param(*fields, id=f"{number}:{fields[0]}:{fields[1]}->{fields[2]}")


LAB_SCENARIOS = list(_lab_scenarios())


def test_every_lab_step_has_a_describe_folder():
    assert {p.stem for p in YAML_LAB.glob("*.yaml")} == set(STEP_FOLDERS)
    assert len(LAB_SCENARIOS) >= 10


@pytest.mark.parametrize("model, src, dst, protocol, port, region, action, outcome, code", LAB_SCENARIOS)
def test_golden_lab_scenario_gives_the_same_trace_from_describe_output(
    model, src, dst, protocol, port, region, action, outcome, code
):
    step = model.removeprefix("lab:")
    args = (src, dst, protocol, None if port == "-" else int(port), None if region == "-" else region)
    api = None if action == "-" else ApiRequest(action)
    from_describe = reach(describe_step(step), *args, api=api)
    first = from_describe.explanations[0].code if from_describe.explanations else "-"
    assert (from_describe.outcome.value, first) == (outcome, code)
    assert from_describe.to_json() == reach(yaml_step(step), *args, api=api).to_json()


@pytest.mark.parametrize("step", sorted(STEP_FOLDERS))
@pytest.mark.parametrize(
    "src, dst, protocol, port",
    [
        ("i-app", "52.218.1.10", "tcp", 443),
        ("i-app", "203.0.113.5", "tcp", 443),
        ("i-bastion", "10.0.10.20", "tcp", 22),
        ("192.0.2.7", "198.51.100.10", "tcp", 22),
        ("i-app", "8.8.8.8", "udp", 53),
    ],
)
def test_flow_log_observations_are_the_same(step, src, dst, protocol, port):
    got = evaluate_flow(describe_step(step), src, dst, protocol, port, src_port=40000)
    want = evaluate_flow(yaml_step(step), src, dst, protocol, port, src_port=40000)
    assert got.observations == want.observations


def test_the_same_resources_as_the_yaml_lab():
    got, want = describe_step("step3-s3-gateway-endpoint"), yaml_step("step3-s3-gateway-endpoint")
    for kind in ("vpcs", "subnets", "instances", "nat_gateways", "vpc_endpoints", "internet_gateways"):
        assert {r.id for r in getattr(got, kind)} == {r.id for r in getattr(want, kind)}, kind
    assert got.get("vpc-lab").enable_dns_hostnames and got.get("vpc-lab").region == "eu-west-1"
    assert got.get("i-app").identity_policies == want.get("i-app").identity_policies


# --- the example speaks the AWS CLI's language ---------------------------------------------------

OPERATIONS = {  # top-level key -> (service, operation)
    "Vpcs": ("ec2", "DescribeVpcs"),
    "Subnets": ("ec2", "DescribeSubnets"),
    "RouteTables": ("ec2", "DescribeRouteTables"),
    "InternetGateways": ("ec2", "DescribeInternetGateways"),
    "EgressOnlyInternetGateways": ("ec2", "DescribeEgressOnlyInternetGateways"),
    "NatGateways": ("ec2", "DescribeNatGateways"),
    "VpcEndpoints": ("ec2", "DescribeVpcEndpoints"),
    "SecurityGroups": ("ec2", "DescribeSecurityGroups"),
    "NetworkAcls": ("ec2", "DescribeNetworkAcls"),
    "NetworkInterfaces": ("ec2", "DescribeNetworkInterfaces"),
    "Reservations": ("ec2", "DescribeInstances"),
    "PrefixLists": ("ec2", "DescribeManagedPrefixLists"),
    "Entries": ("ec2", "GetManagedPrefixListEntries"),
    "EnableDnsSupport": ("ec2", "DescribeVpcAttribute"),
    "EnableDnsHostnames": ("ec2", "DescribeVpcAttribute"),
    "RoleDetailList": ("iam", "GetAccountAuthorizationDetails"),
}


def _unknown_keys(value, shape, where: str):
    if shape.type_name == "structure":
        if not isinstance(value, dict):
            yield f"{where}: expected an object"
            return
        for key, item in value.items():
            if key not in shape.members:
                yield f"{where}.{key}"
            elif not (isinstance(item, dict) and shape.members[key].name == "policyDocumentType"):
                yield from _unknown_keys(
                    item, shape.members[key], f"{where}.{key}"
                )  # the CLI decodes IAM policies
    elif shape.type_name == "list":
        for i, item in enumerate(value):
            yield from _unknown_keys(item, shape.member, f"{where}[{i}]")


@cache
def _output_shape(service: str, operation: str):
    return botocore.session.get_session().get_service_model(service).operation_model(operation).output_shape


def test_example_files_hold_only_fields_the_aws_cli_prints():
    """Checked against botocore's service models, the definitions the AWS CLI prints from."""
    unique = {path.read_text(): path for path in sorted(DESCRIBE_LAB.rglob("*.json"))}
    assert len(unique) >= 20
    for text, path in unique.items():
        data = json.loads(text)
        key = next(k for k in OPERATIONS if k in data)
        shape = _output_shape(*OPERATIONS[key])
        extra = set(data) - set(shape.members)
        assert extra <= {"PrefixListId"}, (
            path,
            extra,
        )  # import-aws adds it: the CLI output lacks the list id
        members = {k: v for k, v in data.items() if k in shape.members}
        assert list(_unknown_keys(members, shape, str(path.relative_to(DESCRIBE_LAB)))) == []


# --- files are recognised by their keys ----------------------------------------------------------


def _copy(tmp_path: Path, name: str = "model") -> Path:
    out = tmp_path / name
    out.mkdir()
    for path in DESCRIBE_LAB.glob("*.json"):
        shutil.copy(path, out / path.name)
    return out


def _edit(folder: Path, name: str, change) -> None:
    path = folder / name
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=1))


def test_file_names_do_not_matter(tmp_path):
    folder = _copy(tmp_path)
    for i, path in enumerate(sorted(folder.glob("*.json"))):
        data = json.loads(path.read_text())
        if "Entries" in data:
            path.rename(folder / f"part-{i}.json")  # still carries its "PrefixListId" key
        else:
            path.rename(folder / f"{i:02d}.json")
    (folder / "notes.json").write_text('{"Comment": "not describe output"}')
    (folder / "README.txt").write_text("anything")
    model = load_model(folder)
    want = describe_step("lab")
    assert model.model_dump(exclude={"source"}) == want.model_dump(exclude={"source"})


def test_entries_take_the_list_id_from_the_file_name_when_the_key_is_absent(tmp_path):
    folder = _copy(tmp_path)
    _edit(folder, "get-managed-prefix-list-entries-pl-6da54004.json", lambda d: d.pop("PrefixListId"))
    assert [str(c) for c in load_model(folder).prefix_list("pl-6da54004").cidrs][0] == "3.5.64.0/21"
    (folder / "get-managed-prefix-list-entries-pl-6da54004.json").rename(folder / "s3-entries.json")
    with pytest.raises(
        ModelError, match=r"s3-entries\.json: get-managed-prefix-list-entries output without a prefix list id"
    ):
        load_model(folder)


def test_a_single_merged_file_loads_too(tmp_path):
    merged: dict = {}
    for path in sorted(DESCRIBE_LAB.glob("describe-*.json")):
        data = json.loads(path.read_text())
        if "VpcId" not in data:
            merged.update(data)
    (tmp_path / "all.json").write_text(json.dumps(merged))
    model = load_model(tmp_path / "all.json")
    # without the attribute files the VPC has AWS's defaults for a nondefault VPC: hostnames off
    assert not model.get("vpc-lab").enable_dns_hostnames
    assert reach(model, "i-app", "service:s3", region="eu-west-1").outcome.value == "Reachable"


def test_the_loader_accepts_describe_folders_only(tmp_path):
    assert describe.accepts(DESCRIBE_LAB)
    assert not describe.accepts(YAML_LAB)
    (tmp_path / "other.json").write_text("{}")
    assert not describe.accepts(tmp_path)


# --- errors name the file, the resource id and the AWS field -------------------------------------


def _set_subnet_cidr(subnet_id: str, cidr: str):
    def change(d):
        next(s for s in d["Subnets"] if s["SubnetId"] == subnet_id)["CidrBlock"] = cidr

    return change


def _add_route(route: dict):
    def change(d):
        next(t for t in d["RouteTables"] if t["RouteTableId"] == "rtb-private")["Routes"].append(route)

    return change


def _drop_main(d):
    d["RouteTables"] = [t for t in d["RouteTables"] if t["RouteTableId"] != "rtb-lab-main"]


def _eni_ip(d):
    next(e for e in d["NetworkInterfaces"] if e["NetworkInterfaceId"] == "eni-app")["PrivateIpAddress"] = (
        "10.0.11.20"
    )


def _unknown_group(d):
    sg = next(g for g in d["SecurityGroups"] if g["GroupId"] == "sg-app")
    sg["IpPermissions"][0]["UserIdGroupPairs"][0]["GroupId"] = "sg-gone"


ERRORS = [
    (
        "describe-subnets.json",
        _set_subnet_cidr("subnet-private-a", "10.0.10.0/33"),
        "describe-subnets.json: subnet-private-a: field 'CidrBlock': ",
    ),
    (
        "describe-subnets.json",
        _set_subnet_cidr("subnet-private-b", "10.0.10.128/25"),
        "describe-subnets.json: subnet-private-b: field 'CidrBlock': 10.0.10.128/25 overlaps subnet-private-a",
    ),
    (
        "describe-route-tables.json",
        _add_route({"DestinationCidrBlock": "172.16.0.0/12", "NatGatewayId": "nat-gone", "State": "active"}),
        "describe-route-tables.json: rtb-private: field 'Routes[2].NatGatewayId': nat-gone does not exist",
    ),
    (
        "describe-route-tables.json",
        _add_route({"DestinationCidrBlock": "172.16.0.0/33", "NatGatewayId": "nat-lab", "State": "active"}),
        "describe-route-tables.json: rtb-private: field 'Routes[2].DestinationCidrBlock': ",
    ),
    (
        "describe-route-tables.json",
        _add_route({"DestinationCidrBlock": "172.16.0.0/12", "LocalGatewayId": "lgw-1", "State": "active"}),
        "describe-route-tables.json: rtb-private: field 'Routes[2].LocalGatewayId': routes to LocalGateway targets are not modelled",
    ),
    (
        "describe-route-tables.json",
        _add_route(
            {"DestinationCidrBlock": "10.9.0.0/16", "VpcPeeringConnectionId": "pcx-1", "State": "active"}
        ),
        "rtb-private: field 'Routes[2].VpcPeeringConnectionId': pcx-1 is not described (add the output of `aws ec2 describe-vpc-peering-connections`",
    ),
    (
        "describe-route-tables.json",
        _drop_main,
        "describe-vpcs.json: vpc-lab: field 'RouteTables': no route table of this VPC has Associations[].Main true",
    ),
    (
        "describe-network-interfaces.json",
        _eni_ip,
        "describe-network-interfaces.json: eni-app: field 'PrivateIpAddress': 10.0.11.20 is outside subnet-private-a",
    ),
    (
        "describe-security-groups.json",
        _unknown_group,
        "describe-security-groups.json: sg-app: field 'IpPermissions.UserIdGroupPairs[].GroupId': security group 'sg-gone' does not exist",
    ),
    (
        "describe-nat-gateways.json",
        lambda d: d["NatGateways"][0]["NatGatewayAddresses"][0].update(PublicIp="198.51.100.300"),
        "describe-nat-gateways.json: nat-lab: field 'NatGatewayAddresses[].PublicIp'",
    ),
    (
        "describe-vpcs.json",
        lambda d: d["Vpcs"][0].update(OwnerId="1234"),
        "describe-vpcs.json: vpc-lab: field 'OwnerId'",
    ),
]


@pytest.mark.parametrize(
    "name, change, message", ERRORS, ids=[m.split(": field ")[-1][:40] for *_, m in ERRORS]
)
def test_invalid_output_names_file_resource_and_field(tmp_path, name, change, message):
    folder = _copy(tmp_path)
    _edit(folder, name, change)
    with pytest.raises(ModelError) as err:
        load_model(folder)
    assert message in str(err.value)
    assert str(err.value).startswith(str(folder))


def test_broken_json_names_the_line(tmp_path):
    folder = _copy(tmp_path)
    (folder / "describe-vpcs.json").write_text('{\n "Vpcs": [\n  {"VpcId": "vpc-lab",}\n ]\n}')
    with pytest.raises(ModelError, match=r"describe-vpcs\.json:3: not valid JSON"):
        load_model(folder)


def test_a_resource_listed_twice_differently_is_refused(tmp_path):
    folder = _copy(tmp_path)
    data = json.loads((folder / "describe-subnets.json").read_text())
    data["Subnets"] = data["Subnets"][:1]
    data["Subnets"][0]["MapPublicIpOnLaunch"] = False
    (folder / "more-subnets.json").write_text(json.dumps(data))
    with pytest.raises(ModelError, match="subnet-public-a: field 'id': listed again with other values"):
        load_model(folder)
    data["Subnets"][0]["MapPublicIpOnLaunch"] = True  # an identical copy (a second page) is fine
    (folder / "more-subnets.json").write_text(json.dumps(data))
    assert len(load_model(folder).subnets) == 4


# --- what the output leaves out ------------------------------------------------------------------


def test_region_from_the_environment_when_nothing_names_it(tmp_path, monkeypatch):
    folder = tmp_path / "m"
    folder.mkdir()
    for name in ("describe-vpcs.json", "describe-route-tables.json", "describe-network-acls.json"):
        shutil.copy(DESCRIBE_LAB / name, folder / name)
    _edit(folder, "describe-network-acls.json", lambda d: d["NetworkAcls"][0].update(Associations=[]))
    _edit(folder, "describe-route-tables.json", lambda d: d.update(RouteTables=d["RouteTables"][:1]))
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with pytest.raises(
        ModelError, match=r"vpc-lab: field 'Region': the Region cannot be told.*set AWS_REGION"
    ):
        load_model(folder)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    assert load_model(folder).get("vpc-lab").region == "eu-central-1"


def test_without_iam_output_an_instance_profile_allows_every_call(tmp_path):
    folder = _copy(tmp_path)
    call = dict(region="eu-west-1", api=ApiRequest("dynamodb:DeleteTable"))
    with_iam = reach(load_model(folder), "i-app", "service:dynamodb", **call)
    assert (with_iam.outcome.value, with_iam.explanations[0].code) == ("AccessDenied", "IDENTITY_POLICY_DENY")
    (folder / "iam-get-account-authorization-details.json").unlink()
    without = load_model(folder)
    assert without.get("i-app").identity_policies[0]["Statement"][0]["Sid"] == "VpcflowIdentityNotImported"
    assert reach(without, "i-app", "service:dynamodb", **call).outcome.value == "Reachable"


def test_attached_managed_policies_come_from_the_policies_list(tmp_path):
    folder = _copy(tmp_path)
    arn = "arn:aws:iam::111122223333:policy/ddb"

    def attach(d):
        d["RoleDetailList"][0]["AttachedManagedPolicies"] = [{"PolicyName": "ddb", "PolicyArn": arn}]
        document = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}],
        }
        # the raw API's URL-encoded form is read as well as the CLI's decoded one
        from urllib.parse import quote

        versions = [{"Document": quote(json.dumps(document)), "VersionId": "v2", "IsDefaultVersion": True}]
        d["Policies"] = [
            {"PolicyName": "ddb", "Arn": arn, "DefaultVersionId": "v2", "PolicyVersionList": versions}
        ]

    _edit(folder, "iam-get-account-authorization-details.json", attach)
    trace = reach(
        load_model(folder),
        "i-app",
        "service:dynamodb",
        region="eu-west-1",
        api=ApiRequest("dynamodb:DeleteTable"),
    )
    assert trace.outcome.value == "Reachable"


def test_interfaces_and_instances_fill_in_for_each_other(tmp_path):
    folder = _copy(tmp_path)
    (folder / "describe-network-interfaces.json").unlink()  # from describe-instances and the NAT gateway
    model = load_model(folder)
    assert {e.id for e in model.network_interfaces} == {"eni-app", "eni-bastion", "eni-lab"}
    assert model.get("eni-lab").interface_type.value == "nat_gateway"
    assert (
        reach(model, "i-app", "google.com").to_json()
        == reach(describe_step("lab"), "i-app", "google.com").to_json()
    )
    folder2 = _copy(tmp_path, "without-instances")
    (folder2 / "describe-instances.json").unlink()  # the attachments say which instances exist
    model2 = load_model(folder2)
    assert {(i.id, i.state, i.network_interface_ids) for i in model2.instances} == {
        ("i-app", "running", ("eni-app",)),
        ("i-bastion", "running", ("eni-bastion",)),
    }


def test_deleted_nat_gateways_and_their_blackhole_routes(tmp_path):
    folder = _copy(tmp_path)

    def old_nat(d):
        gone = json.loads(json.dumps(d["NatGateways"][0]))
        gone.update(NatGatewayId="nat-old", State="deleted")
        gone["NatGatewayAddresses"][0].update(NetworkInterfaceId="eni-old", PrivateIp="10.0.1.50")
        d["NatGateways"].append(gone)

    _edit(folder, "describe-nat-gateways.json", old_nat)
    _edit(
        folder,
        "describe-route-tables.json",
        _add_route(
            {
                "DestinationCidrBlock": "172.16.0.0/12",
                "NatGatewayId": "nat-old",
                "State": "blackhole",
                "Origin": "CreateRoute",
            }
        ),
    )
    model = load_model(folder)
    assert model.find("nat-old") is None
    trace = reach(model, "i-app", "172.16.1.1")
    assert (trace.outcome.value, trace.explanations[0].code) == ("TimedOut", "BAD_STATE_ROUTE")


def test_peering_to_a_vpc_outside_the_folder_gets_a_stub(tmp_path):
    folder = _copy(tmp_path)
    peering = {
        "VpcPeeringConnections": [
            {
                "AccepterVpcInfo": {
                    "CidrBlock": "10.9.0.0/16",
                    "CidrBlockSet": [{"CidrBlock": "10.9.0.0/16"}],
                    "OwnerId": "444455556666",
                    "VpcId": "vpc-0peer",
                    "Region": "eu-west-1",
                },
                "RequesterVpcInfo": {
                    "CidrBlock": "10.0.0.0/16",
                    "OwnerId": "111122223333",
                    "VpcId": "vpc-lab",
                    "Region": "eu-west-1",
                },
                "Status": {"Code": "active", "Message": "Active"},
                "VpcPeeringConnectionId": "pcx-0lab",
            }
        ]
    }
    (folder / "describe-vpc-peering-connections.json").write_text(json.dumps(peering))
    _edit(
        folder,
        "describe-route-tables.json",
        _add_route(
            {
                "DestinationCidrBlock": "10.9.0.0/16",
                "VpcPeeringConnectionId": "pcx-0lab",
                "State": "active",
                "Origin": "CreateRoute",
            }
        ),
    )

    def peer_rule(d):  # a rule naming a group of the peer account: no interface here can match it
        sg = next(g for g in d["SecurityGroups"] if g["GroupId"] == "sg-app")
        sg["IpPermissions"].append(
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "IpRanges": [],
                "Ipv6Ranges": [],
                "PrefixListIds": [],
                "UserIdGroupPairs": [
                    {
                        "GroupId": "sg-0peer",
                        "UserId": "444455556666",
                        "VpcId": "vpc-0peer",
                        "VpcPeeringConnectionId": "pcx-0lab",
                        "PeeringStatus": "active",
                    }
                ],
            }
        )

    _edit(folder, "describe-security-groups.json", peer_rule)
    model = load_model(folder)
    assert model.get("vpc-0peer").account_id == "444455556666"
    assert len(model.get("sg-app").ingress) == 1
    trace = reach(model, "i-app", "10.9.3.3")
    assert [h.node for h in trace.path if h.direction == "forward"][:2] == ["eni-app", "pcx-0lab"]
    assert trace.explanations[0].code == "UNKNOWN_DESTINATION"


def test_reach_cli_reads_a_describe_folder():
    from typer.testing import CliRunner

    from vpcflow.cli import app

    result = CliRunner().invoke(
        app,
        [
            "reach",
            "--model",
            str(DESCRIBE_LAB / "step3-s3-gateway-endpoint"),
            "--from",
            "i-app",
            "--to",
            "service:s3",
        ],
    )
    assert result.exit_code == 1 and "NO_ROUTE_TO_DESTINATION" in result.output
