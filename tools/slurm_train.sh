#!/usr/bin/env bash
# Training on Slurm, one task per GPU:
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] tools/slurm_train.sh PARTITION JOB_NAME CONFIG [WORK_DIR] [train.py flags...]
set -euo pipefail
PARTITION=${1:?usage: slurm_train.sh PARTITION JOB_NAME CONFIG [WORK_DIR] [train.py args]}
JOB_NAME=${2:?usage: slurm_train.sh PARTITION JOB_NAME CONFIG [WORK_DIR] [train.py args]}
CONFIG=${3:?usage: slurm_train.sh PARTITION JOB_NAME CONFIG [WORK_DIR] [train.py args]}
shift 3
WORK_DIR_ARGS=()
if [ $# -gt 0 ] && [[ $1 != -* ]]; then
    WORK_DIR_ARGS=(--work-dir "$1")
    shift
fi
source "$(dirname "$0")/launch_common.sh"
srun_tool "$PARTITION" "$JOB_NAME" train.py "$CONFIG" "${WORK_DIR_ARGS[@]}" "$@"
