#!/usr/bin/env bash
# Multi-process training on one or more nodes with torchrun:
#   tools/dist_train.sh CONFIG GPUS [tools/train.py flags...]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR (and PORT) on every node.
set -euo pipefail
CONFIG=${1:?usage: dist_train.sh CONFIG GPUS [train.py args]}
GPUS=${2:?usage: dist_train.sh CONFIG GPUS [train.py args]}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
PYTHON=${PYTHON:-python}
PYTHONPATH="$here/..${PYTHONPATH:+:$PYTHONPATH}" exec "$PYTHON" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --nproc_per_node="$GPUS" --master_port="${PORT:-29500}" \
    "$here/train.py" "$CONFIG" --launcher pytorch "$@"
