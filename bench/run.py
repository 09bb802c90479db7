#!/usr/bin/env python3
"""Benchmark rnetstat (and rlsof, once it exists) against netstat, ss and lsof.

    sudo bench/run.py [--section after] [--runs 7] [--only main,scale,procs,resolver,rss,many]

Holds socket populations with ../shared/bench/sockfarm.py (relative to the repository
root), each case in fresh network, pid and mount namespaces (`unshare`), so other work
on the machine adds neither sockets nor processes to what is measured. The commands of
a case run round-robin (one warm-up round, then --runs timed rounds, the starting
command rotating). The medians, the ratios to the reference tool and the peak RSS go
into docs/PERFORMANCE.md between `<!-- bench:SECTION -->` and `<!-- /bench:SECTION -->`
(appended when missing). Takes several minutes; not part of `cargo test`. Run as root.

Peak RSS is /usr/bin/time's "Maximum resident set size" from one extra run per command
(Debian package `time`, installed when missing). Nothing leaves loopback: a case's
network namespace has only `lo`, and the dead-resolver case bind-mounts (in its own
mount namespace) a resolv.conf naming a loopback UDP socket that never answers.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE = os.path.join(ROOT, "target", "release")
# Scratch files live here, not in /tmp, which other jobs on a shared machine may sweep.
WORK = os.path.join(ROOT, "target", "bench", f"work-{os.getpid()}")
FLOOR = os.path.join(RELEASE, "examples", "floor")
DEAD_RESOLVER = "127.53.53.53"
# The 1,000 remote addresses of the dead-resolver case: 127.77.X.Y, none in /etc/hosts.
RESOLVER_PEERS = 1000

POPULATIONS = {
    # name: (sockfarm arguments, description)
    "main": (["--tcp", "20000", "--udp", "1000", "--unix", "5000", "--procs", "8"], "issue 7's population"),
    "scale10k": (["--tcp", "4000", "--udp", "200", "--unix", "1000", "--procs", "8"], "10k sockets"),
    "scale100k": (["--tcp", "40000", "--udp", "2000", "--unix", "10000", "--procs", "8"], "100k sockets"),
    "procs500": (["--tcp", "5000", "--procs", "500"], "500 processes x 20 sockets"),
    # issue 12: rss beside ss at the same 51,000 sockets as "main".
    "rss": (["--tcp", "20000", "--udp", "1000", "--unix", "5000", "--procs", "8"], "rss beside ss, issue 12's population"),
    # issue 17: a busy host's other shape, many processes holding a few sockets each.
    "many": (["--tcp", "5000", "--udp", "500", "--unix", "2000", "--procs", "1000"], "1,000 processes, issue 17's population"),
    "many2000": (["--tcp", "5000", "--udp", "500", "--unix", "2000", "--procs", "2000"], "2,000 processes, the same sockets"),
}
# Populations whose commands are also counted under strace (system calls per process).
COUNT_SYSCALLS = {"many", "many2000"}
# Memory a sockfarm worker (a forked Python) needs at most, for "where memory allows".
FARM_KIB_PER_PROC = 4096


class Stop(Exception):
    pass


def on_signal(signum, _frame):
    raise Stop(f"signal {signum}")


def log(*args):
    print("bench:", *args, file=sys.stderr, flush=True)


def have(path_or_name):
    return shutil.which(path_or_name) is not None or os.access(path_or_name, os.X_OK)


def rnetstat():
    return os.path.join(RELEASE, "rnetstat")


def rss():
    path = os.path.join(RELEASE, "rss")
    return path if os.access(path, os.X_OK) else None


def rlsof():
    path = os.path.join(RELEASE, "rlsof")
    return path if os.access(path, os.X_OK) else None


# ---------------------------------------------------------------- measuring


def spawn_and_wait(argv):
    """Runs argv with stdout/stderr on /dev/null; returns (seconds, status)."""
    path = argv[0] if os.sep in argv[0] else shutil.which(argv[0])
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, "/dev/null", os.O_WRONLY, 0),
    ]
    start = time.perf_counter()
    pid = os.posix_spawn(path, argv, os.environ, file_actions=actions)
    _, status = os.waitpid(pid, 0)
    elapsed = time.perf_counter() - start
    return elapsed, os.waitstatus_to_exitcode(status)


def peak_rss_kib(argv):
    """Maximum resident set size as /usr/bin/time reports it. Not taken from the timed
    runs: posix_spawn shares this script's memory until exec, and Linux folds that
    into the child's ru_maxrss."""
    with tempfile.NamedTemporaryFile("r", prefix="rss-", dir=WORK) as out:
        subprocess.run(
            ["/usr/bin/time", "-o", out.name, "-f", "%M", *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        text = out.read().split()
    return int(text[-1]) if text and text[-1].isdigit() else 0


def syscall_counts(argv):
    """System calls of one run of argv and of every thread and child it starts, as
    `strace -f -c` counts them: {name: calls}, "total" included."""
    with tempfile.NamedTemporaryFile("r", prefix="strace-", dir=WORK) as out:
        subprocess.run(
            ["strace", "-f", "-c", "-o", out.name, "--", *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        text = out.read()
    counts = {}
    for line in text.splitlines():
        # "% time  seconds  usecs/call  calls  [errors]  syscall"; the errors column may be empty.
        f = line.split()
        if len(f) >= 5 and f[3].isdigit() and not line.startswith(("%", "-")):
            counts[f[-1]] = int(f[3])
    return counts


def measure(commands, runs, count_syscalls=False):
    """commands: [(label, argv)]. Round-robin, first round discarded; then one run of
    each under /usr/bin/time for the peak RSS, and with count_syscalls one under strace."""
    results = {label: {"times": [], "rss_kib": 0, "status": set()} for label, _ in commands}
    for rnd in range(runs + 1):
        shift = rnd % len(commands)
        for label, argv in commands[shift:] + commands[:shift]:
            secs, status = spawn_and_wait(argv)
            r = results[label]
            r["status"].add(status)
            if rnd > 0:
                r["times"].append(secs)
        log(f"round {rnd}/{runs} done")
    for label, argv in commands:
        results[label]["rss_kib"] = peak_rss_kib(argv)
        if count_syscalls:
            results[label]["syscalls"] = syscall_counts(argv)
    for label, r in results.items():
        r["median"] = statistics.median(r["times"])
        r["status"] = sorted(r["status"])
    return results


# ---------------------------------------------------------------- populations


def table_rows():
    counts = {}
    for name in ["tcp", "tcp6", "udp", "udp6", "unix"]:
        try:
            with open(f"/proc/net/{name}", "rb") as f:
                counts[name] = max(sum(1 for _ in f) - 1, 0)
        except OSError:
            counts[name] = 0
    return counts


@contextmanager
def socket_farm(farm, args):
    ready = os.path.join(WORK, "farm.ready")
    proc = subprocess.Popen(
        [sys.executable, farm, *args, "--ready", ready],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "TMPDIR": WORK},
    )
    try:
        deadline = time.monotonic() + 600
        while not os.path.exists(ready):
            if proc.poll() is not None:
                raise RuntimeError(f"sockfarm exited with {proc.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("sockfarm not ready after 600 s")
            time.sleep(0.2)
        log("farm ready:", " ".join(args))
        yield
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        try:
            os.unlink(ready)
        except FileNotFoundError:
            pass
        log("farm stopped")


def process_and_fd_counts():
    procs = fds = 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                fds += len(os.listdir(f"/proc/{name}/fd"))
                procs += 1
            except OSError:
                pass
    return procs, fds


# ---------------------------------------------------------------- cases


BASELINE = None  # (label, path) of an older rnetstat to time beside the current one
BASELINE_RLSOF = None  # (label, path) of an older rlsof, likewise


def rss_commands():
    r = rss()
    cmds = []
    # -tanoemi and -xaem: the per-socket details (tcp_info, skmem, timers).
    for args in (["-tanp"], ["-tan"], ["-xap"], ["-s"], ["-tanoemi"], ["-xaem"]):
        if r:
            cmds.append((f"rss {' '.join(args)}", [r, *args]))
        cmds.append((f"ss {' '.join(args)}", ["ss", *args]))
    return [c for c in cmds if have(c[1][0])]


def many_commands():
    """Issue 17: each of ours beside its reference, for many small processes."""
    r, s, l = rnetstat(), rss(), rlsof()
    cmds = [
        ("rnetstat -anp", [r, "-anp"]),
        ("ss -anp", ["ss", "-anp"]),
        ("netstat -anp", ["netstat", "-anp"]),
    ]
    for args in (["-tanp"], ["-xap"]):
        if s:
            cmds.append((f"rss {' '.join(args)}", [s, *args]))
        cmds.append((f"ss {' '.join(args)}", ["ss", *args]))
    for args in (["-i", "-nP"], ["-nP"]):
        if l:
            cmds.append((f"rlsof {' '.join(args)}", [l, *args]))
        cmds.append((f"lsof {' '.join(args)}", ["lsof", *args]))
    return [c for c in cmds if have(c[1][0])]


def memory_allows(population):
    """Whether MemAvailable holds the population's farm with room to spare."""
    args = POPULATIONS[population][0]
    procs = int(args[args.index("--procs") + 1])
    try:
        with open("/proc/meminfo") as f:
            avail = next(int(l.split()[1]) for l in f if l.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        return True
    return avail >= procs * FARM_KIB_PER_PROC + 2 * 1024 * 1024


def socket_commands(population):
    if population == "rss":
        return rss_commands()
    if population in COUNT_SYSCALLS:
        return many_commands()
    r = rnetstat()
    cmds = [
        ("rnetstat -anp", [r, "-anp"]),
        ("ss -anp", ["ss", "-anp"]),
        ("netstat -anp", ["netstat", "-anp"]),
        ("floor", [FLOOR]),
        ("rnetstat -an", [r, "-an"]),
        ("ss -an", ["ss", "-an"]),
        ("netstat -an", ["netstat", "-an"]),
    ]
    if population == "main":
        # The same binary reading every table as /proc/net text, as before sock_diag.
        text = ["env", "RNETSTAT_TABLE_SOURCE=proc", r]
        cmds += [("rnetstat-proctext -anp", text + ["-anp"]), ("rnetstat-proctext -an", text + ["-an"])]
        if BASELINE:
            label, path = BASELINE
            cmds += [(f"{label} -anp", [path, "-anp"]), (f"{label} -an", [path, "-an"])]
        cmds += [("lsof -i -nP", ["lsof", "-i", "-nP"]), ("lsof -nP", ["lsof", "-nP"])]
        if rlsof():
            cmds += [("rlsof -i -nP", [rlsof(), "-i", "-nP"]), ("rlsof -nP", [rlsof(), "-nP"])]
        if BASELINE_RLSOF:
            label, path = BASELINE_RLSOF
            cmds += [(f"{label} -i -nP", [path, "-i", "-nP"]), (f"{label} -nP", [path, "-nP"])]
    elif population != "procs500":
        # netstat -anp needs seconds per run at 100k sockets and adds nothing to scaling.
        cmds = [c for c in cmds if c[0] != "netstat -anp"]
    return [c for c in cmds if have(c[1][0])]


def run_population(name, farm, runs):
    args, what = POPULATIONS[name]
    with socket_farm(farm, args):
        rows = table_rows()
        procs, fds = process_and_fd_counts()
        results = measure(socket_commands(name), runs, name in COUNT_SYSCALLS)
    return {"name": name, "what": what, "farm_args": args, "tables": rows, "processes": procs, "fds": fds, "results": results}


def hold_resolver_population():
    """1,000 TCP connections from 127.77.X.Y to a listener on 127.0.0.1, plus a UDP
    socket on DEAD_RESOLVER:53 that never answers. Returns what must stay open."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, 4 * RESOLVER_PEERS), hard), hard))
    held = []
    dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dns.bind((DEAD_RESOLVER, 53))
    held.append(dns)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(RESOLVER_PEERS)
    held.append(listener)
    port = listener.getsockname()[1]
    for i in range(RESOLVER_PEERS):
        client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        client.bind((f"127.77.{i // 250}.{i % 250 + 1}", 0))
        client.connect(("127.0.0.1", port))
        accepted, _ = listener.accept()
        held += [client, accepted]
    return held


def run_resolver_case(runs):
    """In the private namespaces (see run_isolated): hold the population, point
    /etc/resolv.conf at the silent socket, and time name lookups against -n."""
    held = hold_resolver_population()
    try:
        resolv = os.path.join(WORK, "resolv.conf")
        with open(resolv, "w") as f:
            f.write(f"nameserver {DEAD_RESOLVER}\n")
        subprocess.run(["mount", "--bind", resolv, "/etc/resolv.conf"], check=True)
        with open("/etc/resolv.conf") as f:
            if DEAD_RESOLVER not in f.read():
                sys.exit("bench: resolv.conf bind mount did not take effect; refusing to resolve")
        r = rnetstat()
        results = measure([("rnetstat -at", [r, "-at"]), ("rnetstat -ant", [r, "-ant"])], runs)
        return {"name": "resolver", "results": results}
    finally:
        for s in held:
            s.close()


def run_names_case(runs):
    """In the private namespaces (see run_isolated): the resolver population, with an
    /etc/hosts (bind-mounted, this mount namespace only) naming every peer address, so
    each reverse lookup answers from files; resolv.conf still names the silent socket,
    so no query leaves even if one misses. Times the paths issue 16 moved to crates:
    host names (dns-lookup), user names (nix), and the -c regex, before and after."""
    held = hold_resolver_population()
    try:
        resolv = os.path.join(WORK, "resolv.conf")
        with open(resolv, "w") as f:
            f.write(f"nameserver {DEAD_RESOLVER}\n")
        hosts = os.path.join(WORK, "hosts")
        with open(hosts, "w") as f:
            # Every address a listing shows has a name, the silent resolver's own
            # included, so no lookup waits for the deadline.
            f.write(f"127.0.0.1\tlocalhost\n{DEAD_RESOLVER}\tresolver.example\n")
            for i in range(RESOLVER_PEERS):
                f.write(f"127.77.{i // 250}.{i % 250 + 1}\tpeer-{i}.example\n")
        for src, dst in ((resolv, "/etc/resolv.conf"), (hosts, "/etc/hosts")):
            subprocess.run(["mount", "--bind", src, dst], check=True)
        with open("/etc/resolv.conf") as f:
            if DEAD_RESOLVER not in f.read():
                sys.exit("bench: resolv.conf bind mount did not take effect; refusing to resolve")
        r, rl = rnetstat(), rlsof()
        me = str(os.getpid())
        cmds = [("netstat -at", ["netstat", "-at"]), ("rnetstat -at", [r, "-at"])]
        if BASELINE:
            cmds.append((f"{BASELINE[0]} -at", [BASELINE[1], "-at"]))
        lsof_args = [("-i -P", ["-i", "-P"]), ("-c /^pyth?on/ -P", ["-c", "/^pyth?on/", "-P"]), ("-u root -a -p PID", ["-u", "root", "-a", "-p", me])]
        for label, argv in lsof_args:
            cmds.append((f"lsof {label}", ["lsof", *argv]))
            if rl:
                cmds.append((f"rlsof {label}", [rl, *argv]))
            if BASELINE_RLSOF:
                cmds.append((f"{BASELINE_RLSOF[0]} {label}", [BASELINE_RLSOF[1], *argv]))
        results = measure([c for c in cmds if have(c[1][0])], runs)
        return {"name": "names", "results": results}
    finally:
        for s in held:
            s.close()


def run_isolated(case, args):
    """Runs one case in new network, pid and mount namespaces: the tables hold only the
    case's sockets, /proc only its processes (not those of others sharing the machine),
    no TIME_WAIT is left for the next case, and when the case ends the kernel kills
    whatever it started, the socket farm included."""
    out = os.path.join(WORK, f"{case}.json")
    cmd = [
        "unshare", "--net", "--pid", "--fork", "--kill-child", "--mount-proc", "--propagation", "private", "--",
        sys.executable, os.path.abspath(__file__), "--inside", case, "--inner-out", out,
        "--runs", str(args.runs), "--farm", os.path.abspath(args.farm),
    ]
    if args.baseline:
        cmd += ["--baseline", os.path.abspath(args.baseline)]
    if args.baseline_rlsof:
        cmd += ["--baseline-rlsof", os.path.abspath(args.baseline_rlsof)]
    proc = subprocess.Popen(cmd)
    try:
        status = proc.wait()
    except BaseException:
        proc.terminate()
        proc.wait()
        raise
    if status != 0:
        raise RuntimeError(f"case {case} failed with status {status}")
    with open(out) as f:
        return json.load(f)


def inside(case, args):
    """The part of run_isolated that runs in the new namespaces."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    if case == "resolver":
        result = run_resolver_case(args.runs)
    elif case == "names":
        result = run_names_case(args.runs)
    else:
        result = run_population(case, os.path.abspath(args.farm), args.runs)
    with open(args.inner_out, "w") as f:
        json.dump(result, f)


# ---------------------------------------------------------------- report


def fmt_secs(s):
    return f"{s * 1000:.0f} ms" if s < 10 else f"{s:.1f} s"


def fmt_mib(kib):
    return f"{kib / 1024:.1f} MiB"


REFERENCE = {
    "rnetstat -anp": "ss -anp",
    "netstat -anp": "ss -anp",
    "floor": "ss -anp",
    "rnetstat -an": "ss -an",
    "netstat -an": "ss -an",
    "rnetstat-proctext -anp": "ss -anp",
    "rnetstat-proctext -an": "ss -an",
    "rlsof -i -nP": "lsof -i -nP",
    "rlsof -nP": "lsof -nP",
    "rss -tanp": "ss -tanp",
    "rss -tan": "ss -tan",
    "rss -xap": "ss -xap",
    "rss -s": "ss -s",
    "rss -tanoemi": "ss -tanoemi",
    "rss -xaem": "ss -xaem",
}


def population_table(pop):
    res = pop["results"]
    t = pop["tables"]
    lines = [
        f"#### {pop['what']}: `sockfarm.py {' '.join(pop['farm_args'])}`",
        "",
        f"/proc/net rows: tcp {t['tcp']:,}, tcp6 {t['tcp6']:,}, udp {t['udp']:,}, udp6 {t['udp6']:,}, "
        f"unix {t['unix']:,} ({sum(t.values()):,} in all); {pop['processes']:,} processes with {pop['fds']:,} fds.",
        "",
    ]
    counted = any("syscalls" in r for r in res.values())
    if counted:
        lines += [
            "| command | median | ratio to reference | peak RSS | system calls | per process | most made |",
            "| --- | ---: | --- | ---: | ---: | ---: | --- |",
        ]
    else:
        lines += ["| command | median | ratio to reference | peak RSS |", "| --- | ---: | --- | ---: |"]
    for label, r in res.items():
        ref = REFERENCE.get(label)
        if BASELINE and label.startswith(BASELINE[0] + " "):
            ref = "ss" + label[len(BASELINE[0]) :]
        if BASELINE_RLSOF and label.startswith(BASELINE_RLSOF[0] + " "):
            ref = "lsof" + label[len(BASELINE_RLSOF[0]) :]
        ratio = f"{r['median'] / res[ref]['median']:.2f}x {ref}" if ref in res else "(reference)"
        bad = "" if r["status"] == [0] else f" (exit {r['status']})"
        row = f"| `{label}`{bad} | {fmt_secs(r['median'])} | {ratio} | {fmt_mib(r['rss_kib'])} |"
        if counted:
            row += syscall_cells(r.get("syscalls"), pop["processes"])
        lines.append(row)
    lines.append("")
    if counted:
        lines += [
            "System calls: one more run of each command under `strace -f -c` (its threads and children "
            f"included); per process is the total over the {pop['processes']:,} processes in the namespace.",
            "",
        ]
    return lines


def syscall_cells(counts, processes):
    if not counts or "total" not in counts:
        return " - | - | - |"
    total = counts["total"]
    top = sorted(((n, c) for c, n in counts.items() if c != "total"), reverse=True)[:4]
    most = ", ".join(f"{c} {n:,}" for n, c in top)
    return f" {total:,} | {total / max(processes, 1):.1f} | {most} |"


def target_lines(pops, resolver):
    def med(pop, label):
        return pops.get(pop, {}).get("results", {}).get(label, {}).get("median")

    checks = []

    def ratio(name, a, b, limit):
        if a is not None and b is not None:
            checks.append((name, f"{a / b:.2f}x", f"<= {limit}x", a / b <= limit))

    ratio("rnetstat -anp / ss -anp", med("main", "rnetstat -anp"), med("main", "ss -anp"), 0.2)
    ratio("rnetstat -anp / netstat -anp", med("main", "rnetstat -anp"), med("main", "netstat -anp"), 0.2)
    ratio("rnetstat -anp / floor", med("main", "rnetstat -anp"), med("main", "floor"), 1.5)
    ratio("rnetstat -an / ss -an", med("main", "rnetstat -an"), med("main", "ss -an"), 0.8)
    ratio("rlsof -i -nP / lsof -i -nP", med("main", "rlsof -i -nP"), med("main", "lsof -i -nP"), 0.2)
    ratio("rlsof -nP / lsof -nP", med("main", "rlsof -nP"), med("main", "lsof -nP"), 0.3)
    ratio("rss -tanp / ss -tanp", med("rss", "rss -tanp"), med("rss", "ss -tanp"), 0.2)
    ratio("rss -tan / ss -tan", med("rss", "rss -tan"), med("rss", "ss -tan"), 0.8)
    ratio("rss -xap / ss -xap", med("rss", "rss -xap"), med("rss", "ss -xap"), 0.2)
    ratio("rss -s / ss -s", med("rss", "rss -s"), med("rss", "ss -s"), 1.0)
    ratio("many: rnetstat -anp / ss -anp", med("many", "rnetstat -anp"), med("many", "ss -anp"), 0.15)
    ratio("many: rlsof -i -nP / lsof -i -nP", med("many", "rlsof -i -nP"), med("many", "lsof -i -nP"), 0.15)
    ratio("many: rlsof -nP / lsof -nP", med("many", "rlsof -nP"), med("many", "lsof -nP"), 0.25)

    def kib(pop, label):
        return pops.get(pop, {}).get("results", {}).get(label, {}).get("rss_kib")

    for pop in ("main", "many", "many2000"):
        ours, ref = kib(pop, "rlsof -nP"), kib(pop, "lsof -nP")
        if ours and ref:
            checks.append((f"{pop}: peak RSS rlsof -nP / lsof -nP", f"{fmt_mib(ours)} / {fmt_mib(ref)}", "<=", ours <= ref))
    ours = [
        (f"{pop}: {label}", r["rss_kib"])
        for pop, p in pops.items()
        for label, r in p["results"].items()
        if label.startswith(("rnetstat", "rlsof", "rss "))
    ]
    if ours:
        worst = max(ours, key=lambda x: x[1])
        checks.append((f"peak RSS of ours (largest: {worst[0]})", fmt_mib(worst[1]), "< 64 MiB", worst[1] < 64 * 1024))
    if resolver:
        added = resolver["results"]["rnetstat -at"]["median"] - resolver["results"]["rnetstat -ant"]["median"]
        checks.append(("dead resolver, 1,000 remote addresses: added time", f"{added:.2f} s", "<= 2 s", added <= 2.0))
    if not checks:
        return []
    lines = ["| target | measured | limit | met |", "| --- | ---: | --- | --- |"]
    lines += [f"| {n} | {m} | {l} | {'yes' if ok else '**no**'} |" for n, m, l, ok in checks]
    return lines + [""]


def scaling_lines(pops):
    order = [("scale10k", "10k"), ("main", "50k"), ("scale100k", "100k"), ("procs500", "500 procs x 20")]
    labels = ["rnetstat -anp", "ss -anp", "floor", "rnetstat -an", "ss -an"]
    have_any = [(k, n) for k, n in order if k in pops]
    if len(have_any) < 2:
        return []
    lines = [
        "| population | sockets | " + " | ".join(f"`{l}`" for l in labels) + " | `rnetstat -anp` per 10k sockets |",
        "| --- | ---: |" + " ---: |" * (len(labels) + 1),
    ]
    for key, name in have_any:
        p = pops[key]
        n = sum(p["tables"].values())
        cells = [fmt_secs(p["results"][l]["median"]) if l in p["results"] else "-" for l in labels]
        per = p["results"].get("rnetstat -anp", {}).get("median")
        per_txt = f"{per / n * 10000 * 1000:.1f} ms" if per and n else "-"
        lines.append(f"| {name} | {n:,} | " + " | ".join(cells) + f" | {per_txt} |")
    return lines + [""]


def machine_line():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip()
    return (
        f"Machine: {os.cpu_count()} CPUs ({cpu}), kernel {platform.release()}, "
        f"load average at start {os.getloadavg()[0]:.2f}. Code: {commit}{' (modified)' if dirty else ''}."
    )


def render(section, title, pops, resolver, runs, started, machine, names=None):
    lines = [
        f"### {title}",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC. {machine}",
        f"Median of {runs} runs per command, taken round-robin after one warm-up round; "
        "peak RSS from one more run under /usr/bin/time.",
        "",
    ]
    lines += target_lines(pops, resolver)
    for key in POPULATIONS:
        if key in pops:
            lines += population_table(pops[key])
    scaling = scaling_lines(pops)
    if scaling:
        lines += ["#### Scaling", ""] + scaling
    if resolver:
        r = resolver["results"]
        lines += [
            "#### Dead resolver",
            "",
            f"{RESOLVER_PEERS:,} loopback connections from distinct 127.77.x.y addresses; /etc/resolv.conf "
            f"names {DEAD_RESOLVER}, where a UDP socket never answers (private mount and network namespaces).",
            "",
            "| command | median | peak RSS |",
            "| --- | ---: | ---: |",
        ]
        for label, v in r.items():
            lines.append(f"| `{label}` | {fmt_secs(v['median'])} | {fmt_mib(v['rss_kib'])} |")
        lines.append("")
    if names:
        lines += [
            "#### Names (hosts, users, -c regex)",
            "",
            f"{RESOLVER_PEERS:,} loopback connections from distinct 127.77.x.y addresses, each named in a "
            "bind-mounted /etc/hosts (private mount and network namespaces; resolv.conf names a silent "
            "loopback socket). Baselines (`--baseline`, `--baseline-rlsof`) ran round-robin with the rest.",
            "",
            "| command | median | peak RSS |",
            "| --- | ---: | ---: |",
        ]
        for label, v in names["results"].items():
            lines.append(f"| `{label}` | {fmt_secs(v['median'])} | {fmt_mib(v['rss_kib'])} |")
        lines.append("")
    body = "\n".join(lines)
    return f"<!-- bench:{section} -->\n{body}\n<!-- /bench:{section} -->"


def write_report(section, block):
    path = os.path.join(ROOT, "docs", "PERFORMANCE.md")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        with open(path) as f:
            doc = f.read()
    except FileNotFoundError:
        doc = "# Performance\n\nWritten by bench/run.py.\n"
    begin, end = f"<!-- bench:{section} -->", f"<!-- /bench:{section} -->"
    if begin in doc and end in doc:
        head, rest = doc.split(begin, 1)
        _, tail = rest.split(end, 1)
        doc = head + block + tail
    else:
        doc = doc.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(doc)
    log("wrote", path)


# ---------------------------------------------------------------- main


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--farm", default=os.path.join(ROOT, "..", "shared", "bench", "sockfarm.py"))
    p.add_argument("--runs", type=int, default=7, help="timed runs per command (default 7)")
    p.add_argument(
        "--only",
        default="main,scale,procs,resolver,rss,many",
        help="comma list of main, scale, procs, resolver, names, rss, many (many and many2000)",
    )
    p.add_argument("--section", default="latest", help="marker name in docs/PERFORMANCE.md")
    p.add_argument("--title", help="heading of the section (default: the section name)")
    p.add_argument("--no-build", action="store_true", help="use the binaries already in target/release")
    p.add_argument("--baseline", metavar="BIN", help="an older rnetstat binary to time beside this one (main population)")
    p.add_argument("--baseline-rlsof", metavar="BIN", help="an older rlsof binary to time beside this one (main population)")
    p.add_argument("--inside", help=argparse.SUPPRESS)
    p.add_argument("--inner-out", help=argparse.SUPPRESS)
    args = p.parse_args()

    global BASELINE, BASELINE_RLSOF, WORK
    if args.baseline:
        BASELINE = (os.path.basename(args.baseline), os.path.abspath(args.baseline))
    if args.baseline_rlsof:
        BASELINE_RLSOF = (os.path.basename(args.baseline_rlsof), os.path.abspath(args.baseline_rlsof))
    if args.inside:
        WORK = os.path.dirname(args.inner_out)
        inside(args.inside, args)
        return
    if args.runs < 5:
        sys.exit("bench: --runs must be at least 5")
    if os.geteuid() != 0:
        sys.exit("bench: run as root (namespaces, and netstat -p, ss -p and lsof see every process only then)")
    only = set(args.only.split(","))
    if only - {"resolver", "names"} and not os.path.exists(args.farm):
        sys.exit(f"bench: no sockfarm at {os.path.abspath(args.farm)} (pass --farm)")
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--bins", "--example", "floor"], cwd=ROOT, check=True)
    if not os.access("/usr/bin/time", os.X_OK):
        subprocess.run(["apt-get", "install", "-y", "-qq", "time"], check=True)
    if only & {"many"} and not have("strace"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "strace"], check=True)
    missing = [t for t in ("netstat", "ss", "lsof") if not have(t)]
    if missing:
        log("not installed, left out:", " ".join(missing))

    started = datetime.datetime.now(datetime.timezone.utc)
    machine = machine_line()
    pops = {}
    resolver = None
    names = None
    os.makedirs(WORK, exist_ok=True)
    try:
        for name in POPULATIONS:
            group = "scale" if name.startswith("scale") else "procs" if name == "procs500" else "many" if name.startswith("many") else name
            if group not in only:
                continue
            if not memory_allows(name):
                log(f"left out {name}: not enough memory available for its processes")
                continue
            pops[name] = run_isolated(name, args)
        if "resolver" in only:
            resolver = run_isolated("resolver", args)
        if "names" in only:
            names = run_isolated("names", args)
    except Stop as e:
        sys.exit(f"bench: stopped by {e}")
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    raw = os.path.join(ROOT, "target", "bench", f"{args.section}.json")
    with open(raw, "w") as f:
        json.dump({"pops": pops, "resolver": resolver, "names": names}, f, indent=1)
    block = render(args.section, args.title or args.section, pops, resolver, args.runs, started, machine, names)
    write_report(args.section, block)
    print(block)


if __name__ == "__main__":
    main()
