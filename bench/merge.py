#!/usr/bin/env python3
"""Merges the JSON rows of bench/'s measurement programs into one table (bench/run calls this).

Each program prints one JSON object {id: {"value": number, "unit": str, "note": str}}. A row
that measures parley (not the machine) may name the floor row it is bounded by with
"floor": "<floor id>"; its table row then shows that floor's value and value / floor.

Writes OUT_DIR/latest.json ({"meta": {...}, "rows": {id: row}}) and OUT_DIR/latest.md, and
prints the table (then the notes) on stdout.
"""
import argparse
import json
import os
import sys


def human(value):
    """Three significant figures, as parley-bench-floor prints them."""
    if not isinstance(value, (int, float)):
        return str(value)
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:.0f}"
    if magnitude >= 100:
        return f"{value:.1f}"
    if magnitude >= 10:
        return f"{value:.2f}"
    return f"{value:.3f}"


def ratio(value, base):
    if not isinstance(value, (int, float)) or not isinstance(base, (int, float)) or base == 0:
        return "-"
    return f"x{value / base:.2f}"


def fail(message):
    print(f"bench/merge.py: {message}", file=sys.stderr)
    sys.exit(1)


def load_rows(path):
    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
    except (OSError, ValueError) as error:
        fail(f"{path}: {error}")
    if isinstance(data, dict) and isinstance(data.get("rows"), dict):
        data = data["rows"]  # a latest.json
    if not isinstance(data, dict):
        fail(f"{path}: expected a JSON object of rows")
    for row_id, row in data.items():
        if not isinstance(row, dict) or not isinstance(row.get("value"), (int, float)):
            fail(f"{path}: row {row_id!r} has no numeric value")
    return data


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--meta", default="{}", help="JSON object describing the run")
    parser.add_argument("--compare", help="a previous latest.json")
    parser.add_argument("--partial", action="store_true",
                        help="some programs did not run (bench/run --only): a floor row that "
                             "was not measured shows '-' instead of failing")
    parser.add_argument("inputs", nargs="+", help="one JSON file per measurement program")
    args = parser.parse_args()

    rows = {}
    for path in args.inputs:
        for row_id, row in load_rows(path).items():
            if row_id in rows:
                fail(f"{path}: id {row_id!r} is emitted by two programs")
            rows[row_id] = row
    previous = load_rows(args.compare) if args.compare else None

    header = ["id", "value", "unit", "floor", "ratio"]
    if previous is not None:
        header.append(f"vs {os.path.basename(args.compare)}")
    lines = ["| " + " | ".join(header) + " |",
             "| --- | ---: | --- | ---: | ---: |" + (" ---: |" if previous is not None else "")]
    for row_id, row in rows.items():
        floor_value, floor_ratio = "-", "-"
        floor_id = row.get("floor")
        if floor_id:
            if floor_id in rows:
                floor_value = human(rows[floor_id]["value"])
                floor_ratio = ratio(row["value"], rows[floor_id]["value"])
            elif not args.partial:
                fail(f"row {row_id!r} names floor {floor_id!r}, which no program measured")
        cells = [row_id, human(row["value"]), row.get("unit", ""), floor_value, floor_ratio]
        if previous is not None:
            old = previous.get(row_id)
            if old is None:
                cells.append("new")
            elif old.get("unit") != row.get("unit"):
                cells.append(f"unit was {old.get('unit')}")
            else:
                cells.append(ratio(row["value"], old["value"]))
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    notes = "\n".join(f"- `{row_id}`: {row['note']}" for row_id, row in rows.items()
                      if row.get("note"))

    meta = json.loads(args.meta)
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "latest.json"), "w", encoding="utf-8") as file:
        json.dump({"meta": meta, "rows": rows}, file, indent=2, ensure_ascii=False)
        file.write("\n")
    with open(os.path.join(args.out_dir, "latest.md"), "w", encoding="utf-8") as file:
        file.write("# parley benchmarks: latest run\n\n")
        for key, value in meta.items():
            file.write(f"- {key}: {value}\n")
        file.write("\nSee bench/README.md for what each id measures. ratio = value / floor.\n\n")
        file.write(table + "\n\nNotes:\n\n" + notes + "\n")
    print(table)
    print()
    print(notes)


if __name__ == "__main__":
    main()
