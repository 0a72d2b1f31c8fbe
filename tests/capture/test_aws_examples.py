"""AWS's documented flow log record examples (flowlogs.md §9), reproduced by simulating the traffic
they describe and comparing field by field.

Where AWS's example times cannot come from one consistent capture (the ping response of §9.3 starts
67 s after the request it answers; NODATA windows of 58 s), the test says which field it leaves out.
"""

from __future__ import annotations

import pytest

from tests.capture.helpers import C, N, S, Z, eni, flow_log, lines, path, run, seen

ACCOUNT = "123456789010"


def fields(line: str) -> list[str]:
    return line.split()  # AWS's §9.5 example has a double space; records are space-separated fields


def test_accepted_ssh_default_format():
    """§9.1: SSH to eni-1235b8ca123456789 allowed: 20 packets, 4249 bytes, 1418530010-1418530070."""
    server = eni("eni-1235b8ca123456789", "172.31.16.21")
    p = path(6, [seen(server, "ingress", "172.31.16.139", "172.31.16.21", C, S)],
             [seen(server, "egress", "172.31.16.21", "172.31.16.139", S, C, path=1)])  # fmt: skip
    sim = run([server], {("172.31.16.139", "172.31.16.21", 6, 22): p}, {
        "start": 1418529600, "duration": "20m",
        "connections": [{"source": "172.31.16.139", "destination": "172.31.16.21", "port": 22, "source_port": 20641,
                         "start": 410, "duration": 60, "rate": 20 / 60, "bytes": 4249 / 20}],
    }, [flow_log()])  # fmt: skip
    expected = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"
    assert expected in lines(sim.outputs[0])


def test_rejected_rdp_default_format():
    """§9.1: RDP rejected at the interface (its client keeps sending): one REJECT record, no response."""
    server = eni("eni-1235b8ca123456789", "172.31.9.12")
    p = path(6, [seen(server, "ingress", "172.31.9.69", "172.31.9.12", C, S, "REJECT")])
    sim = run([server], {("172.31.9.69", "172.31.9.12", 6, 3389): p}, {
        "start": 1418529600, "duration": "20m",
        "connections": [{"source": "172.31.9.69", "destination": "172.31.9.12", "port": 3389, "source_port": 49761,
                         "start": 410, "duration": 60, "rate": 20 / 60, "bytes": 4249 / 20, "on_reject": "keep"}],
    }, [flow_log()])  # fmt: skip
    records = [r for r in lines(sim.outputs[0]) if not r.endswith("NODATA")]
    assert records == [
        "2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK"
    ]


def test_nodata_and_skipdata():
    """§9.2: NODATA for an idle interface; SKIPDATA standing for the flows over capacity.

    AWS's windows are 58 s long (1431280876-1431280934); ours end one second before the next window
    starts, so `end` is compared to within two seconds.
    """
    idle = eni("eni-1235b8ca123456789", "10.0.0.5", nitro=True)
    busy = eni("eni-11111111aaaaaaaaa", "10.0.0.6", nitro=True)
    paths = {
        (f"198.51.100.{i}", "10.0.0.6", 6, 443): path(
            6, [seen(busy, "ingress", f"198.51.100.{i}", "10.0.0.6", C, S)]
        )
        for i in (1, 2)
    }
    sim = run([idle, busy], paths, {
        "start": 1431280876, "duration": 60, "window_offset": 16, "capacity": 1,
        "connections": [{"source": f"198.51.100.{i}", "destination": "10.0.0.6", "port": 443, "start": 5 + i,
                         "on_reject": "keep"} for i in (1, 2)],
    }, [flow_log(interval=60)])  # fmt: skip
    out = [fields(r) for r in lines(sim.outputs[0])]
    nodata = [r for r in out if r[-1] == "NODATA"]
    skip = [r for r in out if r[-1] == "SKIPDATA"]
    ok = [r for r in out if r[-1] == "OK"]
    aws_nodata = fields("2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA")
    aws_skip = fields("2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA")
    for got, want in ((nodata, aws_nodata), (skip, aws_skip)):
        assert len(got) == 1
        assert got[0][:11] + got[0][12:] == want[:11] + want[12:]
        assert abs(int(got[0][11]) - int(want[11])) <= 2
    assert len(ok) == 1 and ok[0][3] == "198.51.100.1"  # the earliest flow is kept


@pytest.mark.parametrize(
    "outbound_nacl, inbound_sg, expected",
    [
        ("REJECT", "ACCEPT", [("203.0.113.12", "ACCEPT"), ("172.31.16.139", "REJECT")]),
        ("ACCEPT", "ACCEPT", [("203.0.113.12", "ACCEPT"), ("172.31.16.139", "ACCEPT")]),
        (None, "REJECT", [("203.0.113.12", "REJECT")]),
    ],
    ids=["nacl-denies-response", "both-allow", "sg-denies-request"],
)
def test_security_group_and_network_acl(outbound_nacl, inbound_sg, expected):
    """§9.3: ping to 172.31.16.139; a response the NACL denies gives ACCEPT in and REJECT out.

    AWS's REJECT record starts at 1432917094, 67 s after the ping it answers started; a response
    leaves when its request arrives, so our response record starts with the request (1432917027).
    """
    iface = eni("eni-1235b8ca123456789", "172.31.16.139")
    request = [seen(iface, "ingress", "203.0.113.12", "172.31.16.139", Z, Z, inbound_sg)]
    response = (
        [seen(iface, "egress", "172.31.16.139", "203.0.113.12", Z, Z, outbound_nacl, path=8)]
        if outbound_nacl
        else []
    )
    sim = run([iface], {("203.0.113.12", "172.31.16.139", 1, 0): path(1, request, response)}, {
        "start": 1432917000, "duration": "10m",
        "connections": [{"source": "203.0.113.12", "destination": "172.31.16.139", "protocol": "icmp",
                         "start": 27, "duration": 115, "rate": 4 / 115, "bytes": 84}],
    }, [flow_log()])  # fmt: skip
    got = [fields(r) for r in lines(sim.outputs[0])]
    assert [(r[3], r[12]) for r in got] == expected
    request_line = fields(
        "2 123456789010 eni-1235b8ca123456789 203.0.113.12 172.31.16.139 0 0 1 4 336 1432917027 1432917142 ACCEPT OK"
    )
    response_line = fields(
        "2 123456789010 eni-1235b8ca123456789 172.31.16.139 203.0.113.12 0 0 1 4 336 1432917094 1432917142 REJECT OK"
    )
    if inbound_sg == "ACCEPT":
        assert got[0] == request_line
    if outbound_nacl == "REJECT":
        assert got[1][:10] + got[1][11:] == response_line[:10] + response_line[11:]


V3_FORMAT = "version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status"


def _server_paths(server):
    return {("52.213.180.42", "10.0.0.62", 6, 5001): path(
        6, [seen(server, "ingress", "52.213.180.42", "10.0.0.62", C, S)],
        [seen(server, "egress", "10.0.0.62", "52.213.180.42", S, C, path=8)],
    )}  # fmt: skip


def test_tcp_flags_short_connection():
    """§9.5: a connection opened and closed in one interval: SYN|FIN = 3 and SYN-ACK|FIN = 19."""
    server = eni("eni-1235b8ca123456789", "10.0.0.62")
    sim = run([server], _server_paths(server), {
        "start": 1566933000, "duration": "10m",
        "connections": [{"source": "52.213.180.42", "destination": "10.0.0.62", "port": 5001, "source_port": 43638,
                         "start": 133, "duration": 60, "rate": 17 / 60, "bytes": 1260 / 17,
                         "response_rate": 14 / 60, "response_bytes": 967 / 14}],
    }, [flow_log("${" + "} ${".join(V3_FORMAT.split()) + "}")])  # fmt: skip
    assert [fields(r) for r in lines(sim.outputs[0])] == [
        fields("3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 52.213.180.42 10.0.0.62 43638 5001 52.213.180.42 10.0.0.62 6 1260 17 1566933133 1566933193 ACCEPT 3 OK"),
        fields("3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 10.0.0.62 52.213.180.42 5001 43638  10.0.0.62 52.213.180.42 6 967 14 1566933133 1566933193 ACCEPT 19 OK"),
    ]  # fmt: skip


def test_tcp_flags_over_several_windows():
    """§9.5: SYN (2) and SYN-ACK (18) in the first window, nothing but ACKs (0) in between, FIN (1) last."""
    server = eni("eni-1235b8ca123456789", "10.0.0.62", nitro=True)
    sim = run([server], _server_paths(server), {
        "start": 1566848820, "duration": "10m",
        "connections": [{"source": "52.213.180.42", "destination": "10.0.0.62", "port": 5001, "source_port": 43418,
                         "start": 55, "duration": 238, "rate": 5}],
    }, [flow_log("${srcport} ${start} ${end} ${tcp-flags} ${log-status}", interval=600)])  # fmt: skip
    ok = sorted((r for r in map(fields, lines(sim.outputs[0])) if r[-1] == "OK"), key=lambda r: (r[0], int(r[1])))
    flags = [(r[0], r[3]) for r in ok]
    assert flags == [("43418", "2"), ("43418", "0"), ("43418", "0"), ("43418", "0"), ("43418", "1"),
                     ("5001", "18"), ("5001", "0"), ("5001", "0"), ("5001", "0"), ("5001", "1")]  # fmt: skip


def test_nat_gateway_records():
    """§9.6: the NAT gateway interface's four records and the instance's two, with pkt-* addresses."""
    nat = eni("eni-1235b8ca123456789", "10.0.0.220", instance=None, kind="nat-gateway")
    inst = eni("eni-1111aaaa2222bbbb3", "10.0.1.5")
    p = path(6, [
        seen(inst, "egress", "10.0.1.5", "203.0.113.5", C, S, path=1),
        seen(nat, "ingress", "10.0.1.5", "10.0.0.220", C, S, pdst="203.0.113.5"),
        seen(nat, "egress", "10.0.0.220", "203.0.113.5", N, S, path=2),
    ], [
        seen(nat, "ingress", "203.0.113.5", "10.0.0.220", S, N),
        seen(nat, "egress", "10.0.0.220", "10.0.1.5", S, C, psrc="203.0.113.5", path=1),
        seen(inst, "ingress", "203.0.113.5", "10.0.1.5", S, C),
    ])  # fmt: skip
    sim = run([nat, inst], {("10.0.1.5", "203.0.113.5", 6, 443): p}, {
        "start": 1700000000, "duration": 60,
        "connections": [{"source": "10.0.1.5", "destination": "203.0.113.5", "port": 443, "start": 1, "duration": 5}],
    }, [flow_log("${instance-id} ${interface-id} ${srcaddr} ${dstaddr} ${pkt-srcaddr} ${pkt-dstaddr}")])  # fmt: skip
    assert sorted(lines(sim.outputs[0])) == sorted([
        "- eni-1235b8ca123456789 10.0.1.5 10.0.0.220 10.0.1.5 203.0.113.5",
        "- eni-1235b8ca123456789 10.0.0.220 203.0.113.5 10.0.0.220 203.0.113.5",
        "- eni-1235b8ca123456789 203.0.113.5 10.0.0.220 203.0.113.5 10.0.0.220",
        "- eni-1235b8ca123456789 10.0.0.220 10.0.1.5 203.0.113.5 10.0.1.5",
        "i-01234567890123456 eni-1111aaaa2222bbbb3 10.0.1.5 203.0.113.5 10.0.1.5 203.0.113.5",
        "i-01234567890123456 eni-1111aaaa2222bbbb3 203.0.113.5 10.0.1.5 203.0.113.5 10.0.1.5",
    ])  # fmt: skip


V5_FORMAT = "version srcaddr dstaddr srcport dstport protocol start end type packets bytes account-id vpc-id subnet-id instance-id interface-id region az-id sublocation-type sublocation-id action tcp-flags pkt-srcaddr pkt-dstaddr pkt-src-aws-service pkt-dst-aws-service traffic-path flow-direction log-status"


def test_service_traffic_version_5():
    """§9.8: an instance calls S3 through an internet gateway: service names, traffic-path 8, direction."""
    inst = eni("eni-1235b8ca123456789", "10.0.0.71", account="123456789012", instance="i-0c50d5961bcb2d47b",
               region="ap-southeast-2", az="apse2-az3", nitro=True)  # fmt: skip
    p = path(6, [seen(inst, "egress", "10.0.0.71", "52.95.128.179", C, S, path=8)],
             [seen(inst, "ingress", "52.95.128.179", "10.0.0.71", S, C)])  # fmt: skip
    sim = run([inst], {("10.0.0.71", "52.95.128.179", 6, 80): p}, {
        "start": 1616729292, "duration": 58, "window_offset": 12,
        "connections": [{"source": "10.0.0.71", "destination": "52.95.128.179", "port": 80, "source_port": 34210,
                         "duration": 57, "rate": 7 / 57, "bytes": 471 / 7, "response_rate": 14 / 57,
                         "response_bytes": 15044 / 14}],
    }, [flow_log("${" + "} ${".join(V5_FORMAT.split()) + "}", interval=60)])  # fmt: skip
    assert sorted(lines(sim.outputs[0])) == sorted([
        "5 52.95.128.179 10.0.0.71 80 34210 6 1616729292 1616729349 IPv4 14 15044 123456789012 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-0c50d5961bcb2d47b eni-1235b8ca123456789 ap-southeast-2 apse2-az3 - - ACCEPT 19 52.95.128.179 10.0.0.71 S3 - - ingress OK",
        "5 10.0.0.71 52.95.128.179 34210 80 6 1616729292 1616729349 IPv4 7 471 123456789012 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-0c50d5961bcb2d47b eni-1235b8ca123456789 ap-southeast-2 apse2-az3 - - ACCEPT 3 10.0.0.71 52.95.128.179 - S3 8 egress OK",
    ])  # fmt: skip
