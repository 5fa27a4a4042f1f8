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

# Whether $1 is one of the following arguments. (Not `list | grep -q`: under pipefail, grep leaving at the first
# match can end the listing with SIGPIPE, and the first task was then refused as unknown.)
one_of() { local wanted="$1" item; shift; for item in "$@"; do [ "$item" = "$wanted" ] && return 0; done; return 1; }

if [ $# -lt 2 ]; then usage; exit 2; fi
task="$1"; llm="$2"; shift 2
mapfile -t known_tasks < <(tasks)
mapfile -t known_llms < <(llms)
if ! one_of "$task" "${known_tasks[@]}"; then
  echo "run_demo.sh: unknown task '$task'; available: ${known_tasks[*]}" >&2; exit 2
fi
if ! one_of "$llm" "${known_llms[@]}"; then
  echo "run_demo.sh: unknown llm '$llm'; available: ${known_llms[*]}" >&2; exit 2
fi

if [ "$llm" = "local" ]; then bash scripts/bootstrap.sh --model; else bash scripts/bootstrap.sh; fi
exec .venv/bin/python -m copilot "task=$task" "llm=$llm" "$@"
