"""`python -m benchmarks [name ...]`: run every benchmarks/bench_*.py module's main().

Each benchmark measures the suite and its reference in the same process run and prints ratios,
since absolute times on a shared machine are noise.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    if argv:
        unknown = [a for a in argv if f"bench_{a}" not in names and a not in names]
        if unknown:
            print(f"error: unknown benchmark {unknown[0]!r}; allowed: {', '.join(names)}")
            return 2
        names = [n for n in names if n in argv or n.removeprefix("bench_") in argv]
    failed = []
    for name in names:
        print(f"\n== {name} ==", flush=True)
        start = time.perf_counter()
        ok = importlib.import_module(f"benchmarks.{name}").main()
        print(f"({time.perf_counter() - start:.0f} s)", flush=True)
        if ok is False:
            failed.append(name)
    print("\nall targets met" if not failed else f"\ntargets missed in: {', '.join(failed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
