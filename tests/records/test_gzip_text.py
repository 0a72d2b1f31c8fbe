"""GzipText: a gzip file's text, member after member, every byte before any damage."""

import gzip
import io

import pytest

from vpcflow.records import gzip_text
from vpcflow.records.gzip_text import TRUNCATION, GzipText, Recovering, skip


def read_all(stream) -> tuple[bytes, BaseException | None]:
    out = bytearray()
    buffer = bytearray(1000)
    try:
        while read := stream.readinto(buffer):
            out += buffer[:read]
    except TRUNCATION as exc:
        return bytes(out), exc
    return bytes(out), None


def test_members_and_zero_padding_between_them_as_gzip_reads_them(monkeypatch):
    monkeypatch.setattr(gzip_text, "PIECE", 7)  # members and padding cut across pieces
    data = gzip.compress(b"first\n") + bytes(5) + gzip.compress(b"second\n") + gzip.compress(b"") + bytes(3)
    assert gzip.decompress(data) == b"first\nsecond\n"
    assert read_all(GzipText(io.BytesIO(data))) == (b"first\nsecond\n", None)


@pytest.mark.parametrize("cut", [10, 25, 40, -9, -1])
def test_a_cut_off_file_gives_every_byte_zlib_can_then_raises_again(cut):
    text = b"".join(b"line %05d\n" % i for i in range(2000))
    data = gzip.compress(text)[:cut]
    stream = GzipText(io.BytesIO(data))
    got, error = read_all(stream)
    assert isinstance(error, EOFError | gzip_text.isal_zlib.error)
    assert text.startswith(got)
    import zlib

    assert len(got) >= len(zlib.decompressobj(31).decompress(data))  # all that zlib gives
    with pytest.raises(TRUNCATION):
        stream.readinto(bytearray(10))  # the error again, for whoever reads next


def test_garbage_after_a_member_is_an_error_after_its_text():
    got, error = read_all(GzipText(io.BytesIO(gzip.compress(b"ok\n") + b"not gzip")))
    assert got == b"ok\n" and error is not None


def test_recovering_takes_over_where_the_fast_reader_failed(tmp_path):
    text = b"".join(b"line %05d\n" % i for i in range(50_000))
    data = gzip.compress(text)
    path = tmp_path / "cut.gz"
    path.write_bytes(data[: len(data) // 2])

    class Failing(io.RawIOBase):  # gives 100,000 good bytes, then fails as a chunked reader does
        def __init__(self):
            self.left = 100_000

        def readinto(self, buffer):
            if self.left <= 0:
                raise EOFError("cut off")
            count = min(len(buffer), self.left, 30_000)
            buffer[:count] = text[100_000 - self.left : 100_000 - self.left + count]
            self.left -= count
            return count

    got, error = read_all(Recovering(Failing(), str(path)))
    expected, _ = read_all(GzipText(open(path, "rb"), salvage=True))  # noqa: SIM115
    assert got == expected and len(got) > 100_000 and isinstance(error, EOFError)
    fast, _ = read_all(GzipText(open(path, "rb")))  # noqa: SIM115 - ISA-L's, without salvage
    assert got.startswith(fast)  # the salvage pass gives at least as much


def test_skip_stops_at_the_end():
    stream = GzipText(io.BytesIO(gzip.compress(b"abc")))
    skip(stream, 10)
    assert stream.readinto(bytearray(5)) == 0
