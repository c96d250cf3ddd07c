#!/usr/bin/env python3
"""Latency bench helpers (bench/latency.sh).

  latency_stats.py pct TRACE            -> "n p50 p90 p99 p99.9 max" of the 2xx POSTs (ms)
  latency_stats.py sample PIDS OUT      -> every 100 ms, CPU ticks of each stack process (its
                                           threads and direct children) until PIDS disappears
  latency_stats.py attribute TRACE CPU LAUNCH_MS -> the seconds holding the most POSTs slower than the
                                           run's p99, with each process's CPU in that second
                                           (LAUNCH_MS: time.monotonic() ms at the load's start)
  latency_stats.py bands TRACE [SECONDS] -> per SECONDS (20) of the run: POSTs/s, p50 p90 p99, and the
                                           share of POSTs answered in bursts (5 or more answers each
                                           within 100 us of the previous: VUs moving in lockstep)
  latency_stats.py waits TIMEHIST PIDS CPU -> the POST path's wake-ups (HAProxy and api threads) on
                                           that core and whom their scheduling delay was spent
                                           behind (`perf sched timehist` output; PIDS: the stack's)
TRACE is `rinhactl load --trace` ('t_us duration_us connect_us status' per POST).
"""
import os
import re
import sys
import time


def posts(trace):
    out = []
    with open(trace) as f:
        for line in f:
            p = line.split()
            if len(p) == 4 and p[3].startswith("2"):
                out.append((int(p[0]), int(p[1])))
    return out


def pct(sorted_us, q):
    if not sorted_us:
        return 0.0
    i = min(len(sorted_us) - 1, max(0, int(q * len(sorted_us) + 0.5) - 1))
    return sorted_us[i] / 1000.0


def cmd_pct(trace):
    d = sorted(us for _, us in posts(trace))
    print(len(d), " ".join("%.3f" % pct(d, q) for q in (0.5, 0.9, 0.99, 0.999, 1.0)))


def cmd_bands(trace, seconds=20):
    width = int(seconds * 1e6)
    rows = sorted(posts(trace))
    bursty = set()
    run = [0]
    for k in range(1, len(rows) + 1):
        if k == len(rows) or rows[k][0] - rows[k - 1][0] > 100:
            if len(run) >= 5:
                bursty.update(run)
            run = []
        run.append(k)
    bands = {}
    for k, (t, us) in enumerate(rows):
        b = bands.setdefault(t // width, [[], 0])
        b[0].append(us)
        b[1] += k in bursty
    print("%6s %7s %8s %7s %7s %7s %7s" % ("from_s", "POSTs", "POSTs/s", "p50", "p90", "p99", "bursts"))
    for b in sorted(bands):
        d, nb = sorted(bands[b][0]), bands[b][1]
        print("%6d %7d %8.1f %7.3f %7.3f %7.3f %6.1f%%" % (
            b * seconds, len(d), len(d) / seconds, pct(d, 0.5), pct(d, 0.9), pct(d, 0.99),
            100.0 * nb / len(d)))


def ticks(pid):
    total = 0
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/stat" % (pid, t)) as f:
                s = f.read().rsplit(")", 1)[1].split()
            total += int(s[11]) + int(s[12])  # utime, stime
    except OSError:
        pass
    return total


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []


def cmd_sample(pids_file, out):
    with open(out, "w") as o:
        while os.path.exists(pids_file):
            procs = []
            with open(pids_file) as f:
                for line in f:
                    p = line.split()
                    if len(p) >= 2:
                        procs.append((p[0], int(p[1])))
            now = int(time.monotonic() * 1000)
            for name, pid in procs:
                o.write("%d %s %d\n" % (now, name, ticks(pid) + sum(ticks(c) for c in children(pid))))
            o.flush()
            time.sleep(0.1)


def cmd_attribute(trace, cpu, launch_ms, top=8):
    ps = posts(trace)
    if not ps:
        return
    d = sorted(us for _, us in ps)
    p99 = d[min(len(d) - 1, int(0.99 * len(d)))]
    slow = {}
    for t, us in ps:
        if us >= p99:
            slow[t // 1000000] = slow.get(t // 1000000, 0) + 1
    # CPU per process per second of the run (sampler clock aligned on the first and last sample).
    rows = []
    with open(cpu) as f:
        for line in f:
            p = line.split()
            rows.append((int(p[0]), p[1], int(p[2])))
    if not rows:
        return
    last = {}
    per_sec = {}
    names = []
    for ms, name, tk in rows:
        if name not in names:
            names.append(name)
        if name in last:
            sec = (ms - launch_ms) // 1000
            per_sec.setdefault(sec, {}).setdefault(name, 0)
            per_sec[sec][name] += (tk - last[name]) * 10  # ticks of 10 ms
        last[name] = tk
    end = max(t for t, _ in ps) // 1000000
    secs = [s for s in per_sec if 0 <= s <= end]
    mean = {n: sum(per_sec[s].get(n, 0) for s in secs) / max(len(secs), 1) for n in names}  # noqa
    print("slow POSTs (>= p99 %.3f ms): %d in %d seconds; top seconds by count, CPU ms per process"
          " in that second (the load's setup shifts seconds by < 1 s)"
          % (p99 / 1000.0, sum(slow.values()), len(slow)))
    print("%-8s %5s  %s" % ("second", "slow", "  ".join("%8s" % n[:8] for n in names)))
    print("%-8s %5s  %s" % ("mean", "", "  ".join("%8.0f" % mean[n] for n in names)))
    for sec, n in sorted(slow.items(), key=lambda kv: -kv[1])[:top]:
        c = per_sec.get(sec, {})
        print("%-8d %5d  %s" % (sec, n, "  ".join("%8d" % c.get(x, 0) for x in names)))


def cmd_waits(timehist, pids_file, cpu):
    roles = {}
    with open(pids_file) as f:
        for line in f:
            p = line.split()
            if len(p) >= 2:
                roles[p[1]] = "api" if p[0].startswith("api") else p[0]
    pat = re.compile(r"\s*([\d.]+)\s+\[0*%d\]\s+(\S+?)\[(\d+)(?:/(\d+))?\]\s+[\d.]+\s+([\d.]+)"
                     r"\s+([\d.]+)" % int(cpu))
    runs = []  # (start ms, end ms, who, scheduling delay before start ms)
    with open(timehist) as f:
        for line in f:
            m = pat.match(line)
            if not m:
                continue
            t, name, tid, pid, sch, run = m.groups()
            end = float(t) * 1000
            who = roles.get(pid or tid, "postgres" if name.startswith("postgres") else "other")
            runs.append((end - float(run), end, who, float(sch)))
    blame = {}
    delays = []
    for i, (start, _, who, sch) in enumerate(runs):
        if who not in ("api", "haproxy") or sch <= 0:
            continue
        delays.append(sch)
        woke = start - sch
        j = i - 1
        while j >= 0 and runs[j][1] > woke:  # what ran on the core between wake-up and start
            over = min(runs[j][1], start) - max(runs[j][0], woke)
            if over > 0:
                blame[runs[j][2]] = blame.get(runs[j][2], 0) + over
            j -= 1
    if not delays:
        return
    delays.sort()
    q = lambda p: delays[min(len(delays) - 1, int(p * len(delays)))]  # noqa: E731
    print("POST-path wake-ups (api, haproxy) on cpu %s: %d, scheduling delay %.1f ms in all, "
          "p50 %.3f p99 %.3f max %.3f ms; spent behind:" % (cpu, len(delays), sum(delays),
                                                            q(0.5), q(0.99), delays[-1]))
    for who, ms in sorted(blame.items(), key=lambda kv: -kv[1]):
        print("  %-10s %8.1f ms" % (who, ms))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "pct":
        cmd_pct(sys.argv[2])
    elif cmd == "bands":
        cmd_bands(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 20)
    elif cmd == "sample":
        cmd_sample(sys.argv[2], sys.argv[3])
    elif cmd == "attribute":
        cmd_attribute(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "waits":
        cmd_waits(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit("unknown command " + cmd)
