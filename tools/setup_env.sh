#!/usr/bin/env bash
# Create (or complete) the project's virtual environment with the pinned OpenMMLab stack.
#
#   tools/setup_env.sh VENV [WHEEL_DIR]
#
# Called by `make setup` (and so by `make test` / `make demo`). Safe to run again:
# every step is skipped or finishes in seconds when its result is already there.
set -euo pipefail

VENV=${1:?usage: setup_env.sh VENV [WHEEL_DIR]}
WHEEL_DIR=${2:-${MMMIXER_WHEEL_CACHE:-$HOME/.cache/mmmixer/wheels}}
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
"$root/tools/build_mmcv.sh" "$py" "$WHEEL_DIR"
step "installing mmcv, the OpenMMLab stack, test tools and mmmixer (editable)" \
    "pip could not install the pinned requirements; see which package it names above" \
    "${pip[@]}" "$WHEEL_DIR"/mmcv-2.1.0-*.whl -r "$root/requirements/pinned.txt" \
    -r "$root/requirements/tests.txt" -e "$root[det,tests,convert]"
step "checking that the stack imports" "the installed stack does not import; see the log" \
    "$py" -c 'import mmcv.ops, mmdet, mmpretrain, timm, mmmixer'
rm -f "$log"
echo "setup: ready ($VENV)"
