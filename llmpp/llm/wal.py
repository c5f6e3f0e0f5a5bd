"""How much of an SQLite write-ahead log is an unfinished write (a torn last record).

SQLite already ignores such frames when it opens the file: a killed writer or a power
cut never corrupts the replies committed before. This module only counts what was
dropped, so the reply cache can say so instead of losing it silently.

WAL layout (sqlite.org/fileformat2.html#walformat): a 32-byte header (magic, version,
page size, checkpoint number, two salts, checksum), then frames of a 24-byte header
(page number, database size after commit or 0, the two salts, checksum) and one page.
Frames whose salts differ from the header's are left over from before a checkpoint
restarted the log; they are not part of the current log.
"""

from __future__ import annotations

import struct
from pathlib import Path

_MAGICS = (0x377F0682, 0x377F0683)
_HEADER, _FRAME_HEADER = 32, 24


def unfinished_frames(wal: Path) -> int:
    """Frames of the current log after its last commit (0 when none, or no log).

    Call it while holding the database's write lock, so no live writer is mid-transaction.
    """
    try:
        data = wal.read_bytes()
    except OSError:
        return 0
    if len(data) < _HEADER:
        return 0
    magic, _version, page_size, _ckpt, salt1, salt2 = struct.unpack(">6I", data[:24])
    if magic not in _MAGICS or page_size < 512:
        return 0
    frame = _FRAME_HEADER + page_size
    current = last_commit = 0
    offset = _HEADER
    while offset < len(data):
        header = data[offset:offset + _FRAME_HEADER]
        if len(header) == _FRAME_HEADER:
            _page, commit_size, s1, s2 = struct.unpack(">4I", header[:16])
            if (s1, s2) != (salt1, salt2):
                break  # left over from an earlier generation of the log
        complete = offset + frame <= len(data)
        current += 1
        if complete and len(header) == _FRAME_HEADER and commit_size:
            last_commit = current
        offset += frame
    return current - last_commit
