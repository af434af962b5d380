#!/usr/bin/env bash
# Distributed testing through PyTorch's launcher (torchrun), as in mmdet / mmrazor.
#   tools/dist_test.sh CONFIG CHECKPOINT NPROC_PER_NODE [test.py args...]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT on every node.
# Interpreter: $PYTHON if set, else the repository's .venv/bin/python if it exists,
# else `python` from PATH.
set -euo pipefail
if [[ $# -lt 3 ]]; then
    echo "usage: [PYTHON=...] $0 CONFIG CHECKPOINT NPROC_PER_NODE [test.py args...]" >&2
    exit 2
fi
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
TOOLS=$(dirname "$0")
if [[ -z ${PYTHON:-} && -x "$TOOLS/../.venv/bin/python" ]]; then
    PYTHON="$TOOLS/../.venv/bin/python"
fi
PYTHON=${PYTHON:-python}

PYTHONPATH="$TOOLS/..${PYTHONPATH:+:$PYTHONPATH}" \
"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$TOOLS/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "${@:4}"
