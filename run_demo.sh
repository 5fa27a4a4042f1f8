#!/usr/bin/env bash
# Run copilot on a task with an LLM preset: bash run_demo.sh <task> <llm> [hydra overrides...]
#   bash run_demo.sh tabular-digits local
#   bash run_demo.sh forecast-sales tiny feedback=auto search=tree
# On first use it creates .venv, installs copilot and prepares the embedded model (see scripts/bootstrap.sh).
# Every run writes a new logs/<task>/<timestamp>/ folder; existing log folders are never touched.
set -euo pipefail
cd "$(dirname "$0")"

tasks() { for entry in problems/*; do
  name=$(basename "$entry")
  if [ -f "$entry/task.yaml" ] || [ -f "$entry" ]; then echo "$name"; fi
done; }
llms() { for f in conf/llm/*.yaml; do basename "$f" .yaml; done; }

usage() {
  echo "usage: bash run_demo.sh <task> <llm> [hydra overrides...]" >&2
  echo "  tasks: $(tasks | tr '\n' ' ')" >&2
  echo "  llms:  $(llms | tr '\n' ' ')" >&2
}

if [ $# -lt 2 ]; then usage; exit 2; fi
task="$1"; llm="$2"; shift 2
if ! tasks | grep -qx -- "$task"; then
  echo "run_demo.sh: unknown task '$task'; available: $(tasks | tr '\n' ' ')" >&2; exit 2
fi
if ! llms | grep -qx -- "$llm"; then
  echo "run_demo.sh: unknown llm '$llm'; available: $(llms | tr '\n' ' ')" >&2; exit 2
fi

if [ "$llm" = "local" ]; then bash scripts/bootstrap.sh --model; else bash scripts/bootstrap.sh; fi
exec .venv/bin/python -m copilot "task=$task" "llm=$llm" "$@"
