#!/usr/bin/env bash
# Build and run copilot in a container (Docker): bash container.sh [--gpus] [hydra overrides...]
#   bash container.sh task=tabular-digits llm=local
#   bash container.sh --gpus task=text-embeddings llm=llama
# problems/, workspaces/ and logs/ of this checkout are mounted; API keys come from .env when it exists.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v docker >/dev/null 2>&1; then
  echo "container.sh: the docker command is not installed; install Docker or run natively: bash run_demo.sh <task> <llm>" >&2
  exit 2
fi
if ! docker info >/dev/null 2>&1; then
  echo "container.sh: no Docker engine is reachable (is the daemon running, and may this user use it?);" \
       "or run natively: bash run_demo.sh <task> <llm>" >&2
  exit 2
fi

gpus=()
if [ "${1:-}" = "--gpus" ]; then gpus=(--gpus all); shift; fi
env_file=()
if [ -f .env ]; then env_file=(--env-file .env); fi

image="copilot:latest"
docker build -t "$image" .
mkdir -p logs
tty=()
if [ -t 0 ] && [ -t 1 ]; then tty=(-t); fi
exec docker run --rm -i "${tty[@]}" "${gpus[@]}" "${env_file[@]}" \
  -v "$PWD/problems:/home/copilot/app/problems" \
  -v "$PWD/workspaces:/home/copilot/app/workspaces" \
  -v "$PWD/logs:/home/copilot/app/logs" \
  "$image" "$@"
