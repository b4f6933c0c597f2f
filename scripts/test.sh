#!/usr/bin/env bash
# Runs the full test suite: starts the local PostgreSQL server the database
# tests need, then pytest on real Chromium, anvil, the openssl TSA and SQLite.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [[ -z "${EVIDENCE_TEST_POSTGRES_URL:-}" ]]; then
  EVIDENCE_TEST_POSTGRES_URL="$(bash scripts/start-postgres.sh | tail -n 1)"
  export EVIDENCE_TEST_POSTGRES_URL
fi
exec .venv/bin/python -m pytest "$@"
