#!/usr/bin/env python3
"""End-to-end stop-copy benchmark: downtime and throughput of `lmig --stop-copy`.

For each resident size (MiB) and repetition: start `lmigd --listen 127.0.0.1:0`,
start bench_memhog with that much pseudo-random anonymous memory, migrate it
with `lmig --stop-copy PID 127.0.0.1:PORT --json`, send SIGUSR1 to the
restored process, and require its own check of every byte ("PASS" in its
verdict file). The loopback TCP floor (tcp_floor) is measured in the same run,
before and after the migrations. Writes one JSON document (--out) and an SVG
plot of downtime against size (--svg), and prints the document on stdout.
Progress goes to stderr. Exit status 0 only if every migration verified.

Processes are stopped by PID only (through pidfds, so a recycled PID is never
hit): lmigd with SIGTERM, anything left over with SIGKILL.

Standard library only. Must run as root (lmig uses ptrace, lmigd clones PID
namespaces).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True  # keep bench/ free of __pycache__
sys.path.insert(0, str(HERE))
import plot_svg  # noqa: E402

import e2e_common as common  # noqa: E402
from e2e_common import BenchError, MIB, log, mmm, run_tcp_floor  # noqa: E402

common.LOG_PREFIX = "e2e_stopcopy"


# ---- one migration --------------------------------------------------------------

def run_once(args, size_mib: int, rep: int, work: Path) -> dict:
    # Start lmigd and bench_memhog, migrate, check, SIGUSR1, require PASS,
    # clean up by PID (see e2e_common.migrate_once).
    return common.migrate_once(args, size_mib, rep, work, mode="stop-copy")


# ---- summary --------------------------------------------------------------------

def summarize(size_mib: int, runs: list[dict], floor_bps: float | None) -> dict:
    st = [r["lmig"] for r in runs]
    down = [s["downtime_ms"] for s in st]
    thr = [s["bytes"] / (s["downtime_ms"] / 1000) for s in st if s["downtime_ms"] > 0]
    out = {
        "size_mib": size_mib,
        "runs": len(runs),
        "downtime_ms": mmm(down),
        "total_ms": mmm([s["total_ms"] for s in st]),
        "freeze_ms": mmm([s.get("freeze_ms", 0.0) for s in st]),
        "capture_ms": mmm([s.get("capture_ms", 0.0) for s in st]),
        "restore_ms": mmm([s.get("restore_ms", 0.0) for s in st]),
        "pages_total": mmm([float(s.get("pages_total", 0)) for s in st], 0),
        "bytes": mmm([float(s["bytes"]) for s in st], 0),
        "throughput_bytes_per_s": mmm(thr, 0),
        "throughput_gib_per_s": mmm([t / (1 << 30) for t in thr]),
        # bench_memhog's own first touch and fill of the same memory: a rough
        # reference for what faulting the pages in costs on this machine.
        "memhog_fill_s": mmm([r["fill_s"] for r in runs]),
    }
    if floor_bps:
        out["ratio_to_tcp_floor"] = mmm([t / floor_bps for t in thr])
    return out


def draw(svg_path: Path, results: list[dict], floor_bps: float | None, machine: dict,
         repeat: int) -> None:
    pts = [(r["size_mib"], r["downtime_ms"]["median"]) for r in results]
    errs = [(r["downtime_ms"]["min"], r["downtime_ms"]["max"]) for r in results]
    series = [plot_svg.Series("stop-copy downtime (median, min-max)", pts, errors=errs)]
    sub = f"{machine.get('nproc')} CPUs, Linux {machine.get('kernel')}, {repeat} runs per size"
    if floor_bps:
        series.append(plot_svg.Series(
            f"loopback TCP floor ({floor_bps / (1 << 30):.2f} GiB/s): size / floor",
            [(0, 0)] + [(r["size_mib"], r["size_mib"] * MIB / floor_bps * 1000) for r in results],
            style="lines", dashed=True, color="#7f7f7f"))
    plot_svg.write_plot(svg_path, series, "resident size (MiB)", "downtime (ms)",
                        "lmig stop-copy: downtime vs resident size", subtitle=sub)


# ---- main -----------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lmig", required=True)
    ap.add_argument("--lmigd", required=True)
    ap.add_argument("--memhog", required=True, help="bench_memhog executable")
    ap.add_argument("--tcp-floor", required=True, help="tcp_floor executable")
    ap.add_argument("--sizes", default=os.environ.get("LMIG_BENCH_SIZES", "64,512,2048"),
                    help="comma-separated resident sizes in MiB (env LMIG_BENCH_SIZES)")
    ap.add_argument("--repeat", type=int, default=int(os.environ.get("LMIG_BENCH_REPEAT", "3")),
                    help="runs per size (env LMIG_BENCH_REPEAT)")
    ap.add_argument("--out", default=str(HERE / "results" / "e2e_stopcopy.json"))
    ap.add_argument("--svg", default=str(HERE / "results" / "downtime_stopcopy.svg"))
    ap.add_argument("--floor-mib", type=int, default=1024, help="bytes per TCP floor stream (MiB)")
    ap.add_argument("--floor-chunk-kib", type=int, default=1024, help="write() size (KiB)")
    ap.add_argument("--floor-repetitions", type=int, default=3)
    ap.add_argument("--migration-timeout", type=float, default=600)
    ap.add_argument("--memhog-lifetime", type=int, default=1800,
                    help="bench_memhog gives up (FAIL timeout) after this many seconds")
    ap.add_argument("--memhog-sigwait", action="store_true",
                    help="bench_memhog waits for a blocked SIGUSR1 with sigtimedwait() instead "
                         "of catching it with a sigaction() handler")
    ap.add_argument("--keep-going", action="store_true",
                    help="go on with the next run after a failed one")
    ap.add_argument("--keep-logs", action="store_true", help="put lmigd's log into each run")
    ap.add_argument("--work-dir", help="keep ready/verdict files and lmigd logs here")
    args = ap.parse_args()

    try:
        sizes = [int(s) for s in args.sizes.replace(" ", "").split(",") if s]
    except ValueError:
        ap.error(f"--sizes: {args.sizes!r} is not a list of integers")
    if not sizes or any(s <= 0 for s in sizes) or args.repeat <= 0:
        ap.error("need positive sizes and --repeat")
    common.check_executables(ap, args, ("lmig", "lmigd", "memhog", "tcp_floor"))
    if os.geteuid() != 0:
        log("error: must run as root (lmig attaches with ptrace, lmigd clones PID namespaces)")
        return 2

    started, t_start, machine, version, work = common.start_run(args, "lmig-e2e-")

    doc: dict = {
        "scenario": "e2e_stopcopy",
        "ok": False,
        "started_at": started.isoformat(timespec="seconds"),
        "machine": machine,
        "config": {"sizes_mib": sizes, "repeat": args.repeat, "lmig_version": version,
                   "lmig": args.lmig, "lmigd": args.lmigd,
                   "listen": "127.0.0.1:0", "mode": "stop-copy",
                   "memhog_sigusr1": "sigtimedwait" if args.memhog_sigwait else "handler"},
        "tcp_floor": {},
        "results": [],
        "runs": [],
        "errors": [],
    }
    floor_samples: list[float] = []
    by_size: dict[int, list[dict]] = {s: [] for s in sizes}

    def floor(when: str) -> None:
        log(f"loopback TCP floor ({when}): {args.floor_repetitions} x {args.floor_mib} MiB "
            f"in {args.floor_chunk_kib} KiB writes")
        f = run_tcp_floor(args.tcp_floor, args.floor_mib, args.floor_chunk_kib,
                          args.floor_repetitions)
        floor_samples.extend(f["samples_bytes_per_s"])
        doc["tcp_floor"][when] = f
        log("  " + ", ".join(f"{s / (1 << 30):.2f}" for s in f["samples_bytes_per_s"]) + " GiB/s")

    try:
        floor("before")
        for size in sizes:
            for rep in range(args.repeat):
                log(f"{size} MiB, run {rep + 1}/{args.repeat} ...")
                try:
                    rec = run_once(args, size, rep, work)
                except BenchError as e:
                    doc["errors"].append(str(e))
                    if e.record:
                        doc["runs"].append(e.record)
                    log(f"FAILED: {e}")
                    if not args.keep_going:
                        raise
                    continue
                doc["runs"].append(rec)
                by_size[size].append(rec)
                s = rec["lmig"]
                log(f"  downtime {s['downtime_ms']:.1f} ms, total {s['total_ms']:.1f} ms, "
                    f"{s['bytes'] / MIB:.1f} MiB, "
                    f"{s['bytes'] / (s['downtime_ms'] / 1000) / (1 << 30):.2f} GiB/s, "
                    f"verdict {rec['verdict']}")
                for a in rec.get("anomalies", []):
                    log(f"  anomaly: {a}")
        floor("after")
    except BenchError:
        pass
    except KeyboardInterrupt:
        doc["errors"].append("interrupted")
    finally:
        if not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)

    floor_bps = statistics.median(floor_samples) if floor_samples else None
    if floor_samples:
        doc["tcp_floor"]["bytes_per_s"] = mmm(floor_samples, 0)
        doc["tcp_floor"]["gib_per_s"] = mmm([s / (1 << 30) for s in floor_samples])
    doc["results"] = [summarize(s, runs, floor_bps) for s, runs in by_size.items() if runs]
    machine["loadavg_end"] = list(os.getloadavg())
    anomalies = sorted({a for r in doc["runs"] for a in r.get("anomalies", [])})
    if anomalies:
        doc["anomalies"] = anomalies
    doc["duration_s"] = round(time.monotonic() - t_start, 1)
    doc["ok"] = not doc["errors"] and all(len(by_size[s]) == args.repeat for s in sizes)
    if doc["results"]:
        draw(Path(args.svg), doc["results"], floor_bps, machine, args.repeat)
        doc["svg"] = str(Path(args.svg).resolve())

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(doc, indent=2) + "\n"
    out.write_text(text, encoding="utf-8")
    print(text, end="")

    log(f"{'MiB':>6} {'downtime ms (med/min/max)':>28} {'total ms':>10} {'GiB/s':>7} {'x floor':>8}")
    for r in doc["results"]:
        dm = r["downtime_ms"]
        ratio = r.get("ratio_to_tcp_floor", {}).get("median", float("nan"))
        log(f"{r['size_mib']:>6} {dm['median']:>10.1f} /{dm['min']:>7.1f} /{dm['max']:>7.1f} "
            f"{r['total_ms']['median']:>10.1f} {r['throughput_gib_per_s']['median']:>7.2f} "
            f"{ratio:>8.2f}")
    if floor_bps:
        log(f"loopback TCP floor: {floor_bps / (1 << 30):.2f} GiB/s (median of {len(floor_samples)})")
    log(f"wrote {out}" + (f" and {args.svg}" if doc["results"] else ""))
    for a in anomalies:
        log(f"anomaly: {a}")
    if not doc["ok"]:
        for e in doc["errors"]:
            log(f"error: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
