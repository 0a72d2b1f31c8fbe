"""`vpcflow import-aws` against a local EC2 (moto's server, real HTTP): resources created with boto3,
imported, written as the AWS CLI prints them, and loaded back by the describe loader."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from typer.testing import CliRunner

from vpcflow.aws_session import AwsSettings
from vpcflow.cli import app
from vpcflow.errors import InputError
from vpcflow.network.aws_import import import_aws

REGION = "us-east-1"
runner = CliRunner()


def build_vpc(ec2, cidr: str = "10.20.0.0/16", name: str = "shop", *, nat: bool = True) -> dict:
    """A VPC with what a small real one has; returns the ids."""
    vpc = ec2.create_vpc(CidrBlock=cidr, TagSpecifications=[_tags("vpc", name)])["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    base = cidr.rsplit(".", 2)[0]
    public = ec2.create_subnet(VpcId=vpc, CidrBlock=f"{base}.1.0/24", AvailabilityZone=f"{REGION}a")[
        "Subnet"
    ]["SubnetId"]
    private = ec2.create_subnet(VpcId=vpc, CidrBlock=f"{base}.2.0/24", AvailabilityZone=f"{REGION}b")[
        "Subnet"
    ]["SubnetId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    if nat:
        eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
        nat = ec2.create_nat_gateway(SubnetId=public, AllocationId=eip)["NatGateway"]["NatGatewayId"]
    public_rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=public_rt, SubnetId=public)
    private_rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    if nat:
        ec2.create_route(RouteTableId=private_rt, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    ec2.associate_route_table(RouteTableId=private_rt, SubnetId=private)
    s3_endpoint = ec2.create_vpc_endpoint(
        VpcId=vpc,
        ServiceName=f"com.amazonaws.{REGION}.s3",
        VpcEndpointType="Gateway",
        RouteTableIds=[private_rt],
    )["VpcEndpoint"]["VpcEndpointId"]
    web = ec2.create_security_group(GroupName=f"{name}-web", Description="web", VpcId=vpc)["GroupId"]
    app_sg = ec2.create_security_group(GroupName=f"{name}-app", Description="app", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=web,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
        ],
    )
    ec2.authorize_security_group_ingress(
        GroupId=app_sg,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "UserIdGroupPairs": [{"GroupId": web}]}
        ],
    )
    acl = ec2.create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
    for egress in (False, True):
        ec2.create_network_acl_entry(
            NetworkAclId=acl,
            RuleNumber=100,
            Protocol="-1",
            RuleAction="allow",
            Egress=egress,
            CidrBlock="0.0.0.0/0",
        )
    ec2.create_network_acl_entry(
        NetworkAclId=acl, RuleNumber=90, Protocol="6", RuleAction="deny", Egress=False,
        CidrBlock="198.51.100.0/24", PortRange={"From": 22, "To": 22},
    )  # fmt: skip
    eni = ec2.create_network_interface(SubnetId=public, Groups=[web], Description="web ENI")[
        "NetworkInterface"
    ]
    instance = ec2.run_instances(
        ImageId="ami-0123456789abcdef0", MinCount=1, MaxCount=1, InstanceType="t3.micro",
        SubnetId=private, SecurityGroupIds=[app_sg],
    )["Instances"][0]["InstanceId"]  # fmt: skip
    return {
        "instance": instance,
        "vpc": vpc, "subnets": {public, private}, "igw": igw, "nat": nat, "route_tables": {public_rt, private_rt},
        "endpoint": s3_endpoint, "groups": {web, app_sg}, "acl": acl, "eni": eni["NetworkInterfaceId"],
    }  # fmt: skip


def _tags(kind: str, name: str) -> dict:
    return {"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}]}


def read(out, name: str) -> dict:
    return json.loads((out / f"{name}.json").read_text())


def test_one_file_per_call_in_the_aws_clis_shape_filtered_by_vpc(ec2, tmp_path):
    shop = build_vpc(ec2)
    other = build_vpc(ec2, "10.30.0.0/16", "other")
    pcx = ec2.create_vpc_peering_connection(VpcId=shop["vpc"], PeerVpcId=other["vpc"])["VpcPeeringConnection"]
    prefix_list = ec2.create_managed_prefix_list(
        PrefixListName="offices", MaxEntries=5, AddressFamily="IPv4",
        Entries=[{"Cidr": "203.0.113.0/24", "Description": "Paris"}, {"Cidr": "192.0.2.0/24"}],
    )["PrefixList"]["PrefixListId"]  # fmt: skip
    out = tmp_path / "model"

    result = import_aws(AwsSettings(region=REGION), out, vpc_ids=[shop["vpc"]])

    assert result.region == REGION and not result.warnings
    assert [v["VpcId"] for v in read(out, "describe-vpcs")["Vpcs"]] == [shop["vpc"]]
    assert {s["SubnetId"] for s in read(out, "describe-subnets")["Subnets"]} == shop["subnets"]
    tables = read(out, "describe-route-tables")["RouteTables"]
    assert shop["route_tables"] < {t["RouteTableId"] for t in tables}  # and the VPC's main table
    assert {t["VpcId"] for t in tables} == {shop["vpc"]}
    assert [g["InternetGatewayId"] for g in read(out, "describe-internet-gateways")["InternetGateways"]] == [
        shop["igw"]
    ]
    nats = read(out, "describe-nat-gateways")["NatGateways"]
    assert [n["NatGatewayId"] for n in nats] == [shop["nat"]]
    assert datetime.fromisoformat(nats[0]["CreateTime"]).utcoffset().total_seconds() == 0  # ISO 8601, UTC
    assert [e["VpcEndpointId"] for e in read(out, "describe-vpc-endpoints")["VpcEndpoints"]] == [
        shop["endpoint"]
    ]
    groups = {g["GroupId"] for g in read(out, "describe-security-groups")["SecurityGroups"]}
    assert shop["groups"] < groups and not other["groups"] & groups
    assert shop["acl"] in {a["NetworkAclId"] for a in read(out, "describe-network-acls")["NetworkAcls"]}
    enis = {e["NetworkInterfaceId"] for e in read(out, "describe-network-interfaces")["NetworkInterfaces"]}
    assert shop["eni"] in enis and other["eni"] not in enis
    instances = [i for r in read(out, "describe-instances")["Reservations"] for i in r["Instances"]]
    assert [i["InstanceId"] for i in instances] == [shop["instance"]]
    assert datetime.fromisoformat(instances[0]["LaunchTime"]).utcoffset().total_seconds() == 0
    assert "EgressOnlyInternetGateways" in read(out, "describe-egress-only-internet-gateways")
    peerings = read(out, "describe-vpc-peering-connections")["VpcPeeringConnections"]
    assert [p["VpcPeeringConnectionId"] for p in peerings] == [pcx["VpcPeeringConnectionId"]]

    # Prefix lists: every list, and one entries file each, saying which list it is
    lists = {p["PrefixListId"] for p in read(out, "describe-managed-prefix-lists")["PrefixLists"]}
    assert prefix_list in lists
    entries = read(out, f"get-managed-prefix-list-entries-{prefix_list}")
    assert entries["PrefixListId"] == prefix_list
    assert sorted(e["Cidr"] for e in entries["Entries"]) == ["192.0.2.0/24", "203.0.113.0/24"]
    assert all((out / f"get-managed-prefix-list-entries-{pid}.json").exists() for pid in lists)

    # describe-vpc-attribute, exactly as the CLI prints it
    assert read(out, f"describe-vpc-attribute-{shop['vpc']}-enableDnsHostnames") == {
        "VpcId": shop["vpc"], "EnableDnsHostnames": {"Value": True},
    }  # fmt: skip
    assert read(out, f"describe-vpc-attribute-{shop['vpc']}-enableDnsSupport") == {
        "VpcId": shop["vpc"], "EnableDnsSupport": {"Value": True},
    }  # fmt: skip

    # Nothing the CLI does not print, in any file
    for path in out.glob("*.json"):
        text = path.read_text()
        assert "ResponseMetadata" not in text and "NextToken" not in text, path.name
    assert not list(out.glob(".import-aws-*"))


def test_the_import_loads_as_a_model(ec2, tmp_path):
    loader = pytest.importorskip(
        "vpcflow.network.loaders.describe", reason="the describe loader is not built"
    )
    from vpcflow.network import load_model

    # No NAT gateway here: moto gives its interface a random 10.x address outside its subnet, which
    # the loader rightly refuses (AWS takes it from the subnet); NAT gateways are imported above.
    shop = build_vpc(ec2, nat=False)
    out = tmp_path / "model"
    import_aws(AwsSettings(region=REGION), out, vpc_ids=[shop["vpc"]])
    assert loader.accepts(out)
    model = load_model(out)
    vpc = next(v for v in model.vpcs if v.id == shop["vpc"])
    assert vpc.region == REGION and vpc.enable_dns_hostnames is True
    assert {s.id for s in model.subnets} == shop["subnets"]
    assert shop["igw"] in {g.id for g in model.internet_gateways}
    assert shop["eni"] in {i.id for i in model.network_interfaces}
    assert shop["acl"] in {a.id for a in model.network_acls}
    assert shop["instance"] in {i.id for i in model.instances}
    assert shop["endpoint"] in {e.id for e in model.vpc_endpoints}
    assert shop["groups"] <= {g.id for g in model.security_groups}


def test_every_vpc_without_vpc_id_and_a_second_import_replaces_the_first(ec2, tmp_path):
    shop = build_vpc(ec2)
    other = build_vpc(ec2, "10.30.0.0/16", "other")
    out = tmp_path / "model"
    import_aws(AwsSettings(region=REGION), out)
    vpcs = {v["VpcId"] for v in read(out, "describe-vpcs")["Vpcs"]}
    assert {shop["vpc"], other["vpc"]} <= vpcs  # and moto's default VPC
    assert (out / f"describe-vpc-attribute-{other['vpc']}-enableDnsSupport.json").exists()

    (out / "iam-details.json").write_text("{}")  # a file of the user's: left alone
    import_aws(AwsSettings(region=REGION), out, vpc_ids=[shop["vpc"]])
    assert not (out / f"describe-vpc-attribute-{other['vpc']}-enableDnsSupport.json").exists()
    assert (out / "iam-details.json").exists()


def test_an_unknown_vpc_id_is_an_input_error_naming_the_option(ec2, tmp_path):
    with pytest.raises(InputError, match=r"describe-vpcs failed: InvalidVpcID.NotFound.*--vpc-id"):
        import_aws(AwsSettings(region=REGION), tmp_path / "model", vpc_ids=["vpc-0123456789abcdef0"])
    assert not list((tmp_path / "model").glob("*.json"))


def test_the_command_line(ec2, tmp_path):
    shop = build_vpc(ec2)
    out = tmp_path / "model"
    result = runner.invoke(
        app, ["import-aws", "--region", REGION, "--vpc-id", shop["vpc"], "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "describe-subnets.json: 2" in result.output
    assert f"({REGION})" in result.output
    assert [v["VpcId"] for v in read(out, "describe-vpcs")["Vpcs"]] == [shop["vpc"]]
    # --region decides which Region is read: the VPC is not in another one
    elsewhere = runner.invoke(
        app, ["import-aws", "--region", "eu-west-3", "--vpc-id", shop["vpc"], "--out", str(out)]
    )
    assert isinstance(elsewhere.exception, InputError) and "InvalidVpcID.NotFound" in str(elsewhere.exception)


def _refuse(operation: str):
    from botocore.awsrequest import AWSResponse

    def hook(request, **_):
        body = (
            b"<Response><Errors><Error><Code>UnauthorizedOperation</Code>"
            b"<Message>You are not authorized to perform this operation.</Message></Error></Errors></Response>"
        )
        return AWSResponse(request.url, 403, {"Content-Type": "text/xml"}, _Raw(body))

    return f"before-send.ec2.{operation}", hook


class _Raw:
    def __init__(self, data: bytes):
        self.data = data

    def stream(self, **_):
        yield self.data


def test_a_refused_optional_call_is_skipped_and_a_refused_required_call_names_the_permission(ec2, tmp_path):
    shop = build_vpc(ec2, nat=False)
    settings = AwsSettings(region=REGION)
    client = settings.client("ec2")
    client.meta.events.register_first(*_refuse("DescribeVpcPeeringConnections"))
    result = import_aws(settings, tmp_path / "a", vpc_ids=[shop["vpc"]], client=client)
    assert not (tmp_path / "a" / "describe-vpc-peering-connections.json").exists()
    assert "describe-vpc-peering-connections: skipped" in result.warnings[0]
    assert "UnauthorizedOperation" in result.warnings[0]

    client.meta.events.register_first(*_refuse("DescribeSubnets"))
    with pytest.raises(InputError, match=r"describe-subnets failed: UnauthorizedOperation.*need ec2:DescribeSubnets"):
        import_aws(settings, tmp_path / "b", vpc_ids=[shop["vpc"]], client=client)
