# Berth: build, run and test on one Debian machine (as root). `make help` lists the targets.
# Every target installs what it is missing and is safe to run again.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

SWIFT ?= swift
BERTH_HOST ?= 127.0.0.1
BERTH_PORT ?= 8080
ENVIRONMENTS ?= examples/environments
DATA_DIR ?= data
BERTH_DEBUG := .build/debug/berth
# Build configuration the benchmark runs (release or debug), and extra arguments for it.
BENCH_CONFIG ?= release
BENCH_ARGS ?=

# Debian packages the scripts and tests use.
APT_PACKAGES := busybox-static unzip curl ca-certificates

# The browser tests: Chromium, chromedriver and Selenium (installed when missing), the example
# images (cached), then headless Chromium against $(BERTH_DEBUG): the terminal page, the recording
# player, the Markdown renderer, the whole web app journey (register, start, solve, score,
# admin kill) and a lab (the lab panel, the file editor, Check and Hint). Screenshots land in
# test-artifacts/.
define BROWSER_TEST
scripts/ensure-browser.sh
$(BERTH_DEBUG) env build --environments $(ENVIRONMENTS)
python3 tests/browser/test_terminal_page.py --berth $(BERTH_DEBUG) --environments $(ENVIRONMENTS)
python3 tests/browser/test_recording_player.py --berth $(BERTH_DEBUG) --environments $(ENVIRONMENTS)
python3 tests/browser/test_markdown.py
python3 tests/browser/test_web_app.py --berth $(BERTH_DEBUG) --environments $(ENVIRONMENTS)
python3 tests/browser/test_lab.py --berth $(BERTH_DEBUG) --environments $(ENVIRONMENTS)
endef

# The API checks against $(BERTH_DEBUG): the spec validated (and its examples against their
# schemas), schemathesis as a player and as an admin (zero server errors, schema mismatches and
# undocumented statuses), and the authorization matrix (every operation as five callers against
# tests/api/authorization-matrix.yaml). Each check runs even when one before it failed. Python
# packages come from a pinned venv (scripts/ensure-api-test-python.sh).
define API_TEST
$(BERTH_DEBUG) env build --environments $(ENVIRONMENTS)
venv="$$(scripts/ensure-api-test-python.sh)"; status=0; \
"$$venv/bin/openapi-spec-validator" Sources/BerthAPI/openapi.yaml || status=1; \
"$$venv/bin/python" tests/api/check_spec_examples.py || status=1; \
"$$venv/bin/python" tests/api/run_schemathesis.py --berth $(BERTH_DEBUG) --environments $(ENVIRONMENTS) --schemathesis "$$venv/bin/st" || status=1; \
"$$venv/bin/python" tests/api/test_authorization_matrix.py --berth $(BERTH_DEBUG) --environments $(ENVIRONMENTS) || status=1; \
exit $$status
endef

# The replica test against $(BERTH_DEBUG): two `berth serve` on one PostgreSQL (scripts/ensure-postgres.sh,
# a schema of its own) and one engine namespace behind nginx: caps and host ports under 40
# concurrent requests, kill -9 of one replica during a burst (no orphan, no double start, nothing
# stuck, expiries reaped by the other), a terminal's screen back through the other replica, and
# the audit chain. PostgreSQL only: SQLite serves one replica.
define REPLICA_TEST
scripts/ensure-apt-packages.sh nginx
python3 -c 'import websocket' 2>/dev/null || scripts/ensure-apt-packages.sh python3-websocket
postgres_url="$$(scripts/ensure-postgres.sh)"; \
BERTH_TEST_POSTGRES_URL="$$postgres_url" python3 tests/replicas/test_two_replicas.py --berth $(BERTH_DEBUG)
endef

# The Swarm test against $(BERTH_DEBUG): the examples it starts are built on the host engine (it prints
# their images), scripts/swarm-harness.sh builds a three-node swarm on this machine (three dockerd in
# network namespaces: one manager, two workers) holding those images, tests/swarm/test_swarm.py runs
# Berth with BERTH_ENGINE=swarm against it, and the harness is torn down whatever happens (the trap);
# the status is the test's.
define SWARM_TEST
scripts/ensure-apt-packages.sh iproute2 iptables openssl util-linux curl
python3 -c 'import websocket' 2>/dev/null || scripts/ensure-apt-packages.sh python3-websocket
images="$$(python3 tests/swarm/test_swarm.py --berth $(BERTH_DEBUG) --environments $(ENVIRONMENTS) --print-images)"; \
trap 'scripts/swarm-harness.sh down' EXIT; trap 'exit 130' INT TERM; \
scripts/swarm-harness.sh up $$images >/dev/null; \
swarm_env="$$(scripts/swarm-harness.sh env | sed -n 's/^export BERTH_SWARM_STATE=//p')/env"; \
BERTH_TEST_SWARM_ENV="$$swarm_env" $(SWIFT) test --skip-build --filter SwarmRuntimeTests && \
python3 tests/swarm/test_swarm.py --berth $(BERTH_DEBUG) --environments $(ENVIRONMENTS)
endef

.PHONY: help prerequisites setup demo test postgres test-browser test-api test-replicas test-swarm swarm-harness-up swarm-harness-down bench bench-api bench-terminal bench-recording bench-hints bench-labs bench-container-labs bench-workspaces bench-swarm clean clean-images

## help: list the targets
help:
	@echo "Berth make targets:"
	@awk '/^## / { sub(/^## /, ""); split($$0, part, ": "); printf "  %-15s %s\n", part[1], substr($$0, length(part[1]) + 3) }' $(MAKEFILE_LIST)

## prerequisites: Debian packages, a running Docker Engine, the base image berth/base:latest, the container-lab image berth/podman:latest, xterm.js, CodeMirror
prerequisites:
	scripts/ensure-apt-packages.sh $(APT_PACKAGES)
	scripts/ensure-docker.sh
	scripts/build-base-image.sh
	scripts/build-podman-image.sh
	scripts/fetch-xterm.sh
	scripts/fetch-codemirror.sh

## setup: prerequisites plus a debug build of the berth binary (.build/debug/berth)
setup: prerequisites
	$(SWIFT) build --product berth

## demo: setup, build the example images, then serve them (admin token in data/admin-token)
demo: setup
	mkdir -p $(DATA_DIR)
	if [ ! -s $(DATA_DIR)/admin-token ]; then \
	    (umask 077; od -An -N24 -tx1 /dev/urandom | tr -d ' \n' > $(DATA_DIR)/admin-token); \
	fi
	chmod 600 $(DATA_DIR)/admin-token
	$(BERTH_DEBUG) env build --environments $(ENVIRONMENTS)
	@url_host="$(BERTH_HOST)"; if [ "$$url_host" = "0.0.0.0" ]; then url_host=127.0.0.1; fi; \
	echo; \
	echo "Berth is starting at http://$$url_host:$(BERTH_PORT)/"; \
	echo "Admin token: $$(cat $(DATA_DIR)/admin-token)   (also in $(DATA_DIR)/admin-token)"; \
	echo "Stop it with Ctrl-C."; \
	echo
	BERTH_ADMIN_TOKEN="$$(cat $(DATA_DIR)/admin-token)" exec $(BERTH_DEBUG) serve \
	    --host $(BERTH_HOST) --port $(BERTH_PORT) \
	    --environments $(ENVIRONMENTS) --data-dir $(DATA_DIR)

## test: prerequisites, then the whole Swift suite (unit and integration tests on the real engine; the store suite on SQLite and on PostgreSQL, a cluster `berthtest` on 127.0.0.1:55432 that scripts/ensure-postgres.sh installs and starts; recordings checked with asciinema; S3 sync against moto servers on loopback with signature checking on, from the venv scripts/ensure-moto.sh makes), the browser tests, the API contract checks (schemathesis, the authorization matrix), Berth behind nginx, two replicas on PostgreSQL behind nginx (test-replicas), and Berth on a three-node Docker Swarm built on this machine (test-swarm)
test: prerequisites
	scripts/ensure-apt-packages.sh asciinema bsdutils nginx
	$(SWIFT) build --build-tests
	moto_venv="$$(scripts/ensure-moto.sh)"; \
	postgres_url="$$(scripts/ensure-postgres.sh)"; \
	BERTH_TEST_MOTO_PYTHON="$$moto_venv/bin/python" BERTH_TEST_POSTGRES_URL="$$postgres_url" BERTH_TEST_REQUIRE_POSTGRES=1 BERTH_TEST_EXAMPLES="$(CURDIR)/$(ENVIRONMENTS)" BERTH_ASCIINEMA_CHECK=1 $(SWIFT) test
	$(BROWSER_TEST)
	$(API_TEST)
	python3 tests/proxy/test_behind_nginx.py --berth $(BERTH_DEBUG) --environments $(ENVIRONMENTS)
	$(REPLICA_TEST)
	$(SWARM_TEST)

## postgres: install and start the PostgreSQL cluster the tests use (`berthtest`, 127.0.0.1:55432) and print its URL, e.g. for BERTH_DATABASE_URL
postgres:
	@scripts/ensure-postgres.sh

## test-browser: only the browser tests (headless Chromium: terminal page, recording player, Markdown, web app), with the existing .build/debug/berth
test-browser: prerequisites
	@if [ ! -x $(BERTH_DEBUG) ]; then echo "test-browser: $(BERTH_DEBUG) is missing; build it first (make setup)" >&2; exit 1; fi
	$(BROWSER_TEST)

## test-api: only the API checks (spec validation, schemathesis as a player and an admin, the authorization matrix), with the existing .build/debug/berth
test-api: prerequisites
	@if [ ! -x $(BERTH_DEBUG) ]; then echo "test-api: $(BERTH_DEBUG) is missing; build it first (make setup)" >&2; exit 1; fi
	$(API_TEST)

## test-replicas: only the replica test (two replicas of the existing .build/debug/berth on one PostgreSQL and one engine behind nginx: caps, host ports, kill -9 of one, a terminal across both, the audit chain)
test-replicas: prerequisites
	@if [ ! -x $(BERTH_DEBUG) ]; then echo "test-replicas: $(BERTH_DEBUG) is missing; build it first (make setup)" >&2; exit 1; fi
	$(REPLICA_TEST)

## test-swarm: only the Swarm tests: builds Berth and its tests if needed, a three-node swarm on this machine (scripts/swarm-harness.sh), the Swift swarm runtime tests (SwarmRuntimeTests), then lifecycle, terminal hardening, flags, files and lab checks, spread, isolation between nodes, no_capacity, reconciliation and a node failure with BERTH_ENGINE=swarm; the swarm is always torn down (as root; BERTH_SWARM_INSTANCE=1-9 runs it on a harness of its own beside another)
test-swarm: prerequisites
	$(SWIFT) build --build-tests
	$(SWARM_TEST)

## swarm-harness-up: a real three-node Docker Swarm on this machine (network namespaces bsw-node1..3 on bridge bsw0, one dockerd each, mutual TLS on :2376, the images loaded into every node; docs/swarm-harness.md); export lines in /run/berth-swarm/env (as root; SWARM_IMAGES names the images, default every berth.environment image; BERTH_SWARM_INSTANCE=1-9 for a second harness)
swarm-harness-up:
	scripts/ensure-docker.sh
	scripts/swarm-harness.sh up $(SWARM_IMAGES)

## swarm-harness-down: tear the three-node swarm down (daemons, namespaces, bridge, rules, state), even a half-built one
swarm-harness-down:
	scripts/swarm-harness.sh down

## bench: time POST /api/v1/instances to running on SQLite and on PostgreSQL against `docker run -d` (BENCH_CONFIG=debug for a debug build; the terminal's: bench-terminal)
bench: prerequisites
	$(SWIFT) build -c $(BENCH_CONFIG) --product berth
	postgres_url="$$(scripts/ensure-postgres.sh)"; \
	python3 bench/instance-start.py --berth .build/$(BENCH_CONFIG)/berth --postgres-url "$$postgres_url" $(BENCH_ARGS)

## bench-api: wrk on GET and POST /api/v1/instances (POST refused at the owner cap: the admission path), requests/s and p99, one server on SQLite and one on PostgreSQL, then one and two replicas on PostgreSQL behind nginx (BENCH_CONFIG, BENCH_ARGS as for bench)
bench-api: prerequisites
	scripts/ensure-apt-packages.sh wrk nginx
	$(SWIFT) build -c $(BENCH_CONFIG) --product berth
	postgres_url="$$(scripts/ensure-postgres.sh)"; \
	python3 bench/api-throughput.py --berth .build/$(BENCH_CONFIG)/berth --postgres-url "$$postgres_url" --replicas 2 $(BENCH_ARGS)

## bench-terminal: terminal keystroke echo and output throughput against docker exec and terminado (BENCH_CONFIG, BENCH_ARGS as for bench)
bench-terminal: prerequisites
	scripts/ensure-bench-python.sh
	$(SWIFT) build -c $(BENCH_CONFIG) --product berth
	python3 bench/terminal.py --berth .build/$(BENCH_CONFIG)/berth $(BENCH_ARGS)

## bench-recording: terminal throughput and keystroke echo with recording on against off, and recording verification MB/s against sha256sum (BENCH_CONFIG, BENCH_ARGS as for bench)
bench-recording: prerequisites
	$(SWIFT) build -c $(BENCH_CONFIG) --product berth
	python3 bench/recording.py --berth .build/$(BENCH_CONFIG)/berth $(BENCH_ARGS)

## bench-labs: a lab's check round trip, Check pressed → result shown in headless Chromium, against the API call alone, p50/p90 over 20 trivial checks (BENCH_CONFIG, BENCH_ARGS as for bench)
bench-labs: prerequisites
	scripts/ensure-browser.sh
	$(SWIFT) build -c $(BENCH_CONFIG) --product berth
	python3 bench/lab-check-roundtrip.py --berth .build/$(BENCH_CONFIG)/berth $(BENCH_ARGS)

## bench-container-labs: start-to-prompt (POST → running → shell prompt on the terminal WebSocket) of the container-basics lab against a plain lab, interleaved, medians (BENCH_CONFIG, BENCH_ARGS as for bench)
bench-container-labs: prerequisites
	$(SWIFT) build -c $(BENCH_CONFIG) --product berth
	python3 bench/container-labs.py --berth .build/$(BENCH_CONFIG)/berth $(BENCH_ARGS)

## bench-hints: lab hint latency through a local chat-completions server (0 ms model delay) against the authored fallback: the advisor alone, then end to end through POST /api/v1/instances/{id}/hints (BENCH_CONFIG as for bench; HINT_BENCH_ARGS, BENCH_ARGS for each)
bench-hints: prerequisites
	$(SWIFT) build -c $(BENCH_CONFIG) --product HintLatencyBench
	.build/$(BENCH_CONFIG)/HintLatencyBench $(HINT_BENCH_ARGS)
	$(SWIFT) build -c $(BENCH_CONFIG) --product berth
	python3 bench/hint-latency.py --berth .build/$(BENCH_CONFIG)/berth $(BENCH_ARGS)

## bench-workspaces: start-to-prompt with an empty workspace, a 100 MiB one restored from local storage and one restored from S3 (a moto server on loopback), medians of 5 runs each (BENCH_CONFIG, BENCH_ARGS as for bench; as root)
bench-workspaces: prerequisites
	moto_venv="$$(scripts/ensure-moto.sh)"; \
	$(SWIFT) build -c $(BENCH_CONFIG) --product berth && \
	python3 bench/workspace-start.py --berth .build/$(BENCH_CONFIG)/berth --moto-python "$$moto_venv/bin/python" $(BENCH_ARGS)

# The swarm harness's env file bench-swarm reads (scripts/swarm-harness.sh writes it).
SWARM_HARNESS_ENV ?= /run/berth-swarm/env

## bench-swarm: on a running swarm harness (make swarm-harness-up first; it never brings one up or down), POST /api/v1/instances → running of web-service on the swarm against `docker service create` and against Berth on the local engine, p50/p90 over 20 starts, then 50 concurrent starts across the nodes (failures, wall time, spread per node) (BENCH_CONFIG, BENCH_ARGS as for bench; SWARM_HARNESS_ENV)
bench-swarm: prerequisites
	@if [ ! -s $(SWARM_HARNESS_ENV) ]; then echo "bench-swarm: no swarm harness ($(SWARM_HARNESS_ENV) is missing); start one with make swarm-harness-up" >&2; exit 1; fi
	$(SWIFT) build -c $(BENCH_CONFIG) --product berth
	python3 bench/swarm-start.py --berth .build/$(BENCH_CONFIG)/berth --harness-env $(SWARM_HARNESS_ENV) $(BENCH_ARGS)

## clean: remove Berth's containers and networks (by label), the data directory and test artifacts
clean:
	if docker info >/dev/null 2>&1; then \
	    docker ps -aq --filter label=berth.instance | xargs -r docker rm -f; \
	    docker network ls -q --filter label=berth.instance | xargs -r docker network rm; \
	fi
	rm -rf $(DATA_DIR) bench-results test-artifacts

## clean-images: remove the example images (berth-env/*) and the base image
clean-images:
	docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '^berth-env/' | xargs -r docker rmi -f
	docker rmi -f berth/base:latest 2>/dev/null || true
	docker rmi -f berth/podman:latest 2>/dev/null || true
