"""Batfish AWS snapshots: aws_configs/<account>/<region>/*.json, account and Region from the path.

The fixture (tests/network/fixtures/batfish-snapshot) is the endpoint lab in 111122223333/eu-west-1
with Batfish's file names (Vpcs.json, Reservations.json, PrefixLists.json from describe-prefix-lists,
an AvailabilityZones.json that is ignored), peered with a VPC of account 444455556666 in us-east-1
whose files give neither its Region (no subnets) nor its account (no OwnerId).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from vpcflow.errors import ModelError
from vpcflow.network import load_model
from vpcflow.network.loaders import batfish, describe
from vpcflow.network.reach import reach

HERE = Path(__file__).parent
SNAPSHOT = HERE / "fixtures" / "batfish-snapshot"
LAB = SNAPSHOT / "aws_configs" / "111122223333" / "eu-west-1"
PEER = SNAPSHOT / "aws_configs" / "444455556666" / "us-east-1"


def test_account_and_region_come_from_the_path():
    model = load_model(SNAPSHOT)
    peer = model.get("vpc-0peer")
    assert (peer.region, peer.account_id) == ("us-east-1", "444455556666")
    lab = model.get("vpc-lab")
    assert (lab.region, lab.account_id) == ("eu-west-1", "111122223333")
    assert model.get("pcx-0lab").accepter_vpc_id == "vpc-0peer"
    assert [str(c) for c in model.prefix_list("pl-6da54004").cidrs] == [
        "3.5.64.0/21",
        "52.92.0.0/17",
        "52.218.0.0/17",
    ]


@pytest.mark.parametrize(
    "src, dst, protocol, port, region, outcome, code",
    [
        ("i-app", "service:s3", "tcp", 443, "eu-west-1", "Reachable", "-"),
        ("i-app", "google.com", "tcp", 443, None, "Reachable", "-"),
        ("i-bastion", "i-app", "tcp", 22, None, "Reachable", "-"),
        ("192.0.2.10", "i-app", "tcp", 22, None, "TimedOut", "IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS"),
        (
            "i-app",
            "10.9.0.5",
            "tcp",
            443,
            None,
            "TimedOut",
            "UNKNOWN_DESTINATION",
        ),  # through pcx-0lab, no ENI there
    ],
)
def test_the_snapshot_answers_like_the_lab(src, dst, protocol, port, region, outcome, code):
    trace = reach(load_model(SNAPSHOT), src, dst, protocol, port, region)
    assert (trace.outcome.value, trace.explanations[0].code if trace.explanations else "-") == (outcome, code)


def _relayout(tmp_path: Path, lab_dir: str, peer_dir: str | None) -> Path:
    root = tmp_path / "snap"
    shutil.copytree(LAB, root / "aws_configs" / lab_dir)
    if peer_dir is not None:
        shutil.copytree(PEER, root / "aws_configs" / peer_dir)
    return root


@pytest.mark.parametrize(
    "lab_dir, peer_dir, peer_where",
    [
        ("accounts/111122223333/eu-west-1", "accounts/444455556666/us-east-1", ("us-east-1", "444455556666")),
        ("eu-west-1", "us-east-1", ("us-east-1", "123456789012")),  # no account folder: the model's default
        (".", None, None),  # flat: the lab's Region from its AZs
    ],
)
def test_every_batfish_layout_loads(tmp_path, lab_dir, peer_dir, peer_where):
    root = _relayout(tmp_path, lab_dir, peer_dir)
    if peer_dir is None:  # a flat lab snapshot has no peer: drop the peering and its route
        (root / "aws_configs" / "VpcPeeringConnections.json").unlink()
        tables = json.loads((root / "aws_configs" / "RouteTables.json").read_text())
        for table in tables["RouteTables"]:
            table["Routes"] = [r for r in table["Routes"] if "VpcPeeringConnectionId" not in r]
        (root / "aws_configs" / "RouteTables.json").write_text(json.dumps(tables))
    for path in (root, root / "aws_configs"):
        assert batfish.accepts(path)
        model = load_model(path)
        assert model.get("vpc-lab").region == "eu-west-1"
        if peer_where:
            peer = model.get("vpc-0peer")
            assert (peer.region, peer.account_id) == peer_where
        assert reach(model, "i-app", "service:s3", region="eu-west-1").outcome.value == "Reachable"


def test_describe_does_not_claim_a_snapshot_folder():
    assert not describe.accepts(SNAPSHOT)
    assert batfish.accepts(SNAPSHOT) and not batfish.accepts(LAB)


def test_errors_name_the_batfish_file(tmp_path):
    root = _relayout(tmp_path, "111122223333/eu-west-1", "444455556666/us-east-1")
    subnets = root / "aws_configs" / "111122223333" / "eu-west-1" / "Subnets.json"
    data = json.loads(subnets.read_text())
    data["Subnets"][2]["CidrBlock"] = "10.0.300.0/24"
    subnets.write_text(json.dumps(data))
    with pytest.raises(ModelError) as err:
        load_model(root)
    assert f"{subnets}: subnet-private-a: field 'CidrBlock'" in str(err.value)


def test_classic_link_output_sharing_the_vpcs_key_is_ignored(tmp_path):
    root = _relayout(tmp_path, "111122223333/eu-west-1", "444455556666/us-east-1")
    classic = {"Vpcs": [{"ClassicLinkEnabled": False, "Tags": [], "VpcId": "vpc-lab"}]}
    (root / "aws_configs" / "111122223333" / "eu-west-1" / "VpcClassicLink.json").write_text(
        json.dumps(classic)
    )
    assert len(load_model(root).vpcs) == 2


def test_a_folder_without_describe_output_is_refused(tmp_path):
    (tmp_path / "aws_configs" / "eu-west-1").mkdir(parents=True)
    (tmp_path / "aws_configs" / "eu-west-1" / "AvailabilityZones.json").write_text(
        '{"AvailabilityZones": []}'
    )
    with pytest.raises(ModelError, match="no describe output found"):
        load_model(tmp_path)
