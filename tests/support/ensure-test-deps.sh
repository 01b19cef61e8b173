#!/usr/bin/env bash
# What the test suite needs besides Python, made sure of before `make test` runs pytest:
# PostgreSQL on 127.0.0.1:5432 (user postgres, no password) and its initdb/pg_ctl, Redis on
# 127.0.0.1:6379 and redis-server, Debian's Chromium (tests/browser) and nginx (the front of
# tests/e2e/test_slow_clients.py), and promtool from Debian's prometheus package (the alert
# rules' checks and unit tests, tests/unit/test_prometheus_rules.py), and PgBouncer (the app
# behind transaction pooling, tests/integration/test_pgbouncer.py). Whatever is missing is
# installed with apt-get when we are root (or have password-less sudo) and started;
# otherwise this says what to install and fails.
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1; }
say() { echo "ensure-test-deps: $*" >&2; }
fail() { say "$*"; exit 1; }

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if have sudo && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO="none"; fi
fi

updated=""
apt_install() {
  if [ "$SUDO" = none ] || ! have apt-get; then
    fail "missing $*: install it (Debian/Ubuntu: sudo apt-get install -y $*), then run make test again"
  fi
  say "installing $* with apt-get"
  # A package's install script must not start its service (nginx would take port 80):
  # Debian's policy-rc.d hook, as in Docker images, refuses for the duration.
  local policy=/usr/sbin/policy-rc.d added=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod +x "$policy"
    added=1
  fi
  local status=0
  {
    [ -n "$updated" ] || $SUDO apt-get update -qq
    updated=1
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
  } || status=$?
  [ -z "$added" ] || $SUDO rm -f "$policy"
  [ "$status" = 0 ] || fail "apt-get install $* failed"
}
# The commands below need root only to start a server that is installed but stopped.
as_root() { if [ "$SUDO" = none ]; then fail "cannot run '$*' without root"; else $SUDO "$@"; fi; }

pg_bin() { ls /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -n 1; }

ensure_postgres() {
  [ -n "$(pg_bin initdb)" ] && have pg_isready || apt_install postgresql postgresql-client
  pg_isready -q -h 127.0.0.1 -p 5432 && return
  local version hba
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  [ -n "$version" ] || fail "PostgreSQL is installed but has no cluster: create one (pg_createcluster) or start yours on 127.0.0.1:5432"
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  # The tests connect as postgres over TCP without a password.
  if ! as_root grep -q "^host all all 127.0.0.1/32 trust" "$hba"; then
    as_root sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  fi
  say "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && return; sleep 1; done
  fail "PostgreSQL did not start on 127.0.0.1:5432"
}

redis_pings() { have redis-cli && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; }

ensure_redis() {
  have redis-server && have redis-cli || apt_install redis-server redis-tools
  redis_pings && return
  say "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  for _ in $(seq 30); do redis_pings && return; sleep 1; done
  fail "Redis did not start on 127.0.0.1:6379"
}

# Playwright drives Debian's Chromium; its own browser download is never used.
ensure_chromium() { [ -x /usr/bin/chromium ] || apt_install chromium; }

ensure_nginx() { have nginx || [ -x /usr/sbin/nginx ] || apt_install nginx; }

# Only promtool is used; policy-rc.d keeps the package's Prometheus server from starting.
ensure_promtool() { have promtool || apt_install prometheus; }

# Tests start their own pgbouncer; policy-rc.d keeps the package's service from starting.
ensure_pgbouncer() { have pgbouncer || [ -x /usr/sbin/pgbouncer ] || apt_install pgbouncer; }

ensure_postgres
ensure_redis
ensure_chromium
ensure_nginx
ensure_promtool
ensure_pgbouncer
