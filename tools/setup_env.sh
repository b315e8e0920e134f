#!/usr/bin/env bash
# Create (or complete) the project's virtual environment with the pinned OpenMMLab stack.
#
#   tools/setup_env.sh VENV [WHEEL_DIR] [lite|full]
#
# lite (`make setup`, and so `make demo`): mmcv without its compiled ops, built in seconds. Enough for the
#   backbone, the converters and the classification path; an mmcv that has the ops already is kept.
# full (`make setup-full`, and so `make test`): mmcv with its compiled ops, which mmdet's detectors need;
#   built once per machine (about 15-20 minutes on 2 cores) into WHEEL_DIR, then installed from there in seconds.
#   Also mmsegmentation (requirements/seg.txt), whose models import the ops.
# Everything else is the same at both levels. Safe to run again: every step is skipped or finishes in
# seconds when its result is already there.
set -euo pipefail

VENV=${1:?usage: setup_env.sh VENV [WHEEL_DIR] [lite|full]}
WHEEL_DIR=${2:-${MMMIXER_WHEEL_CACHE:-$HOME/.cache/mmmixer/wheels}}
LEVEL=${3:-lite}
MMCV_VERSION=2.1.0
PYTHON_BIN=${PYTHON:-python3}
root=$(cd "$(dirname "$0")/.." && pwd)
log=$(mktemp -t mmmixer-setup.XXXXXX.log)

fail() {
    echo "setup: $*" >&2
    exit 1
}

# Run a step quietly; on failure show its last lines and a hint instead of a long log.
step() {
    local what=$1 hint=$2
    shift 2
    echo "setup: $what"
    if ! "$@" >>"$log" 2>&1; then
        echo "setup: FAILED: $what" >&2
        grep -E -i 'error|no space|not found|could not' "$log" | tail -5 >&2 || tail -5 "$log" >&2
        fail "$hint (full log: $log)"
    fi
}

case "$LEVEL" in lite | full) ;; *) fail "unknown level '$LEVEL' (lite or full)" ;; esac

free_kb=$(df -Pk "$root" | awk 'NR==2 {print $4}')
[ "$free_kb" -gt 8000000 ] || fail "less than 8 GB free on $(df -P "$root" | awk 'NR==2 {print $6}'): torch and its CUDA libraries need about 7 GB. Free some space and run again."

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON_BIN" -c 'import sys; assert sys.version_info >= (3, 10)' 2>/dev/null ||
        fail "$PYTHON_BIN is missing or older than 3.10; set PYTHON=/path/to/python3.11."
    step "creating the virtual environment $VENV" "could not create a venv; install python3-venv" \
        "$PYTHON_BIN" -m venv "$VENV"
fi
py="$(cd "$VENV" && pwd)/bin/python"
pip=("$py" -m pip install --disable-pip-version-check)

step "installing torch and torchvision (requirements/torch.txt)" \
    "pip could not install torch; check that the package index is reachable" \
    "${pip[@]}" -r "$root/requirements/torch.txt"
# mmcv: the lite level keeps whichever 2.1.0 build is there (a full one is never downgraded); the full
# level installs the full wheel, which pip puts in place of 2.1.0+lite as the same distribution.
installed_mmcv=$("$py" -c 'import importlib.metadata as m; print(m.version("mmcv"))' 2>/dev/null || true)
mmcv_wheel=()
if [ "$LEVEL" = full ]; then
    "$root/tools/build_mmcv.sh" "$py" "$WHEEL_DIR" full
    mmcv_wheel=("$WHEEL_DIR"/mmcv-$MMCV_VERSION-*.whl)
elif [ "$installed_mmcv" = "$MMCV_VERSION" ] || [ "$installed_mmcv" = "$MMCV_VERSION+lite" ]; then
    echo "setup: keeping the installed mmcv $installed_mmcv"
else
    "$root/tools/build_mmcv.sh" "$py" "$WHEEL_DIR" lite
    mmcv_wheel=("$WHEEL_DIR"/mmcv-$MMCV_VERSION+lite-*.whl)
fi
# Segmentation (mmseg) only at the full level: its models import mmcv's compiled ops.
full_only=()
if [ "$LEVEL" = full ]; then full_only=(-r "$root/requirements/seg.txt"); fi
step "installing mmcv, the OpenMMLab stack, test tools and mmmixer (editable)" \
    "pip could not install the pinned requirements; see which package it names above" \
    "${pip[@]}" "${mmcv_wheel[@]}" -r "$root/requirements/pinned.txt" \
    -r "$root/requirements/tests.txt" ${full_only[@]+"${full_only[@]}"} -e "$root[det,tests,convert]"
step "checking that the stack imports" "the installed stack does not import; see the log" \
    "$py" -c 'import mmcv, mmdet, mmpretrain, timm, mmmixer'
if [ "$LEVEL" = full ]; then
    step "checking that mmcv's compiled ops load" \
        "mmcv.ops does not import: the cached wheel may not match torch; delete it from $WHEEL_DIR and run again" \
        "$py" -c 'import mmcv.ops'
    step "checking that mmsegmentation imports" "mmseg does not import; see the log (requirements/seg.txt)" \
        "$py" -c 'import mmseg.models'
fi
rm -f "$log"
mmcv_now=$("$py" -c 'import importlib.metadata as m; print(m.version("mmcv"))')
if [ "$mmcv_now" = "$MMCV_VERSION+lite" ]; then
    echo "setup: ready in ${SECONDS} s ($VENV) with mmcv $mmcv_now: no compiled ops, enough for the classification" \
        "path and make demo. Detection (mmdet) needs them: make setup-full (builds them once, about 15-20 minutes" \
        "on 2 cores)."
else
    echo "setup: ready in ${SECONDS} s ($VENV) with mmcv $mmcv_now and its compiled ops"
fi
