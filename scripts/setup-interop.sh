#!/usr/bin/env bash
# A separate virtual environment with the web-archiving world's own tools
# (wacz, pywb). They pull in gevent and pin old libraries, so they never share
# the toolkit's environment; tests call their command-line tools as an outsider
# would. Idempotent.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [[ ! -x .venv-interop/bin/python ]]; then
  python3 -m venv .venv-interop
fi
.venv-interop/bin/python -m pip install -q --upgrade pip >/dev/null
.venv-interop/bin/python -m pip install -q "wacz==0.6.0" "pywb==2.10.0" "warcio==1.8.1"
echo "[setup-interop] ready: $ROOT/.venv-interop/bin/wacz" >&2
