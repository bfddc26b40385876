# vosadmin — the two commands a user needs: `make run` and `make test` (see README.md).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: run test test-workers native lint format system-deps fuzz-api bench-cdr-query bench-reports bench-blacklist bench-register bench-flood bench-calls \
	fuzz-sip soak faults clean lock

## run: install, start embedded PostgreSQL + Redis (unless DATABASE_URL/REDIS_URL), migrate,
##      bootstrap, and run console, worker, beat and SIP engine in the foreground (Ctrl-C stops all)
run: $(INSTALLED) native
	$(PY) -m vosadmin.stack run

## test: install what the tests need, lint, check, and run the whole suite against real services
##       (with the compiled SIP core where it builds; tests/sip once more on the pure-Python one)
test: $(INSTALLED) system-deps native
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy softswitch/sip softswitch/engine softswitch/rules
	$(PY) -m vosadmin.stack exec -- sh -c '\
		$(PY) manage.py check --fail-level WARNING && \
		$(PY) manage.py makemigrations --check --dry-run && \
		$(PY) -m pytest $(PYTEST_ARGS)'
	SIP_NATIVE=0 $(PY) -m pytest -q -p no:cacheprovider tests/sip
	@if docker compose version >/dev/null 2>&1; then \
		docker compose config --quiet && echo "docker-compose.yml: valid (docker compose)"; \
	elif command -v docker-compose >/dev/null 2>&1; then \
		docker-compose config --quiet && echo "docker-compose.yml: valid (docker-compose)"; \
	else echo "no docker compose client: docker-compose.yml not checked"; fi

## test-workers: the tests that start the real engine, with two workers behind its address
##               (SIP_WORKERS=2, about 11 minutes): they must pass as they do with one (ADR 0011)
test-workers: $(INSTALLED) system-deps native
	$(PY) -m vosadmin.stack exec -- env SIP_WORKERS=2 $(PY) -m pytest -q -p no:cacheprovider -m engine

$(INSTALLED): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[embedded,test,fuzz]' -c constraints.txt
	touch $@

## lock: resolve pyproject.toml's dependencies afresh, in a throwaway virtualenv, to the newest
##       releases they allow, and write those exact versions to constraints.txt, which `run` and
##       `test` install from (so a new upstream release changes nothing until it is locked and
##       the suite has passed with it)
LOCK_VENV := var/lock-venv
lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LOCK_VENV)/bin/python -m pip install --quiet -e '.[embedded,test,fuzz,profile]'
	{ echo "# The exact versions \`make run\` and \`make test\` install (pip -c). Written by"; \
	  echo "# \`make lock\` from pyproject.toml; edit pyproject.toml, then run it."; \
	  $(LOCK_VENV)/bin/python -m pip freeze --exclude-editable; } > constraints.txt
	rm -rf $(LOCK_VENV)

## native: compile the sans-IO SIP core (softswitch/sip) with mypyc into var/sip-native, unless
##         that build is current; where it cannot be built it says why and the engine runs the
##         pure-Python modules (softswitch/native.py, docs/adr/0009). SIP_NATIVE=0 ignores it
native: $(INSTALLED)
	$(PY) -m softswitch.native

## system-deps: sipp and Chromium for the integration and browser tests, and a compose client
##              to check docker-compose.yml (root + apt only; elsewhere skipped with the reason)
system-deps:
	@missing=""; \
	command -v sipp >/dev/null 2>&1 || missing="$$missing sip-tester"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if command -v docker >/dev/null 2>&1 && ! docker compose version >/dev/null 2>&1; then \
		command -v docker-compose >/dev/null 2>&1 || missing="$$missing docker-compose"; fi; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
		echo "missing$$missing and cannot install (needs root and apt): their tests will be skipped"; \
	fi

## fuzz-api: schemathesis over every operation of the live OpenAPI schema as an administrator,
##           against a console it starts on a throwaway database (fuzz/api.py); fails on any 5xx
##           or conformance failure. FUZZ_ARGS, e.g. FUZZ_ARGS="--max-examples 500". Not in test
##           (a small version is: tests/core/test_api_fuzz.py)
fuzz-api: $(INSTALLED)
	$(PY) -m vosadmin.stack exec -- $(PY) -m fuzz.api $(FUZZ_ARGS)

## bench-register, bench-flood, bench-calls: the SIP engine under sipp load (bench/sip_engine.py;
##                  its own database vosadmin_sipbench; writes docs/benchmarks.md; not in make test)
bench-register bench-flood bench-calls: $(INSTALLED) system-deps native
	bench/$(subst bench-,,$@).sh $(BENCH_ARGS)

## bench-compare: sippy's b2bua_simple and our engine side by side on one harness (sipp on core 0,
##                the system under test on core 1, rising rates, 20 s each; bench/compare.py);
##                MODE=all-cores: our engine on one core, then one worker per core, unpinned
##                (SIP_WORKERS, ADR 0011). Writes docs/benchmarks.md
bench-compare: $(INSTALLED) system-deps native
	bench/compare.sh --mode $(or $(MODE),pinned) $(BENCH_ARGS)

## bench-blacklist: time one dynamic-blacklist check over counters for 1,000,000 numbers
##                  (a throwaway database and Redis db 15; writes docs/benchmarks.md; not in make test)
bench-blacklist: $(INSTALLED)
	$(PY) -m vosadmin.stack exec -- $(PY) bench/blacklist_check.py

## bench-cdr-query: 10 M generated CDRs over 30 days in a dedicated database (vosadmin_cdrbench),
##                  then query, export and ingest figures (docs/benchmarks.md); not part of `test`
bench-cdr-query: $(INSTALLED)
	$(PY) -m vosadmin.stack exec -- $(PY) bench/cdr_query.py $(BENCH_ARGS)

## bench-reports: gateway report aggregation of 500,000 generated CDRs and 30-day report queries
##                in a dedicated database (vosadmin_reportbench; docs/benchmarks.md); not in `test`
bench-reports: $(INSTALLED)
	$(PY) -m vosadmin.stack exec -- $(PY) bench/reports.py $(BENCH_ARGS)

## fuzz-sip: a bounded SIP fuzzer against a real engine: mutated and RFC 4475 messages over UDP and
##           TCP from several addresses, OPTIONS probes, RSS of two drained waves compared
##           (bench/fuzz_sip.py; FUZZ_SIP_ARGS="--messages 200000 --seed 7"; database vosadmin_harness)
fuzz-sip: $(INSTALLED) system-deps native
	$(PY) -m vosadmin.stack exec -- $(PY) -m bench.fuzz_sip $(FUZZ_SIP_ARGS)

## soak: sipp calls through the engine at RATE calls/s for SOAK_SECONDS, RSS and open transactions,
##       dialogs and calls sampled every 10 s; fails if they grow (bench/soak.py; docs/benchmarks.md)
SOAK_SECONDS ?= 600
RATE ?= 250
soak: $(INSTALLED) system-deps native
	$(PY) -m vosadmin.stack exec -- $(PY) -m bench.soak --seconds $(SOAK_SECONDS) --rate $(RATE) $(SOAK_ARGS)

## faults: PostgreSQL cut, Redis frozen, engine kill -9, each under load: every call sipp completed
##         (for kill -9: saw answered) has exactly one CDR (bench/faults.py; FAULTS_ARGS="--rate 50")
faults: $(INSTALLED) system-deps native
	$(PY) -m vosadmin.stack exec -- $(PY) -m bench.faults $(FAULTS_ARGS)

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(INSTALLED)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) var
