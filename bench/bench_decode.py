"""What the kernel's stored form costs an entity: a record as JSON through crmkit's one
cattrs converter (``EntitySpec.encode`` / ``decode``, with the JSON text parsed and written
as the SQL backend does), beside the customers' hand-mapped column rows
(``storage/sql/rows.py``), per row, in the same process.

This is why customers keep their own table while contacts and users ride on the kernel
(docs/explanation/architecture.md): a page of 50 customers decodes 50 rows.

    python bench/bench_decode.py [--rows 200] [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import sys
import timeit
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from crmkit.domain.values import Email, Phone
from crmkit.storage.catalog import CONTACTS, USERS
from crmkit.storage.spec import EntitySpec
from crmkit.storage.sql import rows
from crmkit.storage.textsearch import search_document
from crmkit.testing.builders import make_contact, make_user

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_storage import build


def per_row_us(fn: Callable[[], Any], n: int, repeat: int) -> float:
    """The best of ``repeat`` timings of ``fn`` (which handles ``n`` rows), per row."""
    loops = 20
    return min(timeit.repeat(fn, number=loops, repeat=repeat)) / loops / n * 1e6


def generic(spec: EntitySpec[Any], objs: Sequence[Any], repeat: int) -> tuple[float, float]:
    """Decode and encode per row through the spec, JSON text included."""
    texts = [json.dumps(spec.encode(o)) for o in objs]

    def decode() -> None:
        for text in texts:
            spec.decode(json.loads(text))

    def encode() -> None:
        for obj in objs:
            json.dumps(spec.encode(obj))

    return per_row_us(decode, len(objs), repeat), per_row_us(encode, len(objs), repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    n, repeat = args.rows, args.repeat

    customers = build(n)
    # The customer spec is hypothetical (customers have no spec): the same class, stored
    # the kernel's way, to compare with the columns they are stored in.
    from crmkit.domain.customer import Customer

    as_kernel = EntitySpec("customer", Customer, "customers_as_kernel", indexed=("owner_id",))
    column_rows = [rows.customer_row(c, search_document(c, ())) for c in customers]

    def hand_decode() -> None:
        for row in column_rows:
            rows.customer_from_row(row)

    def hand_encode() -> None:
        for c in customers:
            rows.customer_row(c, search_document(c, ()))

    k_dec, k_enc = generic(as_kernel, customers, repeat)
    print(f"{'row':<28}{'decode µs':>12}{'encode µs':>12}")
    print(f"{'customer, columns (rows.py)':<28}{per_row_us(hand_decode, n, repeat):>12.1f}", end="")
    print(f"{per_row_us(hand_encode, n, repeat):>12.1f}  (encode includes the search document)")
    print(f"{'customer, as a kernel spec':<28}{k_dec:>12.1f}{k_enc:>12.1f}")
    contacts = [
        make_contact(
            customer_id="c-1",
            name="王建国",
            mobile=Phone("+8613800138000"),
            email=Email("wang@example.cn"),
        )
        for _ in range(n)
    ]
    c_dec, c_enc = generic(CONTACTS, contacts, repeat)
    print(f"{'contact (CONTACTS)':<28}{c_dec:>12.1f}{c_enc:>12.1f}")
    users = [make_user(name="张三", email=Email("zs@example.cn")) for _ in range(n)]
    u_dec, u_enc = generic(USERS, users, repeat)
    print(f"{'user (USERS)':<28}{u_dec:>12.1f}{u_enc:>12.1f}")


if __name__ == "__main__":
    main()
