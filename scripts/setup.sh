#!/usr/bin/env bash
# Sets up everything the toolkit needs on a fresh Debian 12 machine, as root,
# with only the package registries (Debian, PyPI, npm). Idempotent.
#   bash scripts/setup.sh          runtime: chromium, fonts, venv, anvil/cast/solc
#   bash scripts/setup.sh --dev    also the test and lint tools
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DEV=0
[[ "${1:-}" == "--dev" ]] && DEV=1

log() { printf '[setup] %s\n' "$*" >&2; }

# Debian packages. chromium and the CJK fonts never come from `playwright install`
# (no download host is reachable); wqy-microhei is a TrueType font reportlab can embed.
APT_PACKAGES=(chromium fonts-wqy-microhei fonts-wqy-zenhei poppler-utils zbar-tools openssl ca-certificates ffmpeg)
# The workers' message broker (evidence worker, evidence service up; docs/workers.md,
# docs/service.md); the worker tests start their own.
APT_PACKAGES+=(redis-server)
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(nodejs npm)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || APT_PACKAGES+=(python3-venv)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  log "apt: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python: one virtual environment in the checkout.
if [[ ! -x .venv/bin/python ]]; then
  log "creating .venv"
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
if ((DEV)); then
  log "pip: installing the toolkit with its dev tools"
  .venv/bin/python -m pip install -q -e ".[dev]"
else
  log "pip: installing the toolkit"
  .venv/bin/python -m pip install -q -e .
fi

# npm: anvil, cast and solc-js, pinned in package-lock.json.
log "npm: installing anvil, cast, solc"
npm ci --no-audit --no-fund --loglevel=error >/dev/null
for tool in anvil cast; do
  bin="$ROOT/node_modules/@foundry-rs/${tool}-linux-amd64/bin/${tool}"
  if [[ -x "$bin" ]]; then
    ln -sf "$bin" ".venv/bin/${tool}"
  else
    log "warning: $bin not found (unsupported architecture?)"
  fi
done

if ((DEV)); then
  # Interoperability tests (WACZ, pywb replay) use the web-archiving tools from
  # their own environment, as an outsider would.
  bash "$ROOT/scripts/setup-interop.sh"
fi

log "ready: $ROOT/.venv/bin/evidence"
