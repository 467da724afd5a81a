"""Import speed and peak memory on PostgreSQL: the CDNOW file and a generated large file.

Each import runs in a child process so its peak resident memory (ru_maxrss) is its own.

Usage: python bench/imports.py CDNOW_master.txt [--rows 1000000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_runtime, machine
from saas.imports.importer import ImportOptions, import_transactions
from saas.loyalty.models import EarnRule
from saas.tenancy.provisioning import BrandSpec, create_brand


def generate(path: Path, rows: int) -> None:
    """Write a CSV of ``rows`` purchases by 100,000 members over two years."""
    rng = random.Random(7)
    with path.open("w", encoding="utf-8") as out:
        out.write("customer_id,date,amount\n")
        for _ in range(rows):
            day = 20230101 + rng.randrange(12) * 100 + rng.randrange(28)
            amount = rng.randrange(100, 30000) / 100
            out.write(f"C{rng.randrange(100_000):06d},{day},{amount:.2f}\n")


def child(settings, slug: str, path: str, queue) -> None:
    from saas.runtime import Runtime

    runtime = Runtime(settings)
    brand = runtime.brand(slug)
    start = time.monotonic()
    with runtime.open_brand_session(brand) as session:
        summary = import_transactions(session, brand, Path(path), ImportOptions())
    seconds = time.monotonic() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((summary.imported, seconds, peak_mib))
    runtime.close()


def measure(runtime, slug: str, path: Path) -> tuple[int, float, float]:
    brand = create_brand(runtime, BrandSpec(slug=slug, name=slug, region="us"))
    with runtime.open_brand_session(brand) as session:
        session.add(EarnRule(code="base", name="base", actions=[
            {"type": "points_per_amount", "points": 1, "per": "1.00"}]))
        session.commit()
    runtime.engines.dispose_all()
    queue = multiprocessing.Queue()
    process = multiprocessing.Process(target=child, args=(runtime.settings, slug, str(path), queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("cdnow", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    generated = Path(tempfile.mkdtemp()) / "generated.csv"
    generate(generated, args.rows)
    print(f"machine: {machine()}")
    with bench_runtime() as (runtime, _prefix):
        for slug, path in (("cdnow", args.cdnow), ("generated", generated)):
            imported, seconds, peak = measure(runtime, slug, path)
            print(f"{slug}: {imported} rows in {seconds:.1f} s = {imported / seconds:.0f} rows/s, "
                  f"peak memory {peak:.0f} MiB")
    generated.unlink()


if __name__ == "__main__":
    main()
