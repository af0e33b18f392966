"""Runs the benchmarks named on the command line (all when none) and prints their figures."""

from __future__ import annotations

import argparse
import importlib
import sys

BENCHES = ["content", "tenant", "labs", "exam", "tui"]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("names", nargs="*", choices=[*BENCHES, []], help="benchmarks to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller workloads (for a smoke test)")
    args = parser.parse_args()
    for name in args.names or BENCHES:
        module = importlib.import_module(f"benchmarks.bench_{name.replace('-', '_')}")
        print(f"== {name} ==", flush=True)
        module.run(quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
