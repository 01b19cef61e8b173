#!/usr/bin/env bash
# Restore a backup of deploy/backup.sh into an empty database and check its schema
# (docs/operations.md, "Backup and restore"):
#   createdb -h host -U user exam_restored
#   deploy/restore.sh exam-2026-12-02.dump postgresql://user@host:5432/exam_restored
# Everything or nothing: one transaction, stopping at the first error. Then the restored
# schema's Alembic revision must be this release's head (`alembic upgrade head` takes an
# older backup forward; a newer one needs the release that wrote it).
set -euo pipefail
[ $# = 2 ] || { echo "usage: $0 FILE DATABASE_URL" >&2; exit 2; }
file=$1
url=${2/postgresql+psycopg2:/postgresql:}
cd "$(dirname "$0")/.."
tables=$(psql "$url" -XAtc "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
[ "$tables" = 0 ] || { echo "restore: the target database is not empty" >&2; exit 1; }
pg_restore --no-owner --no-privileges --exit-on-error --single-transaction --dbname="$url" "$file"
restored=$(psql "$url" -XAtc "SELECT version_num FROM alembic_version")
head=$(alembic heads 2>/dev/null | awk '{print $1}')
echo "restore: schema revision $restored (this release's head: $head)" >&2
[ "$restored" = "$head" ] || { echo "restore: the revision is not head: run alembic upgrade head" >&2; exit 1; }
