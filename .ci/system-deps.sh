#!/usr/bin/env bash
# Installs and starts what Voisinage needs from the system, only what is missing:
# PostgreSQL (or PostGIS for the PostgreSQL already running), GDAL/GEOS/PROJ, Redis, gettext,
# python3-venv, Chromium and the DejaVu fonts. Idempotent: a second run does no apt work and
# returns in about a second.
set -euo pipefail

PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
PGUSER=${PGUSER:-postgres}
REDIS_HOST=${REDIS_HOST:-127.0.0.1}
REDIS_PORT=${REDIS_PORT:-6379}
EXTRA_PACKAGES=${EXTRA_PACKAGES:-}

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

missing=()
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    echo "==> apt-get update"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  echo "==> apt-get install $*"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

pg_answers() { pg_isready -q -h "$PGHOST" -p "$PGPORT" 2>/dev/null; }

# --- PostgreSQL ---------------------------------------------------------------------------------
if ! command -v pg_isready >/dev/null 2>&1; then missing+=(postgresql-client); fi
if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; missing=(); fi

if ! pg_answers; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    apt_install postgresql
  fi
  for cluster in /etc/postgresql/*/main; do
    version=$(basename "$(dirname "$cluster")")
    echo "==> starting PostgreSQL $version"
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null \
      || $SUDO pg_ctlcluster "$version" main start || true
  done
  for _ in $(seq 1 30); do pg_answers && break; sleep 1; done
  pg_answers || { echo "PostgreSQL does not answer on $PGHOST:$PGPORT" >&2; exit 1; }
fi

# A PostgreSQL freshly installed by apt asks for a password over TCP. On a development machine
# where the postgres role cannot connect to 127.0.0.1, let it in without one (local only).
if ! psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres -tAc "SELECT 1" >/dev/null 2>&1; then
  case "$PGHOST" in
    127.0.0.1|localhost|::1)
      for hba in /etc/postgresql/*/main/pg_hba.conf; do
        [ -f "$hba" ] || continue
        if ! grep -q "voisinage-dev" "$hba"; then
          echo "==> allowing the $PGUSER role on 127.0.0.1 without a password ($hba)"
          $SUDO sed -i "1i host all $PGUSER 127.0.0.1/32 trust # voisinage-dev\\nhost all $PGUSER ::1/128 trust # voisinage-dev" "$hba"
        fi
        version=$(basename "$(dirname "$(dirname "$hba")")")
        $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main reload 2>/dev/null \
          || $SUDO pg_ctlcluster "$version" main reload || true
      done
      sleep 1
      ;;
  esac
  psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres -tAc "SELECT 1" >/dev/null \
    || { echo "Cannot connect to PostgreSQL as $PGUSER on $PGHOST:$PGPORT" >&2; exit 1; }
fi

# The read-replica tests (tests/backend/test_replica.py) start a streaming replica of this
# cluster with pg_basebackup: the role needs a *replication* connection from 127.0.0.1, which
# "host all ..." lines do not allow (the database "all" never matches replication). On a local
# development or CI machine where it is refused, allow it for this role on 127.0.0.1 only, once.
replication_answers() {
  psql "host=$PGHOST port=$PGPORT user=$PGUSER dbname=postgres replication=true" \
    -tAc "IDENTIFY_SYSTEM" >/dev/null 2>&1
}
if ! replication_answers; then
  case "$PGHOST" in
    127.0.0.1|localhost)
      for hba in /etc/postgresql/*/main/pg_hba.conf; do
        [ -f "$hba" ] || continue
        if ! grep -q "voisinage-replica-tests" "$hba"; then
          echo "==> allowing replication connections of $PGUSER from 127.0.0.1 ($hba)"
          $SUDO sed -i "1i host replication $PGUSER 127.0.0.1/32 trust # voisinage-replica-tests" "$hba"
        fi
        version=$(basename "$(dirname "$(dirname "$hba")")")
        $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main reload 2>/dev/null \
          || $SUDO pg_ctlcluster "$version" main reload || true
      done
      sleep 1
      replication_answers \
        || echo "warning: no replication connection to $PGHOST:$PGPORT (the replica tests will fail)" >&2
      ;;
  esac
fi

major=$(psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres -tAc "SHOW server_version_num" | cut -c1-2)
has_postgis=$(psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres -tAc \
  "SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'")
if [ "$has_postgis" = "0" ]; then
  apt_install "postgresql-${major}-postgis-3"
fi
# The fault tests (tests/faults) run a PostgreSQL cluster of their own, which they stop and start:
# they need the server binaries and PostGIS of the same major on this machine, even when the
# database itself is elsewhere.
pg_server_missing=()
[ -x "/usr/lib/postgresql/${major}/bin/initdb" ] || pg_server_missing+=("postgresql-${major}")
[ -f "/usr/share/postgresql/${major}/extension/postgis.control" ] \
  || pg_server_missing+=("postgresql-${major}-postgis-3")
if [ ${#pg_server_missing[@]} -gt 0 ]; then apt_install "${pg_server_missing[@]}"; fi

# --- GDAL, GEOS, PROJ (GeoDjango), gettext, venv ----------------------------------------------
have_pkg gdal-bin || missing+=(gdal-bin)
ldconfig -p | grep -q 'libgeos_c\.so' || missing+=(libgeos-c1v5)
command -v msgfmt >/dev/null 2>&1 || missing+=(gettext)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
# .ci/run-twice.sh asks the served /healthz.
command -v curl >/dev/null 2>&1 || missing+=(curl)
# The realtime tests run a private redis-server of their own (to stop and restart it).
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
# The admin's browser tests (Playwright) drive Debian's Chromium at /usr/bin/chromium. On Ubuntu
# "chromium-browser" is a snap wrapper that Playwright cannot drive: use Debian's package.
[ -x /usr/bin/chromium ] || missing+=(chromium)
# The panel's paper sheets (PDF) embed DejaVu Sans, for every character of French and more.
have_pkg fonts-dejavu-core || missing+=(fonts-dejavu-core)
for p in $EXTRA_PACKAGES; do have_pkg "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi

# --- Redis --------------------------------------------------------------------------------------
redis_answers() { redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }
if ! redis_answers; then
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  echo "==> starting Redis"
  $SUDO mkdir -p /var/lib/redis /var/log/redis
  $SUDO redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" \
    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/voisinage.log
  for _ in $(seq 1 20); do redis_answers && break; sleep 0.5; done
  redis_answers || { echo "Redis does not answer on $REDIS_HOST:$REDIS_PORT" >&2; exit 1; }
fi
echo "==> system ready: PostgreSQL ${major} with PostGIS, Redis, GDAL"
