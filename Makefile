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

.PHONY: help prerequisites setup demo test bench clean clean-images

## help: list the targets
help:
	@echo "Berth make targets:"
	@awk '/^## / { sub(/^## /, ""); split($$0, part, ": "); printf "  %-15s %s\n", part[1], substr($$0, length(part[1]) + 3) }' $(MAKEFILE_LIST)

## prerequisites: Debian packages, a running Docker Engine, the base image berth/base:latest, xterm.js
prerequisites:
	scripts/ensure-apt-packages.sh $(APT_PACKAGES)
	scripts/ensure-docker.sh
	scripts/build-base-image.sh
	scripts/fetch-xterm.sh

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

## test: prerequisites, then the whole Swift suite (unit and integration, on the real engine)
test: prerequisites
	$(SWIFT) build --build-tests
	BERTH_TEST_EXAMPLES="$(CURDIR)/$(ENVIRONMENTS)" $(SWIFT) test

## bench: time POST /api/v1/instances to running against `docker run -d` (BENCH_CONFIG=debug for a debug build)
bench: prerequisites
	$(SWIFT) build -c $(BENCH_CONFIG) --product berth
	python3 bench/instance-start.py --berth .build/$(BENCH_CONFIG)/berth $(BENCH_ARGS)

## clean: remove Berth's containers and networks (by label) and the data directory
clean:
	if docker info >/dev/null 2>&1; then \
	    docker ps -aq --filter label=berth.instance | xargs -r docker rm -f; \
	    docker network ls -q --filter label=berth.instance | xargs -r docker network rm; \
	fi
	rm -rf $(DATA_DIR) bench-results

## clean-images: remove the example images (berth-env/*) and the base image
clean-images:
	docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '^berth-env/' | xargs -r docker rmi -f
	docker rmi -f berth/base:latest 2>/dev/null || true
