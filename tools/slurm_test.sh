#!/usr/bin/env bash
# Evaluation on Slurm, one task per GPU:
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py flags...]
set -euo pipefail
PARTITION=${1:?usage: slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args]}
JOB_NAME=${2:?usage: slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args]}
CONFIG=${3:?usage: slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args]}
CHECKPOINT=${4:?usage: slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args]}
shift 4
source "$(dirname "$0")/launch_common.sh"
srun_tool "$PARTITION" "$JOB_NAME" test.py "$CONFIG" "$CHECKPOINT" "$@"
