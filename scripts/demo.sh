#!/usr/bin/env bash
# Migrates a demo workload over loopback and prints what happened: lmigd
# listens on 127.0.0.1, a process fills 256 MiB and keeps working, lmig
# moves it, and the moved process checks every byte of its state.
set -euo pipefail
BUILD=$1
MIB=${LMIG_DEMO_MIB:-256}
LMIG=$BUILD/tools/lmig
LMIGD=$BUILD/tools/lmigd
WL=$BUILD/tests/workloads/wl_state
work=$(mktemp -d /tmp/lmig-demo-XXXXXX)
lmigd_pid= wl_pid= target_pid=
cleanup() {
  for p in $target_pid $wl_pid $lmigd_pid; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

"$LMIGD" --listen 127.0.0.1:0 --port-file "$work/port" 2>"$work/lmigd.log" &
lmigd_pid=$!
disown "$lmigd_pid"
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
port=$(cat "$work/port")

# A fresh session, stdio on /dev/null and no inherited fds: lmig moves only
# pipes whose both ends the process holds.
setsid python3 -c 'import os, sys; os.closerange(3, 1 << 20); os.execv(sys.argv[1], sys.argv[1:])' \
  "$WL" --dir "$work" --ready "$work/ready" --verdict "$work/verdict" --mem "$MIB" \
  </dev/null >/dev/null 2>"$work/wl.err" &
wl_pid=$!
disown "$wl_pid"
for _ in $(seq 600); do [ -s "$work/ready" ] && break; sleep 0.05; done
echo "== a process holding ${MIB} MiB, files, a pipe, mappings and signal handlers: PID $wl_pid"
echo "== lmigd listening on 127.0.0.1:$port"
echo "== lmig ${LMIG_DEMO_MODE:---stop-copy} $wl_pid 127.0.0.1:$port"
"$LMIG" ${LMIG_DEMO_MODE:---stop-copy} "$wl_pid" "127.0.0.1:$port" | tee "$work/summary"
"$LMIG" --version >/dev/null
target_pid=$(awk '/runs there as PID/ {print $(NF-5)}' "$work/summary")
for _ in $(seq 100); do kill -0 "$wl_pid" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$wl_pid" 2>/dev/null; then
  echo "!! the source process is still alive" >&2
  exit 1
fi
wl_pid=
echo "== the source process is gone; asking the migrated process (PID $target_pid here) to check itself"
kill -USR1 "$target_pid"
for _ in $(seq 200); do grep -q 'seq=1' "$work/verdict" 2>/dev/null && break; sleep 0.05; done
echo "== verdict: $(cat "$work/verdict" 2>/dev/null || echo none)"
echo "== lmigd said:"
sed 's/^/   /' "$work/lmigd.log"
grep -q '^PASS' "$work/verdict"
