"""Shared by every loader: build resources from plain dicts, turning pydantic errors into ModelError.

A loader maps its input (YAML, `aws ec2 describe-*` JSON, a Batfish snapshot) to plain dicts keyed
like the `Model` fields, then calls `assemble`, which builds, adds the built-in AWS catalog and runs
the validation pass. The error for a bad value names the file, the resource id and the field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from vpcflow.errors import ModelError
from vpcflow.network.model import RESOURCE_KINDS, AwsService, Frozen
from vpcflow.network.store import Model
from vpcflow.network.validate import check_model

SECTIONS: dict[str, type[Frozen]] = {**RESOURCE_KINDS, "services": AwsService}


def build(kind: str, data: Any, source: str, position: int) -> Frozen:
    """One resource of section `kind` (e.g. 'subnets'); ModelError names file, id and field."""
    cls = SECTIONS[kind]
    rid = data.get("id") if isinstance(data, Mapping) else None
    if isinstance(data, Mapping) and kind == "services":
        rid = f"{data.get('service')}@{data.get('region')}"
    label = rid or f"{kind}[{position}]"
    if not isinstance(data, Mapping):
        raise ModelError(f"{source}: {label}: expected a mapping of fields, got {type(data).__name__}")
    try:
        return cls.model_validate(dict(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(resource)"
        value = first.get("input")
        shown = f" (got {value!r})" if not isinstance(value, Mapping | list) else ""
        message = first["msg"].removeprefix("Value error, ")
        err = ModelError(f"{source}: {label}: field {field!r}: {message}{shown}")
        err.resource_id = label  # type: ignore[attr-defined]
        err.field = field  # type: ignore[attr-defined]
        raise err from None


def assemble(sections: Mapping[str, Sequence[Any]], source: str, *, aws_defaults: bool = True) -> Model:
    """Build every section, add the built-in AWS catalog, validate. Unknown sections are errors."""
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        raise ModelError(f"{source}: unknown section {unknown[0]!r}; known sections: {', '.join(SECTIONS)}")
    built: dict[str, tuple[Frozen, ...]] = {}
    for kind, items in sections.items():
        if items is None:
            continue
        if not isinstance(items, Sequence) or isinstance(items, str | bytes):
            raise ModelError(f"{source}: section {kind!r} must be a list of resources")
        built[kind] = tuple(build(kind, item, source, i) for i, item in enumerate(items))
    model = Model(**built, source=source)
    if aws_defaults:
        model = model.with_aws_defaults()
    return check_model(model)
