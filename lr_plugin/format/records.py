"""Reads the record frames of an event file, without TensorFlow, past damage.

An event file is a sequence of TFRecord frames::

    uint64 length (little endian) | uint32 masked CRC32C of those 8 bytes
    | data (length bytes)         | uint32 masked CRC32C of the data

``read_frames`` yields the data of every frame, saying whether its data
checksum holds. Where no frame starts (a damaged length, inserted garbage) it
looks for the next offset where a whole valid frame starts and goes on from
there, so one flipped byte costs at most one record, not the rest of the file;
what it skipped is reported in ``Damage`` entries. A frame's length
is trusted only when its checksum holds and the bytes are present, so a
damaged length never makes the reader allocate more than the file holds.

The checksum is ``google_crc32c`` (compiled) when installed, else a pure-Python
table, which is correct but about 100 times slower.
"""

import collections
import os
import struct

try:
    import google_crc32c as _google_crc32c
except ImportError:  # the pure-Python fallback below
    _google_crc32c = None

HEADER_BYTES = 12  # length + its checksum
FOOTER_BYTES = 4  # checksum of the data
_MASK_DELTA = 0xA282EAD8
_SCAN_BLOCK = 1 << 20  # bytes searched at a time for the next valid frame

Damage = collections.namedtuple("Damage", "offset skipped reason")
"""Bytes ``[offset, offset + skipped)`` of a file were not a valid frame: ``reason`` says why."""


def _table():
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
        table.append(crc)
    return table


_TABLE = None


def _crc32c_python(data):
    global _TABLE
    if _TABLE is None:
        _TABLE = _table()
    crc = 0xFFFFFFFF
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def crc32c(data):
    """CRC32C (Castagnoli) of ``data``."""
    if _google_crc32c is not None:
        return _google_crc32c.value(bytes(data))
    return _crc32c_python(data)


def masked_crc32c(data):
    """The checksum TFRecord frames store: CRC32C rotated and offset."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def frame(data):
    """The TFRecord frame of ``data`` (used by tests that build damaged files)."""
    header = struct.pack("<Q", len(data))
    return (header + struct.pack("<I", masked_crc32c(header)) + data
            + struct.pack("<I", masked_crc32c(data)))


def read_frames(path, damage=None, start=0):
    """Yields ``(offset, data, intact)`` for each frame of the file at ``path``.

    ``intact`` is False for a frame whose length checksum holds but whose data
    checksum fails: TensorBoard's fast loader keeps such a record, so the
    caller decides (its bytes may be damaged). Stretches of bytes that hold no
    frame at all are skipped.

    Args:
        path: an event file.
        damage: a list to which a ``Damage`` is appended for every stretch of
            bytes that held no frame (a corrupt length, a truncated record,
            inserted garbage).
        start: the byte offset to start at.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        offset = start
        while offset < size:
            data, reason, length = _frame_at(handle, offset, size)
            if length is not None:
                yield offset, data, reason is None
                offset += HEADER_BYTES + length + FOOTER_BYTES
                continue
            following = _next_frame(handle, offset + 1, size)
            if damage is not None:
                damage.append(Damage(offset, following - offset, reason))
            offset = following


def read_frame(path, offset):
    """The data of the valid frame at ``offset`` of ``path`` (a second pass over a file)."""
    with open(path, "rb") as handle:
        data, reason, _ = _frame_at(handle, offset, os.path.getsize(path))
    if reason is not None and data is None:
        raise OSError(f"{path}: no valid record at byte {offset} any more ({reason}).")
    return data


def _frame_at(handle, offset, size):
    """``(data, None, length)`` when a valid frame starts at ``offset``;
    ``(data, reason, length)`` when only its data checksum fails; else
    ``(None, reason, None)``."""
    handle.seek(offset)
    header = handle.read(HEADER_BYTES)
    if len(header) < HEADER_BYTES:
        return None, "truncated record header", None
    (length,) = struct.unpack_from("<Q", header)
    (length_crc,) = struct.unpack_from("<I", header, 8)
    if masked_crc32c(header[:8]) != length_crc:
        return None, "record length fails its checksum", None
    if offset + HEADER_BYTES + length + FOOTER_BYTES > size:
        return None, f"record of {length} bytes runs past the end of the file (truncated)", None
    body = handle.read(length + FOOTER_BYTES)
    data = body[:length]
    (data_crc,) = struct.unpack_from("<I", body, length)
    if masked_crc32c(data) != data_crc:
        return data, "record data fails its checksum", length
    return data, None, length


def _next_frame(handle, offset, size):
    """The first offset >= ``offset`` where a valid frame starts, or ``size``."""
    while offset < size:
        handle.seek(offset)
        block = handle.read(_SCAN_BLOCK + HEADER_BYTES)
        for index in range(max(0, min(_SCAN_BLOCK, len(block) - HEADER_BYTES + 1))):
            (length,) = struct.unpack_from("<Q", block, index)
            # Cheap test first: most byte strings read as an impossible length.
            if offset + index + HEADER_BYTES + length + FOOTER_BYTES > size:
                continue
            (length_crc,) = struct.unpack_from("<I", block, index + 8)
            if masked_crc32c(block[index:index + 8]) != length_crc:
                continue
            if _frame_at(handle, offset + index, size)[1] is None:
                return offset + index
        if len(block) < _SCAN_BLOCK + HEADER_BYTES:
            break
        offset += _SCAN_BLOCK
    return size
