# The README's commands: `make demo` (the main job on embedded real data) and `make test`.
# Each sets up the virtual environment first, at the level it needs; a set-up environment is reused in seconds.
# Two levels, each recorded by a stamp file in the venv:
#   setup       mmcv without its compiled ops (seconds to build): the backbone, converters, classification, demo;
#   setup-full  mmcv with its compiled ops (about 15-20 min to build on 2 cores, once per machine: the wheel is
#               cached in WHEEL_CACHE): mmdet's detectors, and so the test suite.

VENV ?= .venv
PYTHON ?= python3
WHEEL_CACHE ?= $(or $(MMMIXER_WHEEL_CACHE),$(HOME)/.cache/mmmixer/wheels)
PY := $(VENV)/bin/python
# Re-run set-up when the requirements or packaging change.
SETUP_STAMP := $(VENV)/.mmmixer-setup-lite
SETUP_FULL_STAMP := $(VENV)/.mmmixer-setup-full
SETUP_INPUTS := requirements/torch.txt requirements/pinned.txt requirements/tests.txt requirements/seg.txt setup.py \
	tools/setup_env.sh tools/build_mmcv.sh
DEMO_DIR ?= work_dirs/demo
DEMO_DET_DIR ?= work_dirs/demo-det
DEMO_SEG_DIR ?= work_dirs/demo-seg
DEMO_TRANSFER_DIR ?= work_dirs/demo-transfer
PYTEST_ARGS ?=

.PHONY: setup setup-full test demo demo-det demo-seg demo-transfer lint format clean-venv

# The environment for the classification path (what `make demo` needs); a full environment satisfies it too.
setup: $(SETUP_STAMP)

# The environment with mmcv's compiled ops (what mmdet, `make test` and detection need); upgrades a lite one.
setup-full: $(SETUP_FULL_STAMP)

$(SETUP_STAMP): $(SETUP_INPUTS)
	@PYTHON=$(PYTHON) bash tools/setup_env.sh $(VENV) $(WHEEL_CACHE) lite
	@touch $@

# A full environment is also a lite one: its stamp is refreshed with it.
$(SETUP_FULL_STAMP): $(SETUP_INPUTS)
	@PYTHON=$(PYTHON) bash tools/setup_env.sh $(VENV) $(WHEEL_CACHE) full
	@touch $@ $(SETUP_STAMP)

# ruff + the whole test suite (which includes the detection tests, hence the full environment).
test: setup-full
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest $(PYTEST_ARGS)

# Prepare the digits, train a small Mixer, evaluate it: ends with the accuracy line.
# One torch thread (unless OMP_NUM_THREADS says otherwise): the model is so small that a second thread only
# waits for the first, and on a busy 2-core machine 2 threads made the demo 11x slower (587 s vs 54 s, docs/setup.md).
demo: setup
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(PY) tools/run_demo.py --work-dir $(DEMO_DIR)

# Fine-tune the `make demo` checkpoint (made first if missing) as a RetinaNet on digit canvases; ends with COCO mAP
# and a picture of the detections.
# mmdet needs mmcv's compiled ops, hence the full environment.
demo-det: setup-full
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(PY) tools/run_demo_det.py --work-dir $(DEMO_DET_DIR) --demo-dir $(DEMO_DIR)

# Fine-tune the `make demo` checkpoint (made first if missing) as a UPerNet segmenter on digit canvases; ends with
# mIoU and a picture (image | truth | prediction). mmseg's models need mmcv's compiled ops: the full environment.
demo-seg: setup-full
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(PY) tools/run_demo_seg.py --work-dir $(DEMO_SEG_DIR) --demo-dir $(DEMO_DIR)

# What pretraining buys: the `make demo` checkpoint (made first if missing) against random init on upside-down digits
# with 1-25 labelled images per class, few-shot and fine-tuned; ends with one line and a plot (docs/transfer.md).
demo-transfer: setup
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(PY) tools/run_demo_transfer.py --work-dir $(DEMO_TRANSFER_DIR) \
		--demo-dir $(DEMO_DIR)

# Check style without changing files.
lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# Rewrite files in the project's style.
format: setup
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# Remove the virtual environment (the wheel cache stays).
clean-venv:
	rm -rf $(VENV)
