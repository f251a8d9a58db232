"""The frame reader: TFRecord framing without TensorFlow, reading on past damage."""

import os
import struct

import numpy as np
import pytest

from lr_plugin.format import reader
from lr_plugin.format import records
from lr_plugin.format import writer as writer_lib


def write_chunks(run_dir, chunks=5, steps=10):
    run_writer = writer_lib.open_run_writer(run_dir)
    for chunk in range(chunks):
        run_writer.add_rates("SGD", range(chunk * steps, (chunk + 1) * steps),
                             [0.1 * (chunk + 1)] * steps)
        run_writer.flush(step=(chunk + 1) * steps)
    run_writer.close()
    (name,) = [f for f in os.listdir(run_dir) if "tfevents" in f]
    return run_dir / name


def frame_offsets(path):
    return [offset for offset, _, _ in records.read_frames(str(path))]


def read_steps(logdir):
    return reader.read_timelines(str(logdir))["run"]["learning_rate"]["SGD"][0].tolist()


def test_frames_round_trip_with_tensorboard_checksums(tmp_path):
    path = write_chunks(tmp_path / "run")
    data = path.read_bytes()
    frames = list(records.read_frames(str(path)))
    assert all(intact for _, _, intact in frames)
    assert b"".join(records.frame(body) for _, body, _ in frames) == data


def test_the_pure_python_checksum_equals_the_compiled_one():
    payloads = [b"", b"a", b"123456789", bytes(range(256)) * 3]
    assert records._crc32c_python(b"123456789") == 0xE3069283  # the CRC32C check value
    assert [records._crc32c_python(p) for p in payloads] == [records.crc32c(p) for p in payloads]


def test_a_damaged_length_skips_one_record_and_reports_the_bytes(tmp_path):
    path = write_chunks(tmp_path / "run")
    offsets = frame_offsets(path)
    data = bytearray(path.read_bytes())
    data[offsets[3]] ^= 0x40  # the length of the third rate chunk (after the file version)
    path.write_bytes(bytes(data))
    damage = []
    assert len(list(records.read_frames(str(path), damage))) == len(offsets) - 1
    assert damage == [records.Damage(offsets[3], offsets[4] - offsets[3],
                                     "record length fails its checksum")]
    with pytest.warns(reader.DamagedEventFileWarning,
                      match=f"after byte {offsets[3]}: skipped {offsets[4] - offsets[3]} bytes"):
        assert read_steps(tmp_path) == list(range(20)) + list(range(30, 50))


def test_inserted_garbage_is_skipped_and_the_rest_read(tmp_path):
    path = write_chunks(tmp_path / "run")
    offsets = frame_offsets(path)
    data = path.read_bytes()
    garbage = bytes(np.random.default_rng(3).integers(0, 256, 777, dtype=np.uint8))
    path.write_bytes(data[:offsets[2]] + garbage + data[offsets[2]:])
    with pytest.warns(reader.DamagedEventFileWarning, match="skipped 777 bytes"):
        assert read_steps(tmp_path) == list(range(50))


def test_a_flipped_data_byte_that_still_parses_is_kept_with_a_warning(tmp_path):
    path = write_chunks(tmp_path / "run")
    offsets = frame_offsets(path)
    data = bytearray(path.read_bytes())
    # Byte 5 of the Event is inside its wall_time: the record still parses.
    data[offsets[2] + records.HEADER_BYTES + 5] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.warns(reader.DamagedEventFileWarning, match="fails its checksum but still reads"):
        assert read_steps(tmp_path) == list(range(50))


def test_a_truncated_last_record_is_reported(tmp_path):
    path = write_chunks(tmp_path / "run")
    data = path.read_bytes()
    path.write_bytes(data[:-7])
    with pytest.warns(reader.DamagedEventFileWarning, match="runs past the end of the file"):
        assert read_steps(tmp_path) == list(range(40))


def test_a_huge_length_with_a_valid_checksum_allocates_nothing(tmp_path):
    path = write_chunks(tmp_path / "run")
    header = struct.pack("<Q", 10**15)
    bogus = header + struct.pack("<I", records.masked_crc32c(header))
    data = path.read_bytes()
    path.write_bytes(data + bogus + b"\x00" * 64)
    damage = []
    list(records.read_frames(str(path), damage))
    assert damage == [records.Damage(len(data), len(bogus) + 64,
                                     f"record of {10**15} bytes runs past the end of the file "
                                     "(truncated)")]


def test_every_single_byte_flip_keeps_every_other_record(tmp_path):
    path = write_chunks(tmp_path / "run", chunks=3, steps=4)
    data = path.read_bytes()
    offsets = frame_offsets(path) + [len(data)]
    for position in range(offsets[1], len(data)):
        flipped = bytearray(data)
        flipped[position] ^= 0xFF
        path.write_bytes(bytes(flipped))
        damaged = max(i for i, o in enumerate(offsets) if o <= position) - 1  # chunk index
        with pytest.warns(reader.DamagedEventFileWarning):
            steps = read_steps(tmp_path)
        expected = [s for s in range(12) if s // 4 != damaged]
        assert set(expected) <= set(steps), position


def test_without_google_crc32c_the_pure_python_checksum_reads_the_same(tmp_path, monkeypatch):
    path = write_chunks(tmp_path / "run", chunks=2)
    compiled = list(records.read_frames(str(path)))
    monkeypatch.setattr(records, "_google_crc32c", None)
    assert list(records.read_frames(str(path))) == compiled
