"""Finding a secret where it must not be: in another process, a shim's log, a file, output.

Support for tests/test_secrets_leak.py: :class:`ProcessWatch` reads every
process on the machine from /proc while commands run; :func:`recording_shims`
puts openssl and ffmpeg wrappers on PATH that log the environment they were
given; :func:`leaks_in` searches bytes, opening PDFs (decompressed and as
text), zip members and gzip streams.
"""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import require_tool


def read_proc(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # the process has gone, or is not ours to read
        return b""


class ProcessWatch:
    """Reads every process on the machine while the commands run.

    Not only descendants: a double-forked helper (Chromium's crash handler)
    is re-parented away from the command that started it. The commands
    themselves are skipped (their environment is what the test gave them),
    and so is a child forked from one that has not exec'd yet: it is the same
    program with the same command line, a copy of its parent's memory.
    """

    def __init__(self, forms: dict[bytes, str]) -> None:
        self._forms = forms
        self._commands: set[bytes] = set()
        self._roots: set[int] = set()
        self._checked: set[tuple[int, bytes]] = set()
        self.leaks: list[str] = []
        self.seen: dict[int, set[str]] = {}
        """Per command pid, the program names of its descendants that were read."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def expect(self, argv: list[str]) -> None:
        """Skip processes running ``argv``: told before it starts, or the watch may race it."""
        self._commands.add(b"".join(arg.encode() + b"\0" for arg in argv))

    def command(self, process: subprocess.Popen[bytes]) -> None:
        self._roots.add(process.pid)
        self.seen.setdefault(process.pid, set())

    def __enter__(self) -> ProcessWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.scan()
            time.sleep(0.02)

    def scan(self) -> None:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) in (os.getpid(), *self._roots):
                continue
            cmdline = read_proc(entry / "cmdline")
            if (
                not cmdline
                or cmdline in self._commands
                or (int(entry.name), cmdline) in self._checked
            ):
                continue
            self._check(int(entry.name), entry, cmdline)

    def _check(self, pid: int, entry: Path, cmdline: bytes) -> None:
        environ = read_proc(entry / "environ")
        comm = read_proc(entry / "comm").decode(errors="replace").strip()
        if not environ:
            return  # gone, or between fork and exec: the next scan reads it again
        self._checked.add((pid, cmdline))
        for where, data in (("environ", environ), ("cmdline", cmdline)):
            for value in sorted({value for form, value in self._forms.items() if form in data}):
                self.leaks.append(f"{comm} (pid {pid}) {where} holds {value!r}")
        root = self._root_of(pid)
        if root is not None:
            self.seen[root].add(comm)

    def _root_of(self, pid: int) -> int | None:
        for _ in range(16):
            stat = read_proc(Path(f"/proc/{pid}/stat")).decode(errors="replace")
            if not stat:
                return None
            pid = int(stat.rsplit(")", 1)[1].split()[1])
            if pid in self._roots:
                return pid
        return None


def recording_shims(directory: Path, log: Path) -> str:
    """A PATH directory whose openssl and ffmpeg record their environment, then run."""
    directory.mkdir()
    for name in ("openssl", "ffmpeg"):
        real = require_tool(name)
        shim = directory / name
        shim.write_text(
            f'#!/bin/sh\n{{ echo "== {name} $*"; env; }} >> "{log}"\nexec "{real}" "$@"\n'
        )
        shim.chmod(0o755)
    return f"{directory}{os.pathsep}{os.environ['PATH']}"


def _pdf_views(data: bytes) -> Iterator[tuple[str, bytes]]:
    """A PDF's streams decompressed, and its text as a reader shows it."""
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        flat = io.BytesIO()
        pdf.save(flat, qdf=True, compress_streams=False,
                 stream_decode_level=pikepdf.StreamDecodeLevel.generalized)  # fmt: skip
    yield "decompressed", flat.getvalue()
    text = subprocess.run(
        [require_tool("pdftotext"), "-", "-"], input=data, capture_output=True, check=True
    ).stdout
    yield "text", text
    # A long URL is wrapped across lines in the text.
    yield "text unwrapped", b"".join(text.split())


def _views(name: str, data: bytes) -> Iterator[tuple[str, bytes]]:
    """``data`` itself and everything it contains, recursively, each with where it is."""
    yield name, data
    if data.startswith(b"%PDF"):
        for view, content in _pdf_views(data):
            yield f"{name} ({view})", content
    elif data.startswith(b"\x1f\x8b"):
        yield from _views(f"{name} (gunzipped)", gzip.decompress(data))
    elif data.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.namelist():
                yield from _views(f"{name}!{member}", archive.read(member))


def leaks_in(sources: Iterator[tuple[str, bytes]], forms: dict[bytes, str]) -> list[str]:
    return [
        f"{where} holds {value!r}: ...{_around(content, form)!r}..."
        for name, data in sources
        for where, content in _views(name, data)
        for form, value in forms.items()
        if form in content
    ]


def _around(content: bytes, form: bytes) -> bytes:
    at = content.index(form)
    return content[max(0, at - 80) : at + len(form) + 20]


def files_under(*roots: Path) -> Iterator[tuple[str, bytes]]:
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.is_symlink():
                yield str(path), path.read_bytes()
