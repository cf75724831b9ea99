"""The on-disk spool (``--spool DIR``): every accepted request is on disk before it is acknowledged.

One file per accepted request, named by its sequence number, holding the OTLP ``ExportTraceServiceRequest`` as
received (before evaluation and redaction, so it is evaluated again after a restart). The file is written to a
temporary name and renamed, so a crash never leaves half a request under a real name; it is deleted once the
backend has the request's spans. At start-up the files left over are replayed in order before anything new is
accepted. Without ``fsync`` (the default) a spooled request survives the gateway's crash or restart, not a power
loss of the machine; ``fsync=True`` makes every acknowledgement wait for the disk.

The spool holds content as it arrived, unredacted: the directory is created private to the user (0700) and each
file readable by the user only (0600).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

_SUFFIX = ".otlp"
_TEMPORARY = ".tmp"


class Spool:
    """A directory of accepted, not yet delivered trace requests."""

    def __init__(self, directory: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        self._fsync = fsync
        self._lock = threading.Lock()
        for leftover in self.directory.glob(f"*{_TEMPORARY}"):  # a write the last process did not finish
            leftover.unlink(missing_ok=True)

    def _path(self, seq: int) -> Path:
        return self.directory / f"{seq:020d}{_SUFFIX}"

    def write(self, seq: int, data: bytes) -> None:
        """Store one request; raises ``OSError`` when the disk refuses (the request is then not accepted)."""
        path = self._path(seq)
        temporary = path.with_name(path.name + _TEMPORARY)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if self._fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
        if self._fsync:
            with self._lock:
                directory = os.open(self.directory, os.O_RDONLY)
                try:
                    os.fsync(directory)
                finally:
                    os.close(directory)

    def remove(self, seq: int) -> None:
        """Forget a request the backend has."""
        self._path(seq).unlink(missing_ok=True)

    def pending(self) -> Iterator[tuple[int, bytes]]:
        """The stored requests, oldest first."""
        for path in sorted(self.directory.glob(f"*{_SUFFIX}")):
            try:
                seq = int(path.name[: -len(_SUFFIX)])
                data = path.read_bytes()
            except (ValueError, OSError):
                continue
            yield seq, data

    def next_seq(self) -> int:
        """A sequence number after every stored one."""
        numbers = [int(p.name[: -len(_SUFFIX)]) for p in self.directory.glob(f"*{_SUFFIX}")
                   if p.name[: -len(_SUFFIX)].isdigit()]
        return max(numbers, default=-1) + 1

    def __len__(self) -> int:
        return sum(1 for _ in self.directory.glob(f"*{_SUFFIX}"))
