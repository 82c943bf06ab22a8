"""`make bench`: run every benchmark in bench/ against a running full-mode server.

Arguments pass through to each benchmark (e.g. `--url http://127.0.0.1:8031
--transfers 5000`). See bench/README.md for starting a server to measure.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import transfer_storm  # noqa: E402

BENCHMARKS = [("transfer storm", transfer_storm.main)]


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    worst = 0
    for name, run in BENCHMARKS:
        print(f"=== {name} ===")
        worst = max(worst, run(argv))
    return worst


if __name__ == "__main__":
    sys.exit(main())
