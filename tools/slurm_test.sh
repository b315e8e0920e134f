#!/usr/bin/env bash
# Evaluation on a Slurm cluster, one task per GPU:
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py flags...]
set -euo pipefail

PARTITION=${1:?usage: slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args]}
JOB_NAME=${2:?usage: slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT}
CONFIG=${3:?usage: slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT}
CHECKPOINT=${4:?usage: slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT}
shift 4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
here=$(cd "$(dirname "$0")" && pwd)
PYTHONPATH="$here/..${PYTHONPATH:+:$PYTHONPATH}" exec srun -p "$PARTITION" --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" --ntasks="$GPUS" --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" --kill-on-bad-exit=1 ${SRUN_ARGS:-} \
    "${PYTHON:-python}" -u "$here/test.py" "$CONFIG" "$CHECKPOINT" --launcher slurm "$@"
