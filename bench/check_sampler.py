#!/usr/bin/env python3
"""The official consistency check, repeated until SIGTERM/SIGINT: every PERIOD seconds our
/payments-summary for [now-15 s, now-2 s] (through the load balancer) and both processors' admin
summaries of the same window, the three read in parallel as the checker reads them. A check
whose three answers are 200 and whose counts and cents differ, per processor, is a mismatch;
one with a non-200 or no answer is unanswered. On exit prints one line:
  checks=N mismatches=M unanswered=U summary_p50_ms=X summary_p99_ms=Y
(summary times: our summary's, answered checks only). Mismatching checks go to stderr.
Usage: check_sampler.py LB_URL DEFAULT_URL FALLBACK_URL [PERIOD_S] [TOKEN]
"""
import concurrent.futures
import datetime
import json
import signal
import sys
import time
import urllib.request


def iso(ms):
    t = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def get(url, token):
    started = time.monotonic()
    req = urllib.request.Request(url, headers={"X-Rinha-Token": token})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read()), time.monotonic() - started
    except Exception as e:  # non-200s raise too: counted as unanswered
        return None, str(e), time.monotonic() - started


def cents(v):
    return round(float(v) * 100)


def percentile(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def main():
    lb, default, fallback = sys.argv[1:4]
    period = float(sys.argv[4]) if len(sys.argv) > 4 else 0.25
    token = sys.argv[5] if len(sys.argv) > 5 else "123"
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    checks = mismatches = unanswered = 0
    times = []
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        while not stop:
            now = int(time.time() * 1000)
            q = "?from=%s&to=%s" % (iso(now - 15000), iso(now - 2000))
            urls = [lb + "/payments-summary" + q, default + "/admin/payments-summary" + q,
                    fallback + "/admin/payments-summary" + q]
            ours, d, f = pool.map(lambda u: get(u, token), urls)
            if ours[0] != 200 or d[0] != 200 or f[0] != 200:
                unanswered += 1
            else:
                checks += 1
                times.append(ours[2] * 1000)
                mine = [(o["totalRequests"], cents(o["totalAmount"]))
                        for o in (ours[1]["default"], ours[1]["fallback"])]
                theirs = [(x["totalRequests"], cents(x["totalAmount"])) for x in (d[1], f[1])]
                if mine != theirs:
                    mismatches += 1
                    print("mismatch at %s: ours %s, processors %s" % (iso(now), mine, theirs),
                          file=sys.stderr)
            time.sleep(period)
    print("checks=%d mismatches=%d unanswered=%d summary_p50_ms=%.2f summary_p99_ms=%.2f" %
          (checks, mismatches, unanswered, percentile(times, 50), percentile(times, 99)))


if __name__ == "__main__":
    main()
