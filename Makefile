# The README's two commands: `make demo` (the main job on embedded real data) and `make test`.
# Both set up the virtual environment first; a set-up environment is reused in seconds.

VENV ?= .venv
PYTHON ?= python3
WHEEL_CACHE ?= $(HOME)/.cache/mmmixer/wheels
PY := $(VENV)/bin/python
# Re-run set-up when the requirements or packaging change.
SETUP_STAMP := $(VENV)/.mmmixer-setup-done
SETUP_INPUTS := requirements/torch.txt requirements/pinned.txt requirements/tests.txt setup.py \
	tools/setup_env.sh tools/build_mmcv.sh
DEMO_DIR ?= work_dirs/demo
PYTEST_ARGS ?=

.PHONY: setup test demo lint format clean-venv

setup: $(SETUP_STAMP)

$(SETUP_STAMP): $(SETUP_INPUTS)
	@PYTHON=$(PYTHON) bash tools/setup_env.sh $(VENV) $(WHEEL_CACHE)
	@touch $@

test: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest $(PYTEST_ARGS)

demo: setup
	$(PY) tools/run_demo.py --work-dir $(DEMO_DIR)

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: setup
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

clean-venv:
	rm -rf $(VENV)
