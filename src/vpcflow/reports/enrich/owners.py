"""Country and network owner of an address, offline, as a range table DuckDB can ASOF-join.

The data comes from plevin's network database (`plevin-db-network`, a wheel that ships the data and
is rebuilt from public sources: RIPE RIS routing tables, the RIRs' delegated statistics, CAIDA's AS
organisations, PeeringDB). For each block of the address space it gives:

- `country`: the country the Regional Internet Registry lists for the block (where it is
  registered, not a geolocation). We chose the registry country over a geolocation database on
  purpose: the geolocation databases that ship in wheels bundle MaxMind GeoLite2 data, whose
  licence forbids redistribution, while registry data is public.
- `asn`, `as_name` (the AS handle, e.g. `AMAZON-02`) and `owner` (the organisation, e.g.
  `Amazon.com, Inc.`) of the route that covers the address.

plevin answers one address at a time in Python. To enrich millions of records without a Python
loop per record we read its block table once (a few hundred milliseconds) into Arrow: one row per
block start, sorted, so "the block of an address" is an ASOF join on `start <= number`. This reads
plevin's file sections directly (`plevin.reader.File`), which is not plevin's public API: the
version range is pinned and tests/reports/test_enrich.py checks the table against
`plevin.Plevin.lookup` on sample addresses, so a format change fails loudly.
"""

from __future__ import annotations

import functools
import importlib.resources
import os
from importlib import metadata
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from vpcflow.errors import VpcflowError

DATA_PACKAGE = "plevin_db_network"
DATA_FILE = "plevin.network.plv"
INSTALL_HINT = "install the network database: pip install 'plevin>=0.2.3,<0.3' 'plevin-db-network>=2026.10.4'"
_LOW = (1 << 64) - 1

OWNER_SCHEMA = pa.schema(
    [
        ("family", pa.uint8()),
        ("start_hi", pa.uint64()),  # 128-bit block start split in halves (Arrow has no uint128)
        ("start_lo", pa.uint64()),
        ("country", pa.string()),
        ("asn", pa.int64()),
        ("as_name", pa.string()),
        ("owner", pa.string()),
    ]
)


class EnrichmentUnavailable(VpcflowError):
    """The offline address database is not installed."""


def available() -> bool:
    try:
        _data_path()
    except EnrichmentUnavailable:
        return False
    return True


def database_version() -> str:
    """`plevin-db-network <version>, built <date>`: which data answered (shown in reports)."""
    return f"plevin-db-network {metadata.version('plevin-db-network')}, built {_file().built}"


def _data_path() -> str:
    try:
        import plevin.reader  # noqa: F401

        path = importlib.resources.files(DATA_PACKAGE) / "data" / DATA_FILE
    except ModuleNotFoundError:
        raise EnrichmentUnavailable(f"country and owner enrichment: {INSTALL_HINT}") from None
    if not path.is_file():
        raise EnrichmentUnavailable(f"{path}: missing; {INSTALL_HINT}")
    return str(path)


@functools.cache
def _file():
    from plevin.reader import File

    return File(_data_path())


def _column(section) -> np.ndarray:
    values: list[int] = []
    for block in range(section.blocks):
        values.extend(section.whole(block))
    return np.asarray(values[: section.count], dtype=np.int64)


def _starts(section) -> list[int]:
    values: list[int] = []
    for group in range(-(-section.count // section.per_group)):
        values.extend(section.groups[group])
    return values


@functools.cache
def owner_table() -> pa.Table:
    """One row per block start, both families, sorted by (family, start); cached on disk per data version."""
    cache = (
        cache_dir() / f"owners-{metadata.version('plevin-db-network')}-{metadata.version('plevin')}.parquet"
    )
    try:
        return pq.read_table(cache, schema=OWNER_SCHEMA)
    except (OSError, pa.ArrowInvalid):
        pass
    table = _build_owner_table()
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f".{cache.name}.{os.getpid()}")
        pq.write_table(table, tmp)
        os.replace(tmp, cache)
    except OSError:
        pass  # a read-only home still gets answers, only slower
    return table


def cache_dir() -> Path:
    """Where derived data is kept: $VPCFLOW_CACHE_DIR, else $XDG_CACHE_HOME/vpcflow, else ~/.cache/vpcflow."""
    if os.environ.get("VPCFLOW_CACHE_DIR"):
        return Path(os.environ["VPCFLOW_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vpcflow"


def _build_owner_table() -> pa.Table:
    file = _file()
    sections = file.sections
    pool = sections["strings"]
    asn = _column(sections["col.network.asn"])
    handle_ids = _column(sections["col.network.handle"])
    operator = _column(sections["link.network.operator"])
    company_ids = _column(sections["col.operator.company"])
    vocabulary = np.array([c or None for c in file.head["vocabularies"]["countries"]], dtype=object)

    # Per network row (the link target): its ASN, handle and company, resolved once.
    handles = np.array([pool[int(i)] or None for i in handle_ids], dtype=object)
    companies = np.array([pool[int(i)] or None for i in company_ids], dtype=object)
    network_owner = np.where(operator > 0, companies[np.maximum(operator - 1, 0)], None)

    parts = []
    for family, bits in ((4, 32), (6, 128)):
        starts = _starts(sections[f"spine.v{family}"])
        network = _column(sections[f"spine.v{family}.network"])
        country = _column(sections[f"spine.v{family}.country"])
        linked = network > 0  # link 0: no announced route and no registry holder
        row = np.maximum(network - 1, 0)
        # asn 0 is "no origin AS": unannounced space keeps its registry holder but has no route.
        asn_of = np.where(linked, asn[row], 0)
        starts_hi = (
            np.array([s >> 64 for s in starts], np.uint64) if bits > 64 else np.zeros(len(starts), np.uint64)
        )
        starts_lo = (
            np.array([s & _LOW for s in starts], np.uint64) if bits > 64 else np.array(starts, np.uint64)
        )
        attributes = (vocabulary[country], asn_of, np.where(linked, handles[row], None))
        # Neighbouring blocks with the same answer are one range for the join: fewer rows, same result.
        keep = np.ones(len(starts), bool)
        keep[1:] = np.logical_or.reduce([a[1:] != a[:-1] for a in attributes])
        parts.append(
            pa.table(
                {
                    "family": np.full(len(starts), family, np.uint8),
                    "start_hi": starts_hi,
                    "start_lo": starts_lo,
                    "country": pa.array(attributes[0], pa.string()),
                    "asn": pa.array(asn_of, pa.int64(), mask=asn_of <= 0),
                    "as_name": pa.array(attributes[2], pa.string()),
                    "owner": pa.array(np.where(linked, network_owner[row], None), pa.string()),
                },
                schema=OWNER_SCHEMA,
            ).filter(pa.array(keep))
        )
    return pa.concat_tables(parts)
