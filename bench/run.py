"""Run the benchmarks and write `bench/results.json` plus a readable table.

python -m bench.run            # every benchmark, full size
python -m bench.run --quick    # every benchmark, small (for development)
python -m bench.run --only scoring
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results.json"


def discover() -> list[str]:
    """The benchmark modules: bench/bench_<name>.py."""
    return sorted(path.stem.removeprefix("bench_") for path in BENCH_DIR.glob("bench_*.py"))


def table(figures: dict[str, dict[str, Any]]) -> str:
    """A readable table of figures."""
    rows = [("figure", "value", "unit", "baseline", "ratio", "target", "met")]
    for name, item in figures.items():
        target = (
            "" if item["target"] is None else f"{'>=' if item['higher_is_better'] else '<='} {item['target']}"
        )
        if item["target"] is not None and item["target_on"] == "ratio":
            target += " (ratio)"
        rows.append(
            (
                name,
                "n/a" if item["value"] is None else f"{item['value']:g}",
                item["unit"],
                "" if item["baseline"] is None else f"{item['baseline']:g}",
                "" if item["ratio"] is None else f"{item['ratio']:.2f}",
                target,
                {True: "yes", False: "NO", None: ""}[item["met"]],
            )
        )
    widths = [max(len(str(row[column])) for row in rows) for column in range(len(rows[0]))]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows
    )


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks; exit 1 when a figure misses its target."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small runs for development")
    parser.add_argument("--only", nargs="*", choices=discover(), help="run only these benchmarks")
    args = parser.parse_args(argv)
    names = args.only or discover()
    existing = json.loads(RESULTS.read_text()) if RESULTS.exists() and args.only else {}
    figures: dict[str, Any] = {name: item for name, item in existing.items() if not name.startswith("_")}
    started = time.time()
    for name in names:
        print(f"== {name}", file=sys.stderr, flush=True)
        module = importlib.import_module(f"bench.bench_{name}")
        figures.update(module.run(quick=args.quick))
    run_info = {
        "about": "Figures of one `make bench` run on one machine; baselines were measured in the same run.",
        "quick": args.quick,
        "benchmarks": names,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "processor": platform.machine(),
        },
        "duration_s": round(time.time() - started, 1),
    }
    RESULTS.write_text(json.dumps({**figures, "_run": run_info}, indent=2) + "\n")
    print(table(figures))
    return 1 if any(item["met"] is False for item in figures.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
