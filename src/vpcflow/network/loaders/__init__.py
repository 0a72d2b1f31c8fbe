"""Model loaders: `load_model(path)` picks one by what the path holds.

- a `.yaml` / `.yml` file, or a folder of them: the YAML format (docs/model.md);
- a folder of `aws ec2 describe-*` JSON output, or a Batfish snapshot (`aws_configs/<account>/<region>/`):
  the loaders registered in FOLDER_LOADERS below (module `vpcflow.network.loaders.describe`, which
  plugs in by defining `accepts(path) -> bool` and `load(path) -> Model`).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from vpcflow.errors import ModelError
from vpcflow.network.loaders.common import assemble, build
from vpcflow.network.loaders.yaml_loader import load_yaml
from vpcflow.network.store import Model

YAML_SUFFIXES = (".yaml", ".yml")

# Modules that can load a folder (or a .json file). Each defines `accepts(path: Path) -> bool` and
# `load(path: Path) -> Model`; the first that accepts wins. A module not written yet is skipped.
FOLDER_LOADERS = ("vpcflow.network.loaders.describe", "vpcflow.network.loaders.batfish")


def _plugins():
    for name in FOLDER_LOADERS:
        try:
            yield importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


def load_model(path: str | Path) -> Model:
    """A checked Model from a YAML file, a folder of YAML files, or a folder of describe-* JSON."""
    path = Path(path)
    if not path.exists():
        raise ModelError(
            f"{path}: no such file or folder (give a model YAML file or a folder of describe-* JSON)"
        )
    if path.is_file() and path.suffix in YAML_SUFFIXES:
        return load_yaml(path)
    for plugin in _plugins():
        if plugin.accepts(path):
            return plugin.load(path)
    if path.is_dir():
        yamls = sorted(p for p in path.iterdir() if p.suffix in YAML_SUFFIXES and not p.name.startswith("."))
        if yamls:
            return load_yaml(yamls)
    raise ModelError(
        f"{path}: not a model: expected a .yaml file, a folder of .yaml files, or a folder of `aws ec2 describe-*` JSON"
    )


__all__ = ["FOLDER_LOADERS", "assemble", "build", "load_model", "load_yaml"]
