#!/usr/bin/env bash
# Multi-process evaluation with torchrun: tools/dist_test.sh CONFIG CHECKPOINT GPUS [tools/test.py flags...]
set -euo pipefail
CONFIG=${1:?usage: dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]}
CHECKPOINT=${2:?usage: dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]}
GPUS=${3:?usage: dist_test.sh CONFIG CHECKPOINT GPUS [test.py args]}
shift 3
source "$(dirname "$0")/launch_common.sh"
torchrun_tool test.py "$GPUS" "$CONFIG" "$CHECKPOINT" "$@"
