"""Where the toolkit keeps its data and which services it talks to.

Everything has an embedded default (local data directory, SQLite, the
development TSA, a local anvil chain) so a fresh machine works offline; each
default can be overridden by an environment variable or by the caller.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from evidence.errors import ConfigurationError

ENV_HOME = "EVIDENCE_HOME"
ENV_DATABASE_URL = "EVIDENCE_DATABASE_URL"
ENV_TSA_URL = "EVIDENCE_TSA_URL"
ENV_TSA_ROOTS = "EVIDENCE_TSA_ROOTS"
ENV_RPC_URL = "EVIDENCE_RPC_URL"
ENV_CHAIN_KEY = "EVIDENCE_CHAIN_PRIVATE_KEY"
ENV_CHROMIUM = "EVIDENCE_CHROMIUM"
ENV_OPERATOR = "EVIDENCE_OPERATOR"


@dataclass(frozen=True, slots=True)
class Settings:
    """Resolved configuration. ``None`` for a service means "use the embedded default"."""

    home: Path
    database_url: str
    tsa_url: str | None = None
    tsa_roots_path: Path | None = None
    rpc_url: str | None = None
    chain_private_key: str | None = None
    chromium_path: Path | None = None
    operator: str = ""

    @property
    def store_dir(self) -> Path:
        return self.home / "store"

    @property
    def work_dir(self) -> Path:
        return self.home / "work"

    @property
    def output_dir(self) -> Path:
        return self.home / "output"

    @classmethod
    def from_env(cls, home: Path | str | None = None) -> Settings:
        env = os.environ
        if home is None:
            home = env.get(ENV_HOME) or platformdirs.user_data_dir("evidence-toolkit")
        home_path = Path(home).expanduser().resolve()
        try:
            home_path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot create the data directory {home_path}: {exc.strerror}"
            ) from exc
        database_url = env.get(ENV_DATABASE_URL) or f"sqlite:///{home_path / 'evidence.db'}"
        roots = env.get(ENV_TSA_ROOTS)
        if env.get(ENV_TSA_URL) and not roots:
            raise ConfigurationError(
                f"{ENV_TSA_URL} is set but {ENV_TSA_ROOTS} is not: "
                "a TSA's tokens can only be verified against its trust roots"
            )
        chromium = env.get(ENV_CHROMIUM)
        return cls(
            home=home_path,
            database_url=database_url,
            tsa_url=env.get(ENV_TSA_URL) or None,
            tsa_roots_path=Path(roots) if roots else None,
            rpc_url=env.get(ENV_RPC_URL) or None,
            chain_private_key=env.get(ENV_CHAIN_KEY) or None,
            chromium_path=Path(chromium) if chromium else None,
            operator=env.get(ENV_OPERATOR, ""),
        )
