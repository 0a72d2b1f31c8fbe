"""A Batfish AWS snapshot is a model: `aws_configs/<account>/<region>/*.json`, the same describe output.

Batfish (https://batfish.org) reads an AWS network from a snapshot folder whose `aws_configs/`
holds the output of the EC2 describe calls, one file per call named after its top-level key
(`Vpcs.json`, `Subnets.json`, `RouteTables.json`, `Reservations.json`, `PrefixLists.json` from
the older `describe-prefix-lists`, ...; other files such as `AvailabilityZones.json` are ignored).
The layouts seen in Batfish's own snapshots and tools are all read:

    <snapshot>/aws_configs/<account>/<region>/*.json
    <snapshot>/aws_configs/accounts/<account>/<region>/*.json
    <snapshot>/aws_configs/<region>/*.json
    <snapshot>/aws_configs/*.json

A folder name of twelve digits is the account, a Region name is the Region; they apply to the
resources of the files below them (the account of a VPC without `OwnerId`, the Region of a VPC
without subnets or of a prefix list). Every file is read by `describe`, so files are still
recognised by their keys and errors name the file, the resource id and the field.
"""

from __future__ import annotations

import re
from pathlib import Path

from vpcflow.errors import ModelError
from vpcflow.network.loaders.describe import Snapshot, assemble_located, json_files, read_snapshot
from vpcflow.network.store import Model

SNAPSHOT_FOLDER = "aws_configs"
ACCOUNT_RE = re.compile(r"^\d{12}$")
REGION_NAME_RE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")


def configs_folder(path: Path) -> Path | None:
    """The snapshot's `aws_configs` folder, given the snapshot or that folder itself."""
    if path.is_dir() and path.name == SNAPSHOT_FOLDER:
        return path
    inner = path / SNAPSHOT_FOLDER
    return inner if inner.is_dir() else None


def accepts(path: Path) -> bool:
    return configs_folder(Path(path)) is not None


def location(relative: Path) -> tuple[str | None, str | None]:
    """(account, region) named by the folders between aws_configs/ and a file."""
    account = region = None
    for part in relative.parts:
        if ACCOUNT_RE.match(part):
            account = part
        elif REGION_NAME_RE.match(part):
            region = part
    return account, region


def read_configs(root: Path) -> Snapshot:
    snap = Snapshot()
    folders = [root, *sorted(p for p in root.rglob("*") if p.is_dir())]
    for folder in folders:
        account, region = location(folder.relative_to(root))
        snap.merge(read_snapshot(json_files(folder), region=region, account=account))
    return snap


def load(path: Path, *, region: str | None = None, account: str | None = None) -> Model:
    from vpcflow.network.loaders.describe_map import to_sections

    root = configs_folder(Path(path))
    if root is None:
        raise ModelError(f"{path}: not a Batfish snapshot (no {SNAPSHOT_FOLDER}/ folder)")
    snap = read_configs(root)
    if not snap.files:
        raise ModelError(
            f"{root}: no describe output found (expected {SNAPSHOT_FOLDER}/<account>/<region>/Vpcs.json, Subnets.json, ...)"
        )
    sections, origins = to_sections(snap, region=region, account=account)
    return assemble_located(sections, origins, str(path))
