#!/usr/bin/env bash
# SIP engine benchmark: flood (see bench/sip_engine.py). Uses the embedded PostgreSQL and Redis
# unless DATABASE_URL / REDIS_URL are set; writes its figures into docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory .venv/.installed >/dev/null
exec .venv/bin/python -m vosadmin.stack exec -- .venv/bin/python bench/sip_engine.py flood "$@"
