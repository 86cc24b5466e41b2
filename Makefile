# signalkit: `make demo` runs the main job on bundled synthetic data, `make test` runs the tests.
# Both create .venv if it is missing and install signalkit into it.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# CPU build of torch when no NVIDIA GPU is present (fast, small); the default CUDA build otherwise.
HAS_GPU := $(shell command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && echo 1)
ifeq ($(HAS_GPU),1)
TORCH_SPEC ?= torch>=2.4
else
TORCH_SPEC ?= torch==2.13.0
endif
DEMO_DIR ?= demo_data
PYTEST_ARGS ?=

.PHONY: install demo test test-slow bench bench-quick clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel

$(VENV)/.installed: $(BIN)/python pyproject.toml
	@start=$$(date +%s); \
	$(BIN)/pip install -q "$(TORCH_SPEC)" && \
	$(BIN)/pip install -q -e ".[dev,video]" && \
	touch $@ && \
	echo "install: $$(( $$(date +%s) - start )) s (one-time)"

install: $(VENV)/.installed

demo: install
	@start=$$(date +%s); \
	rm -rf $(DEMO_DIR) && \
	$(BIN)/signalkit demo out=$(DEMO_DIR)/eeg && \
	$(BIN)/signalkit ingest eeg $(DEMO_DIR)/eeg $(DEMO_DIR)/eeg.zarr jobs=2 progress=false && \
	$(BIN)/signalkit train experiment=eeg/motor_imagery data.store=$(DEMO_DIR)/eeg.zarr \
		output_dir=$(DEMO_DIR)/run trainer.enable_progress_bar=false && \
	echo "demo: $$(( $$(date +%s) - start )) s (generate + ingest + train + test); metrics in $(DEMO_DIR)/run/metrics.json"

test: install
	$(BIN)/python -m pytest -q -m "not slow" $(PYTEST_ARGS)

test-slow: install
	$(BIN)/python -m pytest -q -m slow $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m benchmarks.run --full

bench-quick: install
	$(BIN)/python -m benchmarks.run --quick

clean:
	rm -rf $(DEMO_DIR) runs .pytest_cache
