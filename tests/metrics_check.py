#!/usr/bin/python3
"""Reads a gateway's /metrics with Prometheus's own text-format parser (Debian's
python3-prometheus-client) and checks what docs/operations.md "Monitoring" promises.

Usage: metrics_check.py FILE CHECK...
  help            every series belongs to a family with HELP and TYPE lines
  delivered:P=N   parley_delivery_seconds{precedence=P} counted N deliveries, its buckets
                  cumulative and within the bounds, +Inf equal to the count, a sum >= 0
  queue_age>0     parley_queue_oldest_age_seconds is above 0 for some peer
  queue_age=0     and 0 for every peer
  refused:R=N     parley_frames_refused_total{reason=R} sums to N over the peers
  documented:YAML every family is a row of the /metrics table in that OpenAPI document
Prints one line per failed check and exits 1 if any failed.
"""
import math
import re
import sys

import yaml

from prometheus_client.parser import text_string_to_metric_families

# The bounds of core/delivery_histogram.h, in seconds, then +Inf.
BOUNDS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 10800, 21600]


def lines_without_help(text):
    """Sample names whose family has no HELP or no TYPE line before them."""
    helped, typed, missing = set(), set(), []
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helped.add(line.split()[2])
        elif line.startswith("# TYPE "):
            typed.add(line.split()[2])
        elif line and not line.startswith("#"):
            name = line.split("{")[0].split()[0]
            family = name
            for suffix in ("_bucket", "_sum", "_count"):
                if name.endswith(suffix) and name[: -len(suffix)] in typed:
                    family = name[: -len(suffix)]
            if family not in helped or family not in typed:
                missing.append(name)
    return missing


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    problems = []
    for check in sys.argv[2:]:
        if check == "help":
            missing = lines_without_help(text)
            if missing:
                problems.append("series without HELP and TYPE: " + ", ".join(sorted(set(missing))))
            for f in families.values():
                if not f.documentation or f.type == "unknown":
                    problems.append(f"family {f.name}: documentation {f.documentation!r}, type {f.type}")
        elif check.startswith("delivered:"):
            precedence, want = check[len("delivered:"):].split("=")
            f = families.get("parley_delivery_seconds")
            if f is None or f.type != "histogram":
                problems.append("no histogram parley_delivery_seconds")
                continue
            samples = [s for s in f.samples if s.labels.get("precedence") == precedence]
            buckets = [s for s in samples if s.name.endswith("_bucket")]
            count = [s.value for s in samples if s.name.endswith("_count")]
            total = [s.value for s in samples if s.name.endswith("_sum")]
            les = [float(s.labels["le"]) for s in buckets]
            values = [s.value for s in buckets]
            if les != BOUNDS + [math.inf]:
                problems.append(f"{precedence}: bucket bounds {les}")
            if values != sorted(values):
                problems.append(f"{precedence}: buckets not cumulative {values}")
            if count != [float(want)] or not values or values[-1] != float(want):
                problems.append(f"{precedence}: count {count}, +Inf {values[-1:]}, want {want}")
            if len(total) != 1 or total[0] < 0:
                problems.append(f"{precedence}: sum {total}")
        elif check in ("queue_age>0", "queue_age=0"):
            f = families.get("parley_queue_oldest_age_seconds")
            ages = [s.value for s in f.samples] if f else []
            if f is None or f.type != "gauge" or not ages:
                problems.append("no gauge parley_queue_oldest_age_seconds")
            elif check == "queue_age>0" and max(ages) <= 0:
                problems.append(f"queue ages {ages}, want one above 0")
            elif check == "queue_age=0" and any(a != 0 for a in ages):
                problems.append(f"queue ages {ages}, want 0")
        elif check.startswith("refused:"):
            reason, want = check[len("refused:"):].split("=")
            f = families.get("parley_frames_refused")  # the parser drops _total of counters
            got = sum(s.value for s in f.samples
                      if s.name == "parley_frames_refused_total" and s.labels.get("reason") == reason) if f else None
            if f is None or f.type != "counter" or got != float(want):
                problems.append(f"parley_frames_refused_total{{reason={reason}}}: {got}, want {want}")
        elif check.startswith("documented:"):
            doc = yaml.safe_load(open(check[len("documented:"):], encoding="utf-8"))
            table = doc["paths"]["/metrics"]["get"]["description"]
            rows = set(re.findall(r"^\| `(parley_[a-z_]+)` \|", table, re.M))
            for line in text.splitlines():
                if line.startswith("# TYPE "):
                    name = line.split()[2]
                    if name not in rows:
                        problems.append(f"{name} is not in the /metrics table of docs/openapi.yaml")
        else:
            problems.append("unknown check " + check)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
