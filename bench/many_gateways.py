#!/usr/bin/python3
"""Many real gateway processes on one machine, with traffic on every pair (issue 14).

Starts N `parley gateway` processes on loopback (default 12: 66 pairs), each party pinning
every other and configuring a line with each (one principal, "duty", on all its lines), then
sends M messages on every line in each direction through the HTTP API (one keep-alive
connection per gateway, all gateways at once), waits for every receipt, and checks that every
message was delivered exactly once: each receiver's inbox holds, per line, exactly the ids its
sender's outbox holds for that line, each once, and every one of them is receipted
(delivered_at). Then prints a table: resident memory (VmRSS now, VmHWM peak) per gateway,
messages per second overall (first submission to last receipt, by the gateways' clocks), and
the delivery time (created to receipt verified at the sender) p50 / p99 / max.

Bounded: at most N*(N-1)*M messages, every wait has a deadline (--timeout); the gateways are
stopped (SIGTERM, then SIGKILL) and the directory removed at the end (kept on failure).
Exit 0 if everything was delivered exactly once, 1 otherwise, 2 on a usage error.

Usage: bench/many_gateways.py [--parley PATH] [--parties N] [--messages M] [--timeout S]
                              [--json] [--keep]
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(parley, *args):
    r = subprocess.run([parley, *args], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"parley {' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
    return r.stdout


def parse_time(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * (len(sorted_values) - 1)))))
    return sorted_values[k]


class Gateway:
    def __init__(self, index, root):
        self.index = index
        self.party = f"g{index:02d}"
        self.home = os.path.join(root, self.party)
        self.fed = free_port()
        self.api = free_port()
        self.token = ""
        self.proc = None

    def request(self, conn, method, path, body=None):
        headers = {"Authorization": "Bearer " + self.token}
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers=headers)
        r = conn.getresponse()
        payload = r.read()
        return r.status, json.loads(payload) if payload else None

    def memory_kib(self):
        rss = hwm = 0
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
        return rss, hwm


def line_id(a, b):
    lo, hi = sorted((a.party, b.party))
    return f"{lo}-{hi}"


def setup(parley, gateways):
    for g in gateways:
        run(parley, "init", "--home", g.home, "--party", g.party,
            "--federation", f"127.0.0.1:{g.fed}", "--api", f"127.0.0.1:{g.api}")
        path = os.path.join(g.home, "parley.toml")
        with open(path) as f:
            text = f.read()
        # The principal is a load generator here, not a person; no hourly line test.
        text = text.replace("principal_rate = 10\n", "principal_rate = 100000\n")
        text = text.replace("principal_burst = 20\n", "principal_burst = 100000\n")
        text = text.replace('test_interval = "1h"', 'test_interval = "0"')
        with open(path, "w") as f:
            f.write(text)
        with open(os.path.join(g.home, "..", g.party + ".json"), "w") as f:
            f.write(run(parley, "bundle", "--home", g.home))
        g.token = run(parley, "principal", "add", "--home", g.home, "duty").strip()
    for g in gateways:
        for peer in gateways:
            if peer is g:
                continue
            run(parley, "peer", "add", "--home", g.home,
                os.path.join(g.home, "..", peer.party + ".json"))
            run(parley, "line", "add", "--home", g.home, line_id(g, peer), "--local", "duty",
                "--remote", f"{peer.party}/duty")


def start(parley, gateways, deadline):
    for g in gateways:
        log = open(os.path.join(g.home, "..", g.party + ".log"), "w")
        g.proc = subprocess.Popen([parley, "gateway", "--home", g.home], stdout=log,
                                  stderr=subprocess.STDOUT)
    for g in gateways:
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", g.api, timeout=5)
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{g.party} not ready")
            time.sleep(0.1)


def send_all(gateways, messages, errors):
    """Each gateway's principal sends `messages` on each of its lines, round-robin."""
    def sender(g):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", g.api, timeout=30)
            peers = [p for p in gateways if p is not g]
            for i in range(messages):
                for peer in peers:
                    status, body = g.request(conn, "POST", "/api/v1/messages",
                                             {"line": line_id(g, peer),
                                              "text": f"{g.party} to {peer.party} #{i}"})
                    if status != 201:
                        errors.append(f"{g.party} -> {peer.party} #{i}: HTTP {status} {body}")
                        return
        except Exception as e:  # noqa: BLE001 (reported, fails the run)
            errors.append(f"{g.party}: {e}")

    threads = [threading.Thread(target=sender, args=(g,)) for g in gateways]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def box(g, name):
    conn = http.client.HTTPConnection("127.0.0.1", g.api, timeout=30)
    status, body = g.request(conn, "GET", f"/api/v1/messages?box={name}&limit=10000")
    if status != 200:
        raise RuntimeError(f"{g.party} {name}: HTTP {status} {body}")
    if body.get("next_cursor"):
        raise RuntimeError(f"{g.party} {name}: more than 10000 messages")
    return body["messages"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parley", default=None)
    ap.add_argument("--parties", type=int, default=12)
    ap.add_argument("--messages", type=int, default=10, help="per line and direction")
    ap.add_argument("--timeout", type=float, default=300, help="seconds, for the whole run")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    if not 2 <= a.parties <= 40 or not 1 <= a.messages <= 200:
        print("many_gateways: --parties 2..40, --messages 1..200", file=sys.stderr)
        return 2
    root_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parley = a.parley
    if parley is None:
        for preset in ("release", "gcc", "debug"):
            candidate = os.path.join(root_dir, "build", preset, "parley")
            if os.access(candidate, os.X_OK):
                parley = candidate
                break
    if parley is None or not os.access(parley, os.X_OK):
        print("many_gateways: no parley binary (build it, or --parley PATH)", file=sys.stderr)
        return 2
    deadline = time.monotonic() + a.timeout
    root = tempfile.mkdtemp(prefix="parley-many-")
    gateways = [Gateway(i, root) for i in range(a.parties)]
    failures = []
    try:
        t0 = time.monotonic()
        setup(parley, gateways)
        start(parley, gateways, deadline)
        setup_s = time.monotonic() - t0
        errors = []
        send_all(gateways, a.messages, errors)
        failures += errors
        per_sender = a.messages * (a.parties - 1)
        # Every receipt: each outbox all delivered (its receipt verified).
        outboxes = {}
        while not failures:
            outboxes = {g.party: box(g, "outbox") for g in gateways}
            pending = sum(1 for ms in outboxes.values() for m in ms if not m.get("delivered_at"))
            short = sum(per_sender - len(ms) for ms in outboxes.values())
            if pending == 0 and short == 0:
                break
            if time.monotonic() > deadline:
                failures.append(f"{pending} messages unreceipted, {short} missing at the deadline")
                break
            time.sleep(0.5)
        memory = {g.party: g.memory_kib() for g in gateways}
        # Exactly once: per line, the receiver's inbox ids are the sender's outbox ids, once.
        latencies, first, last = [], None, None
        for g in gateways:
            inbox = box(g, "inbox")
            ids = [m["id"] for m in inbox]
            if len(ids) != len(set(ids)):
                failures.append(f"{g.party}: an id twice in its inbox")
            by_line = {}
            for m in inbox:
                by_line.setdefault(m["line"], []).append(m["id"])
            for peer in gateways:
                if peer is g:
                    continue
                sent = sorted(m["id"] for m in outboxes.get(peer.party, [])
                              if m["line"] == line_id(g, peer))
                got = sorted(by_line.get(line_id(g, peer), []))
                if sent != got or len(got) != a.messages:
                    failures.append(f"{peer.party} -> {g.party}: sent {len(sent)}, "
                                    f"received {len(got)}, {len(set(sent) ^ set(got))} differ")
        for ms in outboxes.values():
            for m in ms:
                if not m.get("delivered_at"):
                    continue
                c, d = parse_time(m["created"]), parse_time(m["delivered_at"])
                latencies.append((d - c) * 1000.0)
                first = c if first is None else min(first, c)
                last = d if last is None else max(last, d)
        latencies.sort()
        total = len(latencies)
        rate = total / (last - first) if total and last > first else float("nan")
        result = {
            "parties": a.parties, "pairs": a.parties * (a.parties - 1) // 2,
            "messages": total, "expected": a.parties * per_sender,
            "messages_per_second": rate,
            "delivery_ms": {"p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
                            "max": latencies[-1] if latencies else float("nan")},
            "setup_s": setup_s,
            "memory_kib": {p: {"rss": r, "peak": h} for p, (r, h) in memory.items()},
            "failures": failures,
        }
        if a.json:
            print(json.dumps(result, indent=2))
        else:
            print(f"{a.parties} gateways, {result['pairs']} pairs, {a.messages} messages per line "
                  f"and direction: {total} of {result['expected']} receipted; "
                  f"{'every one delivered exactly once' if not failures else 'FAILED'}\n")
            print("| gateway | RSS now (MiB) | RSS peak (MiB) |")
            print("| --- | --- | --- |")
            for p, (r, h) in memory.items():
                print(f"| {p} | {r / 1024:.1f} | {h / 1024:.1f} |")
            rss = [r for r, _ in memory.values()]
            print(f"| mean | {sum(rss) / len(rss) / 1024:.1f} | "
                  f"{sum(h for _, h in memory.values()) / len(rss) / 1024:.1f} |\n")
            print("| measure | value |")
            print("| --- | --- |")
            print(f"| messages per second overall (first created to last receipt) | {rate:.0f} |")
            print(f"| delivery p50 (created to receipt verified) | "
                  f"{result['delivery_ms']['p50']:.1f} ms |")
            print(f"| delivery p99 | {result['delivery_ms']['p99']:.1f} ms |")
            print(f"| delivery max | {result['delivery_ms']['max']:.1f} ms |")
            print(f"| setup (homes, pins, lines, start) | {setup_s:.1f} s |")
        for f in failures:
            print("FAILED: " + f, file=sys.stderr)
    except Exception as e:  # noqa: BLE001
        failures.append(str(e))
        print("FAILED: " + str(e), file=sys.stderr)
    finally:
        for g in gateways:
            if g.proc and g.proc.poll() is None:
                g.proc.send_signal(signal.SIGTERM)
        for g in gateways:
            if g.proc:
                try:
                    g.proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    g.proc.kill()
                    g.proc.wait()
        if failures or a.keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
