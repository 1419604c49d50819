"""What the end-to-end benchmarks (e2e_stopcopy.py, e2e_postcopy.py) share.

- process helpers: pidfds, /proc/PID/status fields, detached spawns, polling
  waits (processes are stopped by PID only, through pidfds, never by name);
- run_tcp_floor(): the loopback TCP stream floor (tcp_floor, Google Benchmark);
- migrate_once(): one migration of a fresh bench_memhog to a fresh lmigd with
  `lmig --stop-copy|--postcopy ... --json`, checks of the restored process,
  SIGUSR1 and its own verdict (which must be PASS), and the clean-up;
- mmm(), machine_info(), git_state().

Standard library only.
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MIB = 1 << 20
GIB = 1 << 30

LOG_PREFIX = "e2e"


class BenchError(Exception):
    def __init__(self, msg: str, record: dict | None = None):
        super().__init__(msg)
        self.record = record


def log(msg: str) -> None:
    print(f"[{LOG_PREFIX}] {msg}", file=sys.stderr, flush=True)


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
    # A session of its own (lmig moves a session leader, not a shell job);
    # stdio on /dev/null (or a log file), every other descriptor closed
    # (close_fds: close_range(3, ~0U) in the child before exec).
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=stderr, close_fds=True, cwd=cwd, start_new_session=True)


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


def check_executables(ap, args, names) -> None:
    """Every --name must be an executable file; replaces it by its absolute path."""
    for name in names:
        p = Path(getattr(args, name))
        if not (p.is_file() and os.access(p, os.X_OK)):
            ap.error(f"--{name.replace('_', '-')}: {p} is not an executable")
        setattr(args, name, str(p.resolve()))


# ---- a run's start ----------------------------------------------------------------

def start_run(args, prefix: str) -> tuple:
    """What every scenario notes first: the start (wall clock and monotonic),
    the machine, lmig's version, and a fresh work directory (under
    --work-dir when given). Returns (started, t_start, machine, version, work)."""
    started = datetime.datetime.now(datetime.timezone.utc)
    t_start = time.monotonic()
    machine = machine_info()
    machine["loadavg_start"] = list(os.getloadavg())
    version = subprocess.run([args.lmig, "--version"], capture_output=True, text=True,
                             stdin=subprocess.DEVNULL).stdout.strip()
    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix=prefix))
    work.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=work)) if args.work_dir else work
    return started, t_start, machine, version, work


# ---- the floors --------------------------------------------------------------------

def run_json_tool(argv: list[str], timeout: int) -> dict:
    """Runs a floor program that prints one JSON document; BenchError if it
    fails or prints something else."""
    name = Path(argv[0]).name
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout, close_fds=True)
    if r.returncode != 0:
        raise BenchError(f"{name} exited with {r.returncode}: {r.stderr.strip()}")
    try:
        return json.loads(r.stdout)
    except json.JSONDecodeError as e:
        raise BenchError(f"{name} printed no JSON ({e}): {r.stdout[:300]!r}") from e


def run_tcp_floor(exe: str, mib: int, chunk_kib: int, reps: int) -> dict:
    doc = run_json_tool([exe, f"--bytes-mib={mib}", f"--chunk-kib={chunk_kib}",
                         f"--repetitions={reps}", "--benchmark_format=json"], 600)
    all_iters = [b for b in doc.get("benchmarks", [])
                 if b.get("run_type", "iteration") == "iteration"]
    iters = [b for b in all_iters if b.get("name", "").startswith("loopback_tcp_stream")]
    fresh = [float(b["bytes_per_second"]) for b in all_iters
             if b.get("name", "").startswith("fresh_memory_write") and not b.get("error_occurred")]
    bad = [b.get("error_message", "?") for b in all_iters if b.get("error_occurred")]
    if bad:
        raise BenchError(f"tcp_floor failed: {bad[0]}")
    if not iters:
        raise BenchError("tcp_floor reported no iterations")
    samples = [float(b["bytes_per_second"]) for b in iters]
    return {
        "samples_bytes_per_s": samples,
        # writing pages into never-touched memory (what the target pays per page)
        "fresh_write_samples_bytes_per_s": fresh,
        "stream_bytes": int(iters[0].get("stream_bytes", mib * MIB)),
        "chunk_bytes": int(iters[0].get("chunk_bytes", chunk_kib * 1024)),
        "benchmark_context": {k: doc.get("context", {}).get(k) for k in
                              ("num_cpus", "mhz_per_cpu", "cpu_scaling_enabled",
                               "library_build_type")},
    }


# ---- one migration --------------------------------------------------------------

def migrate_once(args, size_mib: int, rep: int, work: Path, *, mode: str = "stop-copy",
                 name: str | None = None, memhog_args: list[str] | None = None,
                 results: bool = False, what: str | None = None) -> dict:
    """Migrates a fresh bench_memhog of size_mib MiB to a fresh lmigd.

    args: lmig, lmigd, memhog (absolute paths), memhog_lifetime,
    memhog_sigwait, migration_timeout, keep_logs. mode: "stop-copy" or
    "postcopy". memhog_args go before the positional ones; with results=True
    bench_memhog also gets `--results FILE` (its --after-migration figures),
    and the run waits for that file (rec["after"]) before SIGUSR1. Returns
    the run's record; raises BenchError (with the record) on any failure,
    including a verdict other than PASS."""
    d = work / (name or f"{size_mib}MiB-{rep}")
    d.mkdir(parents=True)
    port_file, ready, verdict = d / "port", d / "ready", d / "verdict"
    results_file = d / "results.json"
    lmigd_log = d / "lmigd.log"
    what = what or f"{size_mib} MiB, run {rep + 1}"
    rec: dict = {"size_mib": size_mib, "repetition": rep, "ok": False}
    if mode != "stop-copy":
        rec["mode"] = mode
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

        hog_argv = [args.memhog, "--max-seconds", str(args.memhog_lifetime)]
        hog_argv += ["--sigwait"] if args.memhog_sigwait else []
        hog_argv += list(memhog_args or [])
        hog_argv += ["--results", str(results_file)] if results else []
        hog_argv += [str(size_mib), str(ready), str(verdict)]
        if memhog_args or results:
            rec["memhog_argv"] = hog_argv[1:]
        hog = spawn_detached(hog_argv)
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

        argv = [args.lmig, f"--{mode}", str(hog.pid), f"127.0.0.1:{port_no}", "--json"]
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
        need = ["target_pid", "downtime_ms", "total_ms", "bytes"]
        if mode == "postcopy":
            need += ["postcopy_ms", "pages_total", "pages_demand", "pages_pushed",
                     "fault_p50_us", "fault_p99_us"]
        for k in need:
            if k not in stats:
                raise BenchError(f"lmig JSON lacks {k}: {r.stdout.strip()}")
        if stats.get("mode") not in (None, mode):
            raise BenchError(f"asked for {mode}, lmig reports mode {stats.get('mode')!r}")
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

        def target_dead():
            if pidfd_exited(target_fd) and read_text(verdict) is None:
                return "restored process exited without writing a verdict"
            return None

        if results:
            # The access pattern bench_memhog ran once it saw it had moved.
            def results_text():
                t = read_text(results_file)
                return t if t and t.endswith("\n") else None

            t_r = time.monotonic()
            text = wait_for(results_text, 120, "waiting for bench_memhog's --results file",
                            target_dead, step=0.01)
            rec["results_wait_s"] = round(time.monotonic() - t_r, 3)
            try:
                rec["after"] = json.loads(text)
            except json.JSONDecodeError as e:
                raise BenchError(f"bench_memhog's results file is not JSON ({e}): "
                                 f"{text[:200]!r}") from e

        pidfd_kill(target_fd, signal.SIGUSR1)
        t_v = time.monotonic()
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
        raise BenchError(f"{what}: {e}", rec) from e
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
        for fd, who in ((target_fd, "target"), (init_fd, "lmig-init")):
            if fd is not None:
                if not pidfd_exited(fd) and pidfd_kill(fd, signal.SIGKILL):
                    rec.setdefault("leftovers_killed", []).append(who)
                    pidfd_exited(fd, 5)
                os.close(fd)
        for p in procs[1:]:
            if p.poll() is None:
                p.kill()
                rec.setdefault("leftovers_killed", []).append(f"bench_memhog {p.pid}")
            p.wait()
        log_fh.close()
        rec.pop("_source_signals", None)
        full_log = read_text(lmigd_log) or ""
        warnings = [ln for ln in full_log.splitlines() if " warn: " in ln or " error: " in ln]
        if warnings:
            # e.g. dropped and re-established links: they cost time, keep a trace.
            rec["lmigd_warnings"] = len(warnings)
            rec["lmigd_warnings_first"] = warnings[:5]
        rec["lmigd_log"] = [ln for ln in tail(lmigd_log, 50)] if args.keep_logs else None
        if rec["lmigd_log"] is None:
            del rec["lmigd_log"]


# ---- summary --------------------------------------------------------------------

def mmm(values: list[float], nd: int = 3) -> dict:
    return {"median": round(statistics.median(values), nd), "min": round(min(values), nd),
            "max": round(max(values), nd), "n": len(values)}


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


def git_state(repo: Path) -> dict | None:
    """The commit the binaries were presumably built from, and whether the
    tree has changes (a benchmark of a dirty tree should say so)."""
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=10, stdin=subprocess.DEVNULL)
        st = subprocess.run(["git", "-C", str(repo), "status", "--porcelain"], capture_output=True,
                            text=True, timeout=10, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    if head.returncode != 0:
        return None
    changed = [ln[3:] for ln in st.stdout.splitlines() if ln.strip()]
    return {"head": head.stdout.strip(), "dirty": bool(changed), "changed": changed[:50]}
