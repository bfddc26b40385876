#!/usr/bin/env bash
# sippy's b2bua_simple and the vosadmin engine side by side (see bench/compare.py). Installs
# sippy into its own virtualenv, var/bench/sippy (never into the project's .venv). Uses the
# embedded PostgreSQL and Redis unless DATABASE_URL / REDIS_URL are set; writes its figures
# into docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory .venv/.installed >/dev/null
SIPPY_VERSION=2.5.0
if [ ! -x var/bench/sippy/bin/b2bua_simple ]; then
	python3.11 -m venv var/bench/sippy
	var/bench/sippy/bin/pip install --quiet "sippy==${SIPPY_VERSION}"
fi
command -v taskset >/dev/null || { echo "taskset (util-linux) is needed to pin the systems"; exit 1; }
exec .venv/bin/python -m vosadmin.stack exec -- .venv/bin/python -m bench.compare "$@"
