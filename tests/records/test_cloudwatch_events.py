"""CloudWatch Logs event lines ({"timestamp", "ingestionTime", "message"} a line) read like records."""

import json

import pytest

from vpcflow.errors import RecordError
from vpcflow.records.badrecords import ReadStats
from vpcflow.records.detect import Kind
from vpcflow.records.reader import open_flow_log, read_table

GOOD = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"
REJECT = "2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK"


def _event(message, ts=1418530070000):
    return json.dumps({"timestamp": ts, "ingestionTime": ts + 360_000, "message": message})


def _file(tmp_path, lines):
    path = tmp_path / "eni-1235b8ca123456789-all.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_detected_and_read_with_the_default_format(tmp_path):
    path = _file(tmp_path, [_event(GOOD), _event(REJECT)])
    assert open_flow_log(path).kind is Kind.cloudwatch_events
    table = read_table(path)
    assert table.column("action").to_pylist() == ["ACCEPT", "REJECT"]
    assert table.column("dstport").to_pylist() == [22, 3389]


def test_custom_format(tmp_path):
    path = _file(tmp_path, [_event("eni-1 10.0.0.1 443 ACCEPT")])
    table = read_table(path, log_format="${interface-id} ${srcaddr} ${dstport} ${action}")
    assert table.to_pylist() == [{"interface_id": "eni-1", "srcaddr": "10.0.0.1", "dstport": 443, "action": "ACCEPT"}]


@pytest.mark.parametrize(
    "bad",
    ['{"timestamp": 1, "message": ', "not json at all", _event("2 123 eni-x 1.2.3.4 5.6.7.8 1 2 6 x 1 1 2 ACCEPT OK")],
    ids=["truncated-json", "not-json", "bad-record"],
)
def test_a_bad_line_is_named_and_the_events_around_it_kept(tmp_path, bad):
    path = _file(tmp_path, [_event(GOOD), bad, _event(REJECT)])
    stats = ReadStats()
    table = read_table(path, on_error="skip", stats=stats)
    assert table.column("action").to_pylist() == ["ACCEPT", "REJECT"]
    assert stats.good == 2 and stats.bad == 1
    with pytest.raises(RecordError) as info:
        read_table(path, on_error="fail")
    assert info.value.line == 2 and path.name in str(info.value)


def test_line_numbers_count_blank_lines(tmp_path):
    path = _file(tmp_path, [_event(GOOD), "", _event("2 123 eni-x 1.2.3.4 5.6.7.8 1 2 6 x 1 1 2 ACCEPT OK")])
    with pytest.raises(RecordError) as info:
        read_table(path, on_error="fail")
    assert info.value.line == 3


def test_what_simulate_writes_reads_back_whole(tmp_path):
    events = [_event(GOOD, ts=1418530070000 + i) for i in range(120_000)]
    path = _file(tmp_path, events)
    table = read_table(path)
    assert table.num_rows == 120_000 and set(table.column("srcport").to_pylist()) == {20641}


class _Counted:
    """A stream that counts the bytes read from it."""

    def __init__(self, data: bytes):
        import io

        self._io, self.read_bytes = io.BytesIO(data), 0
        self.name = "<stream>"

    def read(self, n=-1):
        data = self._io.read(n)
        self.read_bytes += len(data)
        return data

    def readinto(self, buffer):
        n = self._io.readinto(buffer)
        self.read_bytes += n
        return n

    def close(self):
        pass


def _first_batch_after(stream) -> tuple[int, int]:
    """(bytes read when the first batch came, records in all)."""
    from vpcflow.records.reader import read_batches

    batches = read_batches(stream)
    first = next(batches)
    at = stream.read_bytes
    return at, first.num_rows + sum(b.num_rows for b in batches)


RECORD = "2 123456789010 eni-1 10.0.0.1 10.0.0.2 1000 443 6 1 40 1418530010 1418530070 ACCEPT OK"


def test_a_stream_of_subscription_payloads_is_read_a_payload_at_a_time(monkeypatch):
    """Concatenated payloads from a stream are decoded a chunk at a time, not held whole."""
    from vpcflow.records import cwlogs

    monkeypatch.setattr(cwlogs, "EVENTS_PER_BLOCK", 5000)  # a few blocks in flight: a few MB
    events = [{"id": str(i), "timestamp": 0, "message": RECORD} for i in range(1000)]
    payload = json.dumps({"messageType": "DATA_MESSAGE", "logEvents": events}).encode()
    data = payload * 300  # ~30 MB
    stream = _Counted(data)
    at, records = _first_batch_after(stream)
    assert records == 300_000
    assert at < len(data) // 4, f"{at} of {len(data)} bytes read before the first batch"


def test_a_stream_of_event_lines_is_read_a_block_at_a_time(monkeypatch):
    from vpcflow.records import reader

    monkeypatch.setattr(reader, "BLOCK_BYTES", 1 << 20)
    line = json.dumps({"timestamp": 0, "ingestionTime": 0, "message": RECORD}).encode() + b"\n"
    data = line * 300_000  # ~36 MB
    data = data.replace(line, b"not an event\n", 1)  # line 1: a bad line, the rest kept
    stream = _Counted(data)
    stats = ReadStats()
    table = read_table(stream, on_error="skip", stats=stats)
    assert table.num_rows == 299_999 and stats.bad == 1 and stats.errors[0].line == 1
    stream = _Counted(data.replace(b"not an event\n", line, 1))
    at, records = _first_batch_after(stream)
    assert records == 300_000 and at < len(data) // 4
