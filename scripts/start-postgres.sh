#!/usr/bin/env bash
# Starts a local PostgreSQL server for the test suite (CI and developers) and
# creates the test role and database. Idempotent. Prints the SQLAlchemy URL
# as the only line on stdout (everything else goes to stderr, since callers
# capture stdout: pg_ctlcluster once printed "Removed stale pid file." there).
set -euo pipefail
log() { printf '[postgres] %s\n' "$*" >&2; }
if ! command -v pg_lsclusters >/dev/null 2>&1 || [[ -z "$(ls /usr/lib/postgresql/*/bin/postgres 2>/dev/null)" ]]; then
  log "apt: installing postgresql"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
read -r version cluster port status _ < <(pg_lsclusters --no-header | head -1)
if [[ -z "${version:-}" ]]; then
  version="$(ls /usr/lib/postgresql | sort -V | tail -1)"
  pg_createcluster "$version" main >&2
  read -r version cluster port status _ < <(pg_lsclusters --no-header | head -1)
fi
if [[ "$status" != online* ]]; then
  log "starting cluster $version/$cluster on port $port"
  pg_ctlcluster "$version" "$cluster" start >&2
fi
for _ in $(seq 50); do
  su postgres -c "psql -p $port -tAc 'select 1'" >/dev/null 2>&1 && break
  sleep 0.2
done
su postgres -c "psql -p $port -v ON_ERROR_STOP=1 -q" <<SQL >/dev/null
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'evidence') THEN
    CREATE ROLE evidence LOGIN PASSWORD 'evidence' CREATEDB;
  END IF;
END \$\$;
SQL
su postgres -c "psql -p $port -tAc \"SELECT 1 FROM pg_database WHERE datname='evidence_test'\"" | grep -q 1 \
  || su postgres -c "createdb -p $port -O evidence evidence_test" >&2
echo "postgresql+psycopg://evidence:evidence@127.0.0.1:${port}/evidence_test"
