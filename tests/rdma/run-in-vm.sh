#!/usr/bin/env bash
# The RDMA part of CI: runs the RDMA loopback test on a real verbs device
# (soft-RoCE rxe0) inside the throw-away guest of tools/rdma-vm, next to
# perftest's ib_write_lat / ib_write_bw over the same device in the same
# guest run: the floor its figures are held against (the guest is emulated,
# so only ratios within one run mean anything).
#
#   run-in-vm.sh LOOPBACK_TEST [ARGS...]
#
# Sets the VM up if needed. Exits 77 (skipped, for meson) when no VM can be
# had here: no qemu and no way to install it, no kernel package reachable,
# or LMIG_RDMA_VM=0. Any failure once the VM runs is a failure.
# LMIG_RDMA_ARGS adds arguments for the loopback test (sizes: see its --help).
set -uo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")

# ------------------------------------------------------------ in the guest --
if [ "${1:-}" = --in-guest ]; then
  shift
  BIN=$1; shift
  DEV=${RDMAVM_DEV:?not in the rdma-vm guest} IP=${RDMAVM_IP:?}
  lat=$(mktemp) bw=$(mktemp) mine=$(mktemp)
  # perftest: a server in the background, the client here (rdma_cm on IP).
  perf() {
    local tool=$1 port=$2; shift 2
    "$tool" -d "$DEV" -R -F -p "$port" "$@" >/dev/null 2>&1 &
    local srv=$!
    sleep 1.5
    timeout 120 "$tool" -d "$DEV" -R -F -p "$port" "$@" "$IP" 2>&1
    local rc=$?
    wait "$srv" 2>/dev/null
    return $rc
  }
  t0=$(date +%s.%N)
  perf ib_write_lat 18521 -s 4096 -n 2000 > "$lat" || { cat "$lat"; echo "ib_write_lat failed"; exit 1; }
  perf ib_write_bw 18522 -s 65536 -n 2000 > "$bw" || { cat "$bw"; echo "ib_write_bw failed"; exit 1; }
  t1=$(date +%s.%N)
  "$BIN" --addr "$IP" "$@" | tee "$mine"
  rc=${PIPESTATUS[0]}
  t2=$(date +%s.%N)
  # ib_write_lat: #bytes #iters t_min t_max t_typical t_avg t_stdev 99% 99.9%
  # (no process substitution: the guest has no /dev/fd)
  read -r lat_typ lat_99 <<<"$(awk '$1=="4096" && NF>=9 {print $5, $8}' "$lat")"
  # ib_write_bw: #bytes #iters BW_peak BW_average MsgRate  (MB/s)
  bw_avg=$(awk '$1=="65536" && NF>=5 {print $4}' "$bw")
  js=$(grep '^{"rdma_loopback"' "$mine")
  get() { printf '%s' "$js" | sed -n "s/.*\"$1\":\\([0-9.]*\\).*/\\1/p"; }
  echo
  echo "== perftest over $DEV =="
  grep -A1 -E '^ #bytes' "$lat" "$bw" | sed 's|^/[^:-]*[:-]| |'
  echo
  echo "== RDMA over rxe0 in the same guest run (TCG: compare ratios only) =="
  awk -v lt="${lat_typ:-0}" -v l99="${lat_99:-0}" -v bw="${bw_avg:-0}" \
      -v p50="$(get lat_p50_us)" -v p99="$(get lat_p99_us)" \
      -v s50="$(get lat_sleep_p50_us)" -v s99="$(get lat_sleep_p99_us)" \
      -v push="$(get push_mbps)" -v rev="$(get reverse_mbps)" -v dem="$(get demand_mbps)" '
    function r(a, b) { return b > 0 ? sprintf("%.2fx", a / b) : "-" }
    BEGIN {
      # ib_write_lat ping-pongs and reports half the round trip: a request
      # and its answer are held against the whole round trip.
      printf "  %-46s %10s %10s\n", "", "p50/typ", "p99"
      printf "  %-46s %8.1f us %8.1f us\n", "perftest ib_write_lat -s 4096, round trip", 2 * lt, 2 * l99
      printf "  %-46s %8.1f us %8.1f us   (%s, %s of perftest)\n", "lmig 4 KiB request/response, busy-polling", p50, p99, r(p50, 2 * lt), r(p99, 2 * l99)
      printf "  %-46s %8.1f us %8.1f us   (%s, %s)\n", "lmig 4 KiB request/response, sleeping", s50, s99, r(s50, 2 * lt), r(s99, 2 * l99)
      printf "  %-46s %8.1f MB/s\n", "perftest ib_write_bw -s 65536", bw
      printf "  %-46s %8.1f MB/s  (%s of perftest)\n", "lmig push, 128 KiB runs + xxh3, source->target", push, r(push, bw)
      printf "  %-46s %8.1f MB/s  (%s)\n", "lmig push, target->source", rev, r(rev, bw)
      printf "  %-46s %8.1f MB/s  (%s)\n", "lmig demand, 256 KiB runs request/response", dem, r(dem, bw)
    }'
  awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN{printf "  (perftest %.1fs, lmig loopback %.1fs)\n", b-a, c-b}'
  # lmig itself, end to end over rxe0, when the binaries are given.
  if [ "$rc" = 0 ] && [ -n "${LMIG_PC_ARGS:-}" ]; then
    echo
    # shellcheck disable=SC2086 # LMIG_PC_ARGS is a list of words
    python3 "$(dirname "$SELF")/postcopy_in_guest.py" $LMIG_PC_ARGS --ip "$IP" \
      --write-lat-us "${lat_typ:-0}" --write-bw-mbs "${bw_avg:-0}"
    rc=$?
    t3=$(date +%s.%N)
    awk -v a="$t2" -v b="$t3" 'BEGIN{printf "  (lmig post-copy scenario %.1fs)\n", b-a}'
  fi
  exit "$rc"
fi

# -------------------------------------------------------------- on the host --
ROOT=$(cd "$(dirname "$SELF")/../.." && pwd)
VM=$ROOT/tools/rdma-vm/rdma-vm
skip() { echo "run-in-vm: SKIP: $*"; exit 77; }

[ $# -ge 1 ] || { echo "usage: $0 LOOPBACK_TEST [ARGS...]" >&2; exit 2; }
BIN=$(readlink -f "$1"); shift
[ -x "$BIN" ] || { echo "run-in-vm: $BIN is not an executable" >&2; exit 1; }
[ "${LMIG_RDMA_VM:-1}" = 0 ] && skip "LMIG_RDMA_VM=0"

t0=$(date +%s.%N)
if ! "$VM" check >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || command -v qemu-system-x86_64 >/dev/null || skip "no qemu, and not root to install it"
  "$VM" setup || skip "the VM cannot be set up here (no qemu, or no kernel package reachable)"
fi
if ! "$VM" check; then
  skip "the VM is not usable here"
fi
t1=$(date +%s.%N)

# The guest mounts the current directory read-write: run from a scratch one.
work=$(mktemp -d "${TMPDIR:-/tmp}/lmig-rdma.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
# shellcheck disable=SC2086 # LMIG_RDMA_ARGS is a list of words
"$VM" run --timeout "${LMIG_RDMA_VM_TIMEOUT:-600}" -- "$SELF" --in-guest "$BIN" ${LMIG_RDMA_ARGS:-} "$@"
rc=$?
t2=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN{printf "run-in-vm: setup/check %.1fs, guest run %.1fs\n", b-a, c-b}'
exit $rc
