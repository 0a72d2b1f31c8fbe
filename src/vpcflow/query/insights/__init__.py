"""CloudWatch Logs Insights over the lake: a tokenizer and recursive-descent parser (`syntax`), a
compiler to DuckDB SQL (`compiler`), and the functions it knows (`functions`)."""

from __future__ import annotations

from vpcflow.query.insights.compiler import compile_insights

__all__ = ["compile_insights"]
