"""Print the examples run per fuzz target: the sum of the ``<prefix>.<pid>`` tally files."""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path


def main() -> int:
    prefix = Path(sys.argv[1])
    totals: collections.Counter[str] = collections.Counter()
    for path in prefix.parent.glob(f"{prefix.name}.*"):
        for line in path.read_text().splitlines():
            totals.update(json.loads(line))
    print("fuzz tallies (examples run per target)")
    for target, n in sorted(totals.items()):
        print(f"  {target:28} {n:>8,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
