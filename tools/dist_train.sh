#!/usr/bin/env bash
# Multi-process training with torchrun: tools/dist_train.sh CONFIG GPUS [tools/train.py flags...]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR (and PORT) on every node. Without CUDA it runs on CPU (gloo).
set -euo pipefail
CONFIG=${1:?usage: dist_train.sh CONFIG GPUS [train.py args]}
GPUS=${2:?usage: dist_train.sh CONFIG GPUS [train.py args]}
shift 2
source "$(dirname "$0")/launch_common.sh"
torchrun_tool train.py "$GPUS" "$CONFIG" "$@"
