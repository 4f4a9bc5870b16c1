#!/usr/bin/env bash
# Back up the database to DIR (default /var/backups/survey-app), keep KEEP_DAYS days (default 30) of dumps, and
# run the restore drill on the new dump: restore it into a scratch database and compare row counts and checksums.
#   PostgreSQL (DATABASE_URL=postgresql...): pg_dump --format=custom
#   SQLite (the embedded default):           sqlite3 .backup (a consistent copy while the app runs)
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-/var/backups/survey-app}
KEEP_DAYS=${KEEP_DAYS:-30}
PYTHON=${PYTHON:-.venv/bin/python}
mkdir -p "$DIR"
chmod 700 "$DIR"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
url=$("$PYTHON" -c 'import config; print(config.config_for().SQLALCHEMY_DATABASE_URI)')

case "$url" in
  postgresql*)
    dump="$DIR/survey-$stamp.dump"
    pg_dump --format=custom --no-owner --file="$dump.part" "${url/postgresql+psycopg:/postgresql:}"
    ;;
  sqlite*)
    dump="$DIR/survey-$stamp.sqlite3"
    sqlite3 "${url#sqlite:///}" ".backup '$dump.part'"
    ;;
  *) echo "backup: unsupported DATABASE_URL" >&2; exit 2 ;;
esac
mv "$dump.part" "$dump"
chmod 600 "$dump"
echo "backup: wrote $dump ($(du -h "$dump" | cut -f1))"

"$PYTHON" deploy/restore_drill.py --dump "$dump"
find "$DIR" -name 'survey-*' -type f -mtime +"$KEEP_DAYS" -print -delete
