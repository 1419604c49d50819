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
import datetime
import json
import os
import platform
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True  # keep bench/ free of __pycache__
sys.path.insert(0, str(HERE))
import plot_svg  # noqa: E402

MIB = 1 << 20


class BenchError(Exception):
    def __init__(self, msg: str, record: dict | None = None):
        super().__init__(msg)
        self.record = record


def log(msg: str) -> None:
    print(f"[e2e_stopcopy] {msg}", file=sys.stderr, flush=True)


# ---- process helpers --------------------------------------------------------

def pidfd_open(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except ProcessLookupError:
        return None


def pidfd_exited(fd: int, timeout_s: float = 0.0) -> bool:
    """True once the process behind fd has exited (waits up to timeout_s)."""
    p = select.poll()
    p.register(fd, select.POLLIN)
    return bool(p.poll(max(0, int(timeout_s * 1000))))


def pidfd_kill(fd: int | None, sig: int) -> bool:
    if fd is None:
        return False
    try:
        signal.pidfd_send_signal(fd, sig)
        return True
    except ProcessLookupError:
        return False


def read_status_field(pid: int, field: str) -> str | None:
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def spawn_detached(argv: list[str], stderr=subprocess.DEVNULL, cwd: str = "/") -> subprocess.Popen:
    # stdio on /dev/null (or a log file), every other descriptor closed
    # (close_fds: close_range(3, ~0U) in the child before exec).
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=stderr, close_fds=True, cwd=cwd)


def wait_for(cond, timeout_s: float, what: str, alive=None, step: float = 0.005):
    deadline = time.monotonic() + timeout_s
    while True:
        v = cond()
        if v is not None:
            return v
        if alive is not None:
            dead = alive()
            if dead:
                raise BenchError(f"{what}: {dead}")
        if time.monotonic() > deadline:
            raise BenchError(f"{what}: timed out after {timeout_s:.0f} s")
        time.sleep(step)


def read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None


def tail(path: Path, n: int = 20) -> list[str]:
    t = read_text(path) or ""
    return t.splitlines()[-n:]


# ---- the loopback TCP floor ---------------------------------------------------

def run_tcp_floor(exe: str, mib: int, chunk_kib: int, reps: int) -> dict:
    argv = [exe, f"--bytes-mib={mib}", f"--chunk-kib={chunk_kib}", f"--repetitions={reps}",
            "--benchmark_format=json"]
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=600, close_fds=True)
    if r.returncode != 0:
        raise BenchError(f"tcp_floor exited with {r.returncode}: {r.stderr.strip()}")
    try:
        doc = json.loads(r.stdout)
    except json.JSONDecodeError as e:
        raise BenchError(f"tcp_floor printed no JSON ({e}): {r.stdout[:300]!r}") from e
    iters = [b for b in doc.get("benchmarks", []) if b.get("run_type", "iteration") == "iteration"]
    bad = [b.get("error_message", "?") for b in iters if b.get("error_occurred")]
    if bad:
        raise BenchError(f"tcp_floor failed: {bad[0]}")
    if not iters:
        raise BenchError("tcp_floor reported no iterations")
    samples = [float(b["bytes_per_second"]) for b in iters]
    return {
        "samples_bytes_per_s": samples,
        "stream_bytes": int(iters[0].get("stream_bytes", mib * MIB)),
        "chunk_bytes": int(iters[0].get("chunk_bytes", chunk_kib * 1024)),
        "benchmark_context": {k: doc.get("context", {}).get(k) for k in
                              ("num_cpus", "mhz_per_cpu", "cpu_scaling_enabled",
                               "library_build_type")},
    }


# ---- one migration --------------------------------------------------------------

def run_once(args, size_mib: int, rep: int, work: Path) -> dict:
    d = work / f"{size_mib}MiB-{rep}"
    d.mkdir(parents=True)
    port_file, ready, verdict = d / "port", d / "ready", d / "verdict"
    lmigd_log = d / "lmigd.log"
    rec: dict = {"size_mib": size_mib, "repetition": rep, "ok": False}
    procs: list[subprocess.Popen] = []
    target_fd = init_fd = None
    log_fh = open(lmigd_log, "wb")
    try:
        lmigd = spawn_detached([args.lmigd, "--listen", "127.0.0.1:0", "--port-file", str(port_file)],
                               stderr=log_fh)
        procs.append(lmigd)

        def lmigd_dead():
            rc = lmigd.poll()
            return None if rc is None else f"lmigd exited with {rc}: {' | '.join(tail(lmigd_log, 5))}"

        def port():
            t = read_text(port_file)
            if t and t.endswith("\n") and t.strip().isdigit():
                return int(t)
            return None

        port_no = wait_for(port, 10, "waiting for lmigd's port file", lmigd_dead)
        rec["port"] = port_no

        hog = spawn_detached([args.memhog, "--max-seconds", str(args.memhog_lifetime)] +
                             (["--sigwait"] if args.memhog_sigwait else []) +
                             [str(size_mib), str(ready), str(verdict)])
        procs.append(hog)
        rec["source_pid"] = hog.pid

        def hog_dead():
            rc = hog.poll()
            return None if rc is None else f"bench_memhog exited with {rc} before it was ready"

        def is_ready():
            t = read_text(ready)
            return t if t and t.endswith("\n") else None

        t_fill = time.monotonic()
        line = wait_for(is_ready, 60 + size_mib / 20, "waiting for bench_memhog to fill memory",
                        hog_dead, step=0.01)
        rec["fill_s"] = round(time.monotonic() - t_fill, 3)
        if line.split() != [str(hog.pid), "ready"]:
            raise BenchError(f"unexpected ready file content {line!r} (PID {hog.pid})")
        rec["source_vmrss"] = read_status_field(hog.pid, "VmRSS")
        rec["_source_signals"] = {k: read_status_field(hog.pid, k)
                                  for k in ("SigIgn", "SigCgt")}

        argv = [args.lmig, "--stop-copy", str(hog.pid), f"127.0.0.1:{port_no}", "--json"]
        t0 = time.monotonic()
        try:
            r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=args.migration_timeout, close_fds=True)
        except subprocess.TimeoutExpired as e:
            raise BenchError(f"{' '.join(argv)} timed out after {args.migration_timeout} s") from e
        rec["lmig_wall_ms"] = round((time.monotonic() - t0) * 1000, 3)
        stats = None
        for ln in reversed(r.stdout.strip().splitlines()):
            try:
                stats = json.loads(ln)
                break
            except json.JSONDecodeError:
                continue
        if r.returncode != 0 or not isinstance(stats, dict) or stats.get("ok") is False:
            raise BenchError(f"`{' '.join(argv)}` exited with {r.returncode}\n"
                             f"  stdout: {r.stdout.strip()}\n  stderr: {r.stderr.strip()}\n"
                             f"  lmigd: " + "\n         ".join(tail(lmigd_log, 10)))
        for k in ("target_pid", "downtime_ms", "total_ms", "bytes"):
            if k not in stats:
                raise BenchError(f"lmig JSON lacks {k}: {r.stdout.strip()}")
        stats.pop("fault_histogram_us_log2", None)
        rec["lmig"] = stats
        target = int(stats["target_pid"])

        # The restored process and the namespace init that lmigd put above it.
        target_fd = pidfd_open(target)
        if target_fd is None:
            raise BenchError(f"restored process (PID {target}) is gone before SIGUSR1; verdict: "
                             f"{(read_text(verdict) or 'none').strip()}")
        ppid = read_status_field(target, "PPid")
        if ppid and ppid.isdigit() and read_status_field(int(ppid), "Name") == "lmig-init":
            init_fd = pidfd_open(int(ppid))
            rec["target_init_pid"] = int(ppid)
        try:
            exe = os.readlink(f"/proc/{target}/exe")
        except OSError as e:
            raise BenchError(f"restored process PID {target}: {e}") from e
        nspid = (read_status_field(target, "NSpid") or "").split()
        if exe != args.memhog or not nspid or nspid[-1] != str(hog.pid):
            raise BenchError(f"target PID {target} runs {exe} as PID {nspid[-1:] or '?'} in its "
                             f"namespace; expected {args.memhog} as PID {hog.pid}")
        rec["target_vmrss"] = read_status_field(target, "VmRSS")
        # What the kernel shows of it (lmig is expected to carry them over; not
        # SigBlk: sigtimedwait() unblocks what it waits for while it waits).
        comm = read_status_field(target, "Name")
        if comm != Path(args.memhog).name[:15]:
            rec.setdefault("anomalies", []).append(
                f"restored process is named {comm!r}, the source was {Path(args.memhog).name!r}")
        sig_src = rec.pop("_source_signals")
        sig_dst = {k: read_status_field(target, k) for k in ("SigIgn", "SigCgt")}
        if sig_dst != sig_src:
            rec.setdefault("anomalies", []).append(
                "signal state differs: source " + " ".join(f"{k}={v}" for k, v in sig_src.items()) +
                ", target " + " ".join(f"{k}={v}" for k, v in sig_dst.items()))

        # lmig killed the source; reap it.
        try:
            rec["source_exit"] = hog.wait(timeout=10)
        except subprocess.TimeoutExpired as e:
            raise BenchError(f"source PID {hog.pid} still runs after a successful migration") from e

        pidfd_kill(target_fd, signal.SIGUSR1)
        t_v = time.monotonic()

        def target_dead():
            if pidfd_exited(target_fd) and read_text(verdict) is None:
                return "restored process exited without writing a verdict"
            return None

        v = wait_for(lambda: read_text(verdict), 60 + size_mib / 10,
                     "waiting for the restored process's verdict", target_dead, step=0.01)
        rec["verify_s"] = round(time.monotonic() - t_v, 3)
        rec["verdict"] = v.strip()
        if not v.startswith("PASS"):
            raise BenchError(f"migrated process did not verify: {v.strip()}")
        if not pidfd_exited(target_fd, 10):
            raise BenchError(f"restored process PID {target} still runs 10 s after its verdict")
        # Let lmigd reap the namespace init (and log the exit) before it stops.
        needle = f"PID {target} here) exited with status"
        try:
            wait_for(lambda: True if needle in (read_text(lmigd_log) or "") else None, 5,
                     "waiting for lmigd to log the exit")
            rec["lmigd_saw_exit"] = True
        except BenchError:
            rec["lmigd_saw_exit"] = False
        rec["ok"] = True
        return rec
    except BenchError as e:
        rec["error"] = str(e)
        rec["lmigd_log_tail"] = tail(lmigd_log)
        raise BenchError(f"{size_mib} MiB, run {rep + 1}: {e}", rec) from e
    finally:
        # lmigd: SIGTERM, then SIGKILL if it does not stop.
        if procs:
            lmigd = procs[0]
            if lmigd.poll() is None:
                lmigd.send_signal(signal.SIGTERM)
            try:
                rec["lmigd_exit"] = lmigd.wait(timeout=10)
            except subprocess.TimeoutExpired:
                lmigd.kill()
                rec["lmigd_exit"] = lmigd.wait()
                rec.setdefault("leftovers_killed", []).append(f"lmigd {lmigd.pid}")
        # Leftovers, by pidfd (never by name).
        for fd, what in ((target_fd, "target"), (init_fd, "lmig-init")):
            if fd is not None:
                if not pidfd_exited(fd) and pidfd_kill(fd, signal.SIGKILL):
                    rec.setdefault("leftovers_killed", []).append(what)
                    pidfd_exited(fd, 5)
                os.close(fd)
        for p in procs[1:]:
            if p.poll() is None:
                p.kill()
                rec.setdefault("leftovers_killed", []).append(f"bench_memhog {p.pid}")
            p.wait()
        log_fh.close()
        rec.pop("_source_signals", None)
        rec["lmigd_log"] = [ln for ln in tail(lmigd_log, 50)] if args.keep_logs else None
        if rec["lmigd_log"] is None:
            del rec["lmigd_log"]


# ---- summary --------------------------------------------------------------------

def mmm(values: list[float], nd: int = 3) -> dict:
    return {"median": round(statistics.median(values), nd), "min": round(min(values), nd),
            "max": round(max(values), nd), "n": len(values)}


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


def machine_info() -> dict:
    info = {
        "nproc": os.cpu_count(),
        "cpus_allowed": len(os.sched_getaffinity(0)),
        "kernel": platform.release(),
        "arch": platform.machine(),
        "python": platform.python_version(),
    }
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        for line in open("/proc/meminfo", encoding="utf-8"):
            if line.startswith("MemTotal:"):
                info["mem_total_gib"] = round(int(line.split()[1]) / (1 << 20), 1)
                break
    except OSError:
        pass
    thp = read_text(Path("/sys/kernel/mm/transparent_hugepage/enabled"))
    if thp:
        info["transparent_hugepage"] = thp.strip()
    return info


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
    for name in ("lmig", "lmigd", "memhog", "tcp_floor"):
        p = Path(getattr(args, name))
        if not (p.is_file() and os.access(p, os.X_OK)):
            ap.error(f"--{name.replace('_', '-')}: {p} is not an executable")
        setattr(args, name, str(p.resolve()))
    if os.geteuid() != 0:
        log("error: must run as root (lmig attaches with ptrace, lmigd clones PID namespaces)")
        return 2

    started = datetime.datetime.now(datetime.timezone.utc)
    t_start = time.monotonic()
    machine = machine_info()
    machine["loadavg_start"] = list(os.getloadavg())
    version = subprocess.run([args.lmig, "--version"], capture_output=True, text=True,
                             stdin=subprocess.DEVNULL).stdout.strip()
    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="lmig-e2e-"))
    work.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=work)) if args.work_dir else work

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
