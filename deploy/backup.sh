#!/usr/bin/env bash
# Back up the exam database (docs/operations.md, "Backup and restore"):
#   deploy/backup.sh postgresql://user@host:5432/exam exam-2026-12-02.dump
# A custom-format pg_dump (compressed; pg_restore can restore it whole or in parts), taken
# in one snapshot while the system runs. Connect to PostgreSQL directly, not through
# PgBouncer: pg_dump keeps session settings for its whole run.
set -euo pipefail
[ $# = 2 ] || { echo "usage: $0 DATABASE_URL FILE" >&2; exit 2; }
url=${1/postgresql+psycopg2:/postgresql:}
file=$2
pg_dump --format=custom --no-owner --no-privileges --file="$file.partial" "$url"
mv "$file.partial" "$file"  # never a half-written file under the final name
echo "backup: $file ($(du -h "$file" | cut -f1))" >&2
