"""The local node's state file and its verified copy.

anvil rewrites ``anvil-state.json`` in place every ``--state-interval`` seconds
and on a clean exit, so a SIGKILL in the middle of a write leaves a truncated
file that anvil then refuses to load. A verified copy
(``anvil-state.good.json``) is kept beside it, and a start loads whichever of
the two holds more of the same chain.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

logger = logging.getLogger(__name__)


def read_state_block(raw: bytes) -> int | None:
    """Highest block number a complete anvil state dump holds, None if unreadable."""
    summary = state_summary(raw)
    return summary[1] if summary is not None else None


def state_summary(raw: bytes) -> tuple[str, int] | None:
    """(identity of the genesis block, best block number) of a complete state dump."""
    try:
        state = json.loads(raw)
        best = int(state["best_block_number"])
        headers = {int(block["header"]["number"], 16): block["header"] for block in state["blocks"]}
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    # A dump that claims a best block it does not contain is not one to trust.
    if best not in headers or 0 not in headers:
        return None
    return json.dumps(headers[0], sort_keys=True), best


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a reader sees the old or the new file, whole."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class StateFiles:
    """The state file anvil writes and the verified copy this toolkit keeps of it."""

    def __init__(self, state_path: Path, good_state_path: Path) -> None:
        self.state_path = state_path
        self.good_state_path = good_state_path

    def prepare(self) -> None:
        """Make sure anvil loads the newest complete state: its file or the verified copy."""
        try:
            raw = self.state_path.read_bytes()
        except FileNotFoundError:
            if self.good_state_path.exists():
                logger.warning("%s is missing; restoring the verified copy", self.state_path)
                shutil.copyfile(self.good_state_path, self.state_path)
            return
        current = state_summary(raw)
        if current is not None:
            if self._good_copy_is_newer(current):
                logger.warning(
                    "%s lacks blocks the verified copy holds; restoring the copy", self.state_path
                )
                shutil.copyfile(self.good_state_path, self.state_path)
            return
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        broken = self.state_path.with_name(f"anvil-state.broken-{stamp}.json")
        os.replace(self.state_path, broken)
        if self.good_state_path.exists():
            logger.warning(
                "%s is incomplete (kept as %s); restoring the verified copy",
                self.state_path,
                broken.name,
            )
            shutil.copyfile(self.good_state_path, self.state_path)
        else:
            logger.warning(
                "%s is incomplete (kept as %s) and there is no verified copy; starting a new chain",
                self.state_path,
                broken.name,
            )

    def save_good_copy(self, raw: bytes) -> None:
        """Keep ``raw`` as the verified copy, unless the copy already holds more of that chain."""
        latest = state_summary(raw)
        if latest is None:
            return
        try:
            previous = state_summary(self.good_state_path.read_bytes())
        except FileNotFoundError:
            previous = None
        # Processes may wait on different blocks: never replace the copy with an older
        # dump of the same chain (a new chain, with another genesis, always wins).
        if previous is None or previous[0] != latest[0] or latest[1] >= previous[1]:
            write_atomically(self.good_state_path, raw)

    def keep_good_copy(self) -> None:
        """After a clean exit the state file is complete: it becomes the fallback too."""
        try:
            raw = self.state_path.read_bytes()
        except FileNotFoundError:
            return
        self.save_good_copy(raw)

    def _good_copy_is_newer(self, current: tuple[str, int]) -> bool:
        try:
            good = state_summary(self.good_state_path.read_bytes())
        except FileNotFoundError:
            return False
        return good is not None and good[0] == current[0] and good[1] > current[1]
