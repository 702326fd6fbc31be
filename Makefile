VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8000
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test system-deps lint format train starter-models bench-load bench-peers bench-quality bench-numbers bench-steps bench-exports bench-routes clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[train,dev]"
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

run: $(STAMP)
	$(BIN)/handcalc run --host $(HOST) --port $(PORT)

# System programs the tests run for real: nginx (the load balancer), redis-server (the
# outage tests start their own), Debian's Chromium (the browser tests drive it) and wrk
# (the overload benchmark's test runs it).
system-deps:
	command -v nginx >/dev/null || command -v /usr/sbin/nginx >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq nginx-light)
	command -v redis-server >/dev/null || (apt-get update -qq && apt-get install -y -qq redis-server)
	test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)

test: lint system-deps
	$(BIN)/pytest

train: $(STAMP)
	$(BIN)/python -m models.train --all

# Version 1 of every model, trained on the full MNIST named by HANDCALC_DATA, shipped in starter/.
starter-models: $(STAMP)
	test -n "$$HANDCALC_DATA" || (echo "set HANDCALC_DATA to the full mnist.npz" && exit 1)
	rm -rf starter.new
	$(BIN)/python -m models.train --all --root starter.new
	rm -rf starter && mv starter.new starter

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache

# Load benchmark against a real server on 127.0.0.1 (needs wrk: apt-get install wrk).
bench-load: $(STAMP)
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench.load

# handcalc as shipped against plain FastAPI, LitServe, BentoML and Ray Serve serving the same
# exports (the peers from their own venv, var/peers-venv, made on first use; needs wrk).
bench-peers: $(STAMP)
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench.peers $(BENCH_ARGS)

# Train every model with its default params on the full MNIST and score it against the goals.
bench-quality: $(STAMP)
	test -n "$$HANDCALC_DATA" || (echo "set HANDCALC_DATA to the full mnist.npz" && exit 1)
	$(BIN)/python -m bench.quality $(BENCH_ARGS)

# The MNIST-addition protocol for the reader: exact sums, products and comparisons of numbers
# of 1 to 100 test digits, from the digit images and through drawn images sent over HTTP.
bench-numbers: $(STAMP)
	test -n "$$HANDCALC_DATA" || (echo "set HANDCALC_DATA to the full mnist.npz" && exit 1)
	$(BIN)/python -m bench.numbers $(BENCH_ARGS)

# The shipped LiteRT exports (int8 weights where kept) against float32 ones of the same
# Keras models: test accuracy, size and time an image.
bench-exports: $(STAMP)
	test -n "$$HANDCALC_DATA" || (echo "set HANDCALC_DATA to the full mnist.npz" && exit 1)
	$(BIN)/python -m bench.exports $(BENCH_ARGS)

# What each inference route costs the event loop's thread, in process (no HTTP), on the starters.
bench-routes: $(STAMP)
	$(BIN)/python -m bench.routes $(BENCH_ARGS)

# Time one autoencoder training step: Keras' or the fused batch normalisation, float32 or bfloat16.
bench-steps: $(STAMP)
	$(BIN)/python -m bench.steps
