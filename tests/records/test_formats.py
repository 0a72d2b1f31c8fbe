import pytest

from vpcflow.errors import FormatError
from vpcflow.records.catalog import ATHENA_COLUMNS, VPC_FIELDS, lookup
from vpcflow.records.formats import ATHENA_V5_FORMAT, DEFAULT_FORMAT, TGW_DEFAULT_FORMAT, LogFormat

# AWS's Athena DDL (flowlogs.md §7.2), column and type, in order.
AWS_ATHENA_DDL = """version int, account_id string, interface_id string, srcaddr string, dstaddr string,
srcport int, dstport int, protocol bigint, packets bigint, bytes bigint, start bigint, end bigint,
action string, log_status string, vpc_id string, subnet_id string, instance_id string, tcp_flags int,
type string, pkt_srcaddr string, pkt_dstaddr string, region string, az_id string, sublocation_type string,
sublocation_id string, pkt_src_aws_service string, pkt_dst_aws_service string, flow_direction string,
traffic_path int"""


def test_catalog_matches_aws_athena_ddl():
    documented = [tuple(c.split()) for c in AWS_ATHENA_DDL.replace("\n", " ").split(",")]
    ours = [(f.column, f.athena_type) for f in VPC_FIELDS if f.in_athena_ddl]
    assert ours == documented
    assert list(ATHENA_COLUMNS) == [c for c, _ in documented]


def test_catalog_versions_and_parquet_types_match_the_docs():
    by = {f.token: f for f in VPC_FIELDS}
    assert [f.token for f in VPC_FIELDS if f.version == 2] == DEFAULT_FORMAT.replace("${", "").replace("}", "").split()
    assert {t for t, f in by.items() if f.version == 3} == {"vpc-id", "subnet-id", "instance-id", "tcp-flags", "type", "pkt-srcaddr", "pkt-dstaddr"}
    assert {t for t, f in by.items() if f.version == 4} == {"region", "az-id", "sublocation-type", "sublocation-id"}
    assert {t for t, f in by.items() if f.version == 5} == {"pkt-src-aws-service", "pkt-dst-aws-service", "flow-direction", "traffic-path"}
    assert len([f for f in VPC_FIELDS if f.version == 7]) == 10
    int32 = {"version", "srcport", "dstport", "protocol", "tcp-flags", "traffic-path"}
    int64 = {"packets", "bytes", "start", "end"}
    for f in VPC_FIELDS[:39]:
        expected = "INT_32" if f.token in int32 else "INT_64" if f.token in int64 else "STRING"
        assert f.parquet_type == expected, f.token


def test_default_format_is_version_2():
    fmt = LogFormat.default()
    assert fmt.version == 2 and len(fmt) == 14 and fmt.header.startswith("version account-id interface-id")


@pytest.mark.parametrize(
    "text, version",
    [
        ("${version} ${vpc-id} ${srcaddr}", 3),
        ("${srcaddr} ${dstaddr}", 2),
        ("${version} ${region} ${vpc-id}", 4),
        (ATHENA_V5_FORMAT, 5),
        ("${ecs-task-id} ${srcaddr}", 7),
        ("${reject-reason}", 8),
        ("${encryption-status} ${srcaddr}", 10),
        (TGW_DEFAULT_FORMAT, 6),
    ],
)
def test_version_is_the_highest_among_the_fields(text, version):
    assert LogFormat.parse(text).version == version


def test_header_and_format_string_forms_are_the_same_format():
    assert LogFormat.parse("version srcaddr log-status") == LogFormat.parse("${version} ${srcaddr} ${log-status}")


@pytest.mark.parametrize(
    "text, message",
    [
        ("${version} ${srcadr}", "unknown field 'srcadr'; did you mean 'srcaddr'"),
        ("${version} ${log_status}", "did you mean 'log-status'"),
        ("${bogus}", "`vpcflow fields` lists them"),
        ("", "at least one field"),
        ("${srcaddr} ${srcaddr}", "appears twice"),
        ("${version} srcaddr", "'srcaddr' is not a field"),
        ("${tgw-id} ${interface-id}", "mixes Transit Gateway field"),
    ],
)
def test_bad_formats_name_the_problem(text, message):
    with pytest.raises(FormatError, match=message.replace("(", r"\(").replace("$", r"\$")):
        LogFormat.parse(text)


def test_lookup_by_token_column_or_format_token():
    assert lookup("log-status") is lookup("log_status") is lookup("${log-status}")
    assert lookup("nope") is None


def test_schema_types_follow_athena():
    schema = LogFormat.parse(ATHENA_V5_FORMAT).schema
    assert str(schema.field("protocol").type) == "int64"
    assert str(schema.field("traffic_path").type) == "int32"
