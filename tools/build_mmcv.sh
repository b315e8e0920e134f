#!/usr/bin/env bash
# Build mmcv 2.1.0 (with its compiled ops) into a wheel cache, once per machine.
#
#   tools/build_mmcv.sh PYTHON WHEEL_DIR
#
# mmcv 2.1.0 ships only an sdist. Building it against torch 2.14 needs three things
# that a plain `pip install mmcv` does not do (REFERENCE §6):
#   * torch already installed and no build isolation (setup.py imports torch);
#   * setuptools < 80 (setup.py imports pkg_resources);
#   * -std=c++20 instead of the hard-coded -std=c++17 (torch >= 2.14 headers refuse C++17).
# The wheel lands in WHEEL_DIR; when one is already there this script does nothing.
set -euo pipefail

MMCV_VERSION=2.1.0
PYTHON=${1:?usage: build_mmcv.sh PYTHON WHEEL_DIR}
[ -x "$PYTHON" ] || { echo "build_mmcv: no python at $PYTHON" >&2; exit 1; }
# Absolute (the build runs in another directory), without resolving a venv's symlink.
PYTHON="$(cd "$(dirname "$PYTHON")" && pwd)/$(basename "$PYTHON")"
WHEEL_DIR=${2:?usage: build_mmcv.sh PYTHON WHEEL_DIR}

fail() {
    echo "build_mmcv: $*" >&2
    exit 1
}

mkdir -p "$WHEEL_DIR"
if compgen -G "$WHEEL_DIR/mmcv-$MMCV_VERSION-*.whl" >/dev/null; then
    echo "build_mmcv: reusing $(ls "$WHEEL_DIR"/mmcv-$MMCV_VERSION-*.whl)"
    exit 0
fi

command -v g++ >/dev/null || fail "no C++ compiler found. Install one (Debian: apt-get install -y g++) and run again."
"$PYTHON" -c 'import torch' 2>/dev/null || fail "torch is not importable by $PYTHON; install torch first."
free_kb=$(df -Pk "${TMPDIR:-/tmp}" | awk 'NR==2 {print $4}')
[ "$free_kb" -gt 3000000 ] || fail "less than 3 GB free in ${TMPDIR:-/tmp}; free some space or set TMPDIR to a larger disk."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log="$work/build.log"

echo "build_mmcv: building mmcv $MMCV_VERSION with compiled ops (about 12 minutes on 2 cores; log: $log)"
"$PYTHON" -m pip install -q 'setuptools>=77,<80' wheel ninja ||
    fail "could not install the build tools (setuptools<80, wheel, ninja); check the package index."
"$PYTHON" -m pip download -q --no-deps --no-binary :all: --no-build-isolation -d "$work" "mmcv==$MMCV_VERSION" \
    >"$log" 2>&1 || fail "could not download the mmcv $MMCV_VERSION sdist; see the last lines of the log: $(tail -3 "$log")"
tar -xzf "$work"/mmcv-$MMCV_VERSION.tar.gz -C "$work"
src="$work/mmcv-$MMCV_VERSION"
grep -q -- '-std=c++17' "$src/setup.py" || fail "mmcv's setup.py no longer pins -std=c++17; update this script."
sed -i 's/-std=c++17/-std=c++20/g' "$src/setup.py"

# Copy the log out before the trap removes it, so a failed build can be read.
if ! (cd "$src" && MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
    "$PYTHON" -m pip wheel -v --no-deps --no-build-isolation -w "$work/dist" . >>"$log" 2>&1); then
    cp "$log" "$WHEEL_DIR/mmcv-build-failed.log"
    echo "build_mmcv: the mmcv build failed. Last errors:" >&2
    grep -E -m 5 'error|Error' "$log" >&2 || tail -5 "$log" >&2
    fail "full log: $WHEEL_DIR/mmcv-build-failed.log (a missing compiler, headers or disk space are the usual causes)."
fi
# Move atomically so that an interrupted build never leaves a half-written wheel in the cache.
wheel=$(ls "$work"/dist/mmcv-$MMCV_VERSION-*.whl)
cp "$wheel" "$WHEEL_DIR/.tmp-$(basename "$wheel")"
mv "$WHEEL_DIR/.tmp-$(basename "$wheel")" "$WHEEL_DIR/$(basename "$wheel")"
rm -f "$WHEEL_DIR/mmcv-build-failed.log"
echo "build_mmcv: cached $WHEEL_DIR/$(basename "$wheel")"
