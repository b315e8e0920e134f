#!/usr/bin/env bash
# Build mmcv 2.1.0 into a wheel cache, once per machine, with or without its compiled ops.
#
#   tools/build_mmcv.sh PYTHON WHEEL_DIR [lite|full]
#
# lite (default): mmcv without compiled ops, as the wheel mmcv-2.1.0+lite (seconds to build). Enough for the
#   backbone, the converters and the classification path (mmpretrain, tools/train.py, tools/test.py, make demo).
#   Upstream names such a build `mmcv-lite`; we keep the name `mmcv` and mark it with the local version
#   `+lite`, so that pip sees the `mmcv` requirements of mmmixer and mmpretrain met (instead of fetching and
#   building the sdist behind our back), `pip list` says which build is in use, and installing the full wheel
#   later replaces it as the same distribution (never two distributions owning the `mmcv/` directory).
# full: mmcv with its compiled ops (nms, RoIAlign, ...), which mmdet's models import; about 15-20 minutes on
#   2 cores. mmcv 2.1.0 ships only an sdist; building it against torch 2.14 needs three things that a plain
#   `pip install mmcv` does not do:
#   * torch already installed and no build isolation (setup.py imports torch);
#   * setuptools < 80 (setup.py imports pkg_resources);
#   * -std=c++20 instead of the hard-coded -std=c++17 (torch >= 2.14 headers refuse C++17).
# The wheel lands in WHEEL_DIR (moved in atomically); when one is already there this script does nothing.
set -euo pipefail

MMCV_VERSION=2.1.0
PYTHON=${1:?usage: build_mmcv.sh PYTHON WHEEL_DIR [lite|full]}
[ -x "$PYTHON" ] || { echo "build_mmcv: no python at $PYTHON" >&2; exit 1; }
# Absolute (the build runs in another directory), without resolving a venv's symlink.
PYTHON="$(cd "$(dirname "$PYTHON")" && pwd)/$(basename "$PYTHON")"
WHEEL_DIR=${2:?usage: build_mmcv.sh PYTHON WHEEL_DIR [lite|full]}
FLAVOUR=${3:-lite}

fail() {
    echo "build_mmcv: $*" >&2
    exit 1
}

case "$FLAVOUR" in
lite) wheel_glob="mmcv-$MMCV_VERSION+lite-*.whl" ;;
full) wheel_glob="mmcv-$MMCV_VERSION-*.whl" ;;
*) fail "unknown flavour '$FLAVOUR' (lite or full)" ;;
esac

mkdir -p "$WHEEL_DIR"
if compgen -G "$WHEEL_DIR/$wheel_glob" >/dev/null; then
    echo "build_mmcv: reusing $(ls "$WHEEL_DIR"/$wheel_glob)"
    exit 0
fi

"$PYTHON" -c 'import setuptools' 2>/dev/null || fail "setuptools is not importable by $PYTHON."
if [ "$FLAVOUR" = full ]; then
    command -v g++ >/dev/null || fail "no C++ compiler found. Install one (Debian: apt-get install -y g++) and run again."
    "$PYTHON" -c 'import torch' 2>/dev/null || fail "torch is not importable by $PYTHON; install torch first."
    free_kb=$(df -Pk "${TMPDIR:-/tmp}" | awk 'NR==2 {print $4}')
    [ "$free_kb" -gt 3000000 ] || fail "less than 3 GB free in ${TMPDIR:-/tmp}; free some space or set TMPDIR to a larger disk."
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log="$work/build.log"

if [ "$FLAVOUR" = full ]; then
    echo "build_mmcv: building mmcv $MMCV_VERSION's compiled ops (about 15-20 minutes on 2 cores, once; cached in $WHEEL_DIR; log: $log)"
    build_tools=('setuptools>=77,<80' wheel ninja)
else
    echo "build_mmcv: building mmcv $MMCV_VERSION without compiled ops (seconds, once; cached in $WHEEL_DIR)"
    build_tools=('setuptools>=77,<80' wheel)
fi
"$PYTHON" -m pip install -q "${build_tools[@]}" >"$log" 2>&1 ||
    fail "could not install the build tools (${build_tools[*]}); check the package index. $(tail -3 "$log")"
"$PYTHON" -m pip download -q --no-deps --no-binary :all: --no-build-isolation -d "$work" "mmcv==$MMCV_VERSION" \
    >>"$log" 2>&1 || fail "could not download the mmcv $MMCV_VERSION sdist; see the last lines of the log: $(tail -3 "$log")"
tar -xzf "$work"/mmcv-$MMCV_VERSION.tar.gz -C "$work"
src="$work/mmcv-$MMCV_VERSION"

# Patch the sdist; each pattern is checked first, so that a changed sdist fails here and not half-way.
patch_setup() {
    local pattern=$1 replacement=$2
    grep -qF -- "$pattern" "$src/setup.py" || fail "mmcv's setup.py no longer contains \"$pattern\"; update this script."
    "$PYTHON" - "$src/setup.py" "$pattern" "$replacement" <<'EOF'
import sys
path, pattern, replacement = sys.argv[1:]
with open(path) as f:
    text = f.read()
with open(path, 'w') as f:
    f.write(text.replace(pattern, replacement))
EOF
}
if [ "$FLAVOUR" = full ]; then
    patch_setup "-std=c++17" "-std=c++20"
    with_ops=1
else
    patch_setup "name='mmcv' if os.getenv('MMCV_WITH_OPS', '1') == '1' else 'mmcv-lite'," "name='mmcv',"
    patch_setup "version=get_version()," "version=get_version() + '+lite',"
    with_ops=0
fi

# Copy the log out before the trap removes it, so a failed build can be read.
if ! (cd "$src" && MMCV_WITH_OPS=$with_ops MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
    "$PYTHON" -m pip wheel -v --no-deps --no-build-isolation -w "$work/dist" . >>"$log" 2>&1); then
    cp "$log" "$WHEEL_DIR/mmcv-build-failed.log"
    echo "build_mmcv: the mmcv build failed. Last errors:" >&2
    grep -E -m 5 'error|Error' "$log" >&2 || tail -5 "$log" >&2
    fail "full log: $WHEEL_DIR/mmcv-build-failed.log (a missing compiler, headers or disk space are the usual causes)."
fi
# Move atomically so that an interrupted build never leaves a half-written wheel in the cache.
wheel=$(ls "$work"/dist/$wheel_glob)
cp "$wheel" "$WHEEL_DIR/.tmp-$(basename "$wheel")"
mv "$WHEEL_DIR/.tmp-$(basename "$wheel")" "$WHEEL_DIR/$(basename "$wheel")"
rm -f "$WHEEL_DIR/mmcv-build-failed.log"
echo "build_mmcv: cached $WHEEL_DIR/$(basename "$wheel")"
