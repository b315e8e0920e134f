# Shared by tools/{dist,slurm}_{train,test}.sh (sourced, not run).

tools_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PYTHONPATH="$tools_dir/..${PYTHONPATH:+:$PYTHONPATH}"

# torchrun_tool SCRIPT NPROC ARGS...: run tools/SCRIPT in NPROC processes per node.
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR (and PORT) on every node.
torchrun_tool() {
    local script=$1 nproc=$2
    shift 2
    exec "${PYTHON:-python}" -m torch.distributed.run \
        --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" --master_addr="${MASTER_ADDR:-127.0.0.1}" \
        --nproc_per_node="$nproc" --master_port="${PORT:-29500}" \
        "$tools_dir/$script" "$@" --launcher pytorch
}

# srun_tool PARTITION JOB_NAME SCRIPT ARGS...: run tools/SCRIPT as GPUS Slurm tasks, one per GPU.
srun_tool() {
    local partition=$1 job_name=$2 script=$3
    shift 3
    # shellcheck disable=SC2086  # SRUN_ARGS holds several words on purpose
    exec srun -p "$partition" --job-name="$job_name" \
        --gres=gpu:"${GPUS_PER_NODE:-8}" --ntasks="${GPUS:-8}" --ntasks-per-node="${GPUS_PER_NODE:-8}" \
        --cpus-per-task="${CPUS_PER_TASK:-5}" --kill-on-bad-exit=1 ${SRUN_ARGS:-} \
        "${PYTHON:-python}" -u "$tools_dir/$script" "$@" --launcher slurm
}
