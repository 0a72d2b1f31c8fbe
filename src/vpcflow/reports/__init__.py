"""vpcflow.reports: answers over a lake - who is knocking, what it costs, and why it was rejected.

REPORTS                      name -> module (rejects, scanners, top-talkers, services,
                             nat-savings, explain, sg-suggest)
run_report(name, source, options) -> Result
open_lake(dir) -> Source     the lake's `vpc_flow_logs` relation on DuckDB
Options, Period, Result      what a report takes and gives
enrich                       country / owner / AWS service of addresses (vectorised joins)
"""

from __future__ import annotations

import importlib

from vpcflow.reports.base import Options, ReportError, Result
from vpcflow.reports.source import Period, Source, open_lake, parse_time

REPORTS = {
    "rejects": "rejects",
    "scanners": "scanners",
    "top-talkers": "top_talkers",
    "services": "services",
    "nat-savings": "nat_savings",
    "explain": "explain",
    "sg-suggest": "sg_suggest",
}

__all__ = [
    "REPORTS",
    "Options",
    "Period",
    "Result",
    "Source",
    "module",
    "open_lake",
    "parse_time",
    "run_report",
]


def module(name: str):
    if name not in REPORTS:
        raise ReportError(f"no report {name!r}; choose one of: {', '.join(REPORTS)}")
    return importlib.import_module(f"vpcflow.reports.{REPORTS[name]}")


def run_report(name: str, source: Source, options: Options) -> Result:
    return module(name).run(source, options)
