"""The Spark engine: the lake's Parquet (a local folder, or `s3a://bucket/prefix`) as the same tables as
on DuckDB, for SQL that has outgrown one machine.

    engine = SparkEngine("lake/", master="local[*]")      # or spark://host:7077, yarn, k8s://...
    run_sql(engine, "SELECT ... FROM vpc_flow_logs")        # Athena SQL, translated to Spark SQL

Tables are temporary views with the columns, types and order of `vpcflow.query.tables` (the DuckDB
views): record columns, then `date` (DATE), `year`, `month`, `day`, `hour` (strings; NULL in daily
partitions), `aws_account_id`, `aws_region`; `test_table_vpclogs` with `region` and `day` as
`yyyy/MM/dd`; `tgw_flow_logs` when the lake has one. Each is a union of the daily and the hourly
partitions (Spark's partition discovery refuses leaves at two depths), read with an explicit schema
so that Spark infers nothing: `month=01` stays the string '01', and a file that lacks a column of a
later format version reads it as NULL.

Each engine works in a session of its own (`newSession()` of the given or active one: tests share
one SparkContext) with `SESSION_SQL_CONF`: time zone UTC (Athena's session zone), partition type
inference off, partition folders listed on the driver.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pyarrow as pa

from vpcflow.errors import QueryError
from vpcflow.query.tables import LAKE_TABLES, PROJECTION_COLUMNS, PROJECTION_TABLE

INSTALL_HINT = "the Spark engine needs PySpark: pip install 'vpcflow[spark]' (and Java 17 or later)"
_PARTITIONS = ("aws_account_id", "aws_region", "year", "month", "day")
DAILY = "aws_account_id=*/aws_region=*/year=*/month=*/day=*/part-*.parquet"
HOURLY = "aws_account_id=*/aws_region=*/year=*/month=*/day=*/hour=*/part-*.parquet"


SESSION_SQL_CONF = {
    "spark.sql.session.timeZone": "UTC",  # Athena's session zone: from_unixtime, date_format
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",  # month=01 stays '01'
    # List a lake's partition folders on the driver: a distributed listing job per read costs
    # seconds locally (on a cluster with very many partitions a lower value may list faster).
    "spark.sql.sources.parallelPartitionDiscovery.threshold": "100000",
}


def _pyspark():
    try:
        import pyspark.sql
        from pyspark.sql import types
    except ImportError:
        raise QueryError(INSTALL_HINT) from None
    return pyspark.sql, types


def session(master: str = "local[*]", *, app_name: str = "vpcflow", conf: dict[str, str] | None = None):
    """A SparkSession (the active one if there is one) with the settings vpcflow's answers rely on."""
    sql, _ = _pyspark()
    builder = (
        sql.SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.showConsoleProgress", "false")
    )
    for key, value in SESSION_SQL_CONF.items():
        builder = builder.config(key, value)
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # Py4J/JVM start-up failures have no common base class
        raise QueryError(f"Spark did not start (master {master}): {exc}; {INSTALL_HINT}") from None
    spark.sparkContext.setLogLevel("ERROR")
    # PySpark logs every failed statement with its JVM stack; the QueryError says it in one line.
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    return spark


def _join(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *parts])


class SparkEngine:
    """A Spark session over a lake: the lake's tables as temporary views, Athena SQL in, Arrow out."""

    name = "spark"
    dialect = "spark"

    def __init__(self, lake: str | os.PathLike, *, master: str = "local[*]", spark=None):
        self.root = str(lake)
        if "://" not in self.root:
            if not os.path.isdir(self.root):
                raise QueryError(
                    f"{self.root}: no such lake folder; run `vpcflow ingest SRC --lake {self.root}` first"
                )
            self.root = os.path.abspath(self.root)
        # A session of its own (same SparkContext): temporary views and settings are per session, so
        # two engines on one context (tests, a long-lived process) never see or drop each other's views.
        self.spark = (spark if spark is not None else session(master)).newSession()
        for key, value in SESSION_SQL_CONF.items():
            self.spark.conf.set(key, value)
        self._views: list[str] = []
        self.refresh()

    def refresh(self) -> None:
        """(Re)define the views from the partitions present now."""
        _, types = _pyspark()
        for spec in LAKE_TABLES:
            folder = _join(self.root, spec.folder)
            data = types.StructType(
                [types.StructField(f.name, _spark_type(types, f.type)) for f in spec.schema]
            )
            columns = [f"`{n}`" for n in spec.schema.names]
            base = columns + [
                "CAST(concat(year, '-', month, '-', day) AS DATE) AS `date`",
                "year",
                "month",
                "day",
            ]
            branches = []
            for pattern, hourly in ((DAILY, False), (HOURLY, True)):
                frame = self._read(folder, pattern, data, hourly)
                if frame is None:
                    continue
                hour = "hour" if hourly else "CAST(NULL AS STRING) AS hour"
                branches.append(frame.selectExpr(*base, hour, "aws_account_id", "aws_region"))
            if not branches:
                if spec.name != "vpc_flow_logs":
                    continue
                empty = self.spark.createDataFrame([], data.add("aws_account_id", types.StringType())
                                                   .add("aws_region", types.StringType())
                                                   .add("year", types.StringType()).add("month", types.StringType())
                                                   .add("day", types.StringType()))  # fmt: skip
                branches = [
                    empty.selectExpr(*base, "CAST(NULL AS STRING) AS hour", "aws_account_id", "aws_region")
                ]
            frame = branches[0]
            for other in branches[1:]:
                frame = frame.unionByName(other)
            frame.createOrReplaceTempView(spec.name)
            self._views.append(spec.name)
            if spec.name == "vpc_flow_logs":
                projection = [f"`{c}`" for c in PROJECTION_COLUMNS]
                projection += ["aws_region AS region", "concat(year, '/', month, '/', day) AS day"]
                frame.selectExpr(*projection).createOrReplaceTempView(PROJECTION_TABLE)
                self._views.append(PROJECTION_TABLE)

    def _read(self, folder: str, pattern: str, data, hourly: bool):
        _, types = _pyspark()
        keys = _PARTITIONS + (("hour",) if hourly else ())
        schema = types.StructType(
            list(data.fields) + [types.StructField(k, types.StringType()) for k in keys]
        )
        try:
            return self.spark.read.schema(schema).option("basePath", folder).parquet(_join(folder, pattern))
        except Exception as exc:  # AnalysisException: no file matches this partition depth
            if "PATH_NOT_FOUND" in str(exc) or "Path does not exist" in str(exc):
                return None
            raise QueryError(f"Spark could not read {folder}: {exc}") from None

    def tables(self) -> list[str]:
        return sorted(set(self._views))

    def query(self, sql: str) -> pa.Table:
        """Run one Spark SQL statement and return all of its rows as Arrow."""
        try:
            return _to_arrow(self.spark.sql(sql))
        except QueryError:
            raise
        except Exception as exc:  # pyspark.errors.PySparkException and Py4J errors
            raise QueryError(f"Spark: {_first_line(exc)}") from None

    def batches(self, sql: str) -> Iterator[pa.RecordBatch]:
        yield from self.query(sql).to_batches()

    def close(self) -> None:
        # The session stays up: starting one costs seconds, and a caller that made it may reuse it.
        for name in self._views:
            self.spark.catalog.dropTempView(name)
        self._views = []

    def stop(self) -> None:
        self.close()
        self.spark.stop()

    def __enter__(self) -> SparkEngine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _spark_type(types, arrow_type: pa.DataType):
    if arrow_type == pa.int32():
        return types.IntegerType()
    if arrow_type == pa.int64():
        return types.LongType()
    if arrow_type == pa.string():
        return types.StringType()
    raise QueryError(f"no Spark type for the lake column type {arrow_type}")


def _to_arrow(frame) -> pa.Table:
    table = frame.toArrow()
    # Spark marks some computed columns NOT NULL; DuckDB never does. Same values, same schema.
    fields = [f.with_nullable(True) for f in table.schema]
    return (
        table.cast(pa.schema(fields, metadata=None)) if any(not f.nullable for f in table.schema) else table
    )


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
