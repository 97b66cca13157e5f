#!/usr/bin/env bash
# Build the Lambda zips into build/ (csv_ingest.zip, tmdb_enrich.zip).
# Uses the project's .venv, whose installed dependency versions go into the zips; see
# scripts/build_lambdas.py for what each zip holds and how it stays reproducible.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
if [[ ! -x "$PYTHON" ]]; then
  echo "build_lambdas: $PYTHON not found; run \`make install\` first (or set PYTHON)" >&2
  exit 2
fi
exec "$PYTHON" scripts/build_lambdas.py "$@"
