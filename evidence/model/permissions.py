"""Evidence on disk is the officer's alone: directories 0700, files 0600 (0400 sealed).

The data directory holds the evidence store, the database with the custody
log, encrypted officer keys and the development TSA's key. Other accounts on
the machine have no business reading any of it, and a store readable by all
leaks what was captured before it is disclosed in court.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

logger = logging.getLogger(__name__)

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
SEALED_FILE_MODE = 0o400


def private_directory(path: Path) -> Path:
    """Create ``path`` (and missing parents' last part) 0700; tighten it if it is ours.

    Parents that already exist are left alone (``/srv``, the user's home); the
    directory itself is tightened when it was created by someone else's umask
    but belongs to this user. A directory owned by another account is not
    touched: that is the administrator's arrangement.
    """
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    info = path.stat()
    if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, stat.S_IMODE(info.st_mode) & ~0o077 | stat.S_IRWXU)
        logger.info("made %s private to its owner (was %o)", path, stat.S_IMODE(info.st_mode))
    return path


def private_file(path: Path) -> Path:
    """Make sure ``path`` exists and is 0600 before anything is written to it.

    An existing file is never opened here: closing any descriptor of a file
    drops every POSIX lock this process holds on it, and SQLite relies on
    those locks while another connection of the same process has it open.
    """
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE_MODE)
    except FileExistsError:
        info = path.stat()
        if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) & 0o077:
            os.chmod(path, PRIVATE_FILE_MODE)
        return path
    os.close(fd)
    return path
