#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Measures how long this disk takes to make 4 KiB durable, while something else runs.

Every 20 ms it appends 4 KiB to a file and calls fdatasync, for SECONDS seconds, then
prints the percentiles of those calls. Run beside a benchmark that writes (bench_http's
create rows) to tell the disk's own stalls from the program's:

    python3 bench/sync_probe.py 24 & SG_BENCH_ONLY=create,open build/rel/bench_http

Usage: sync_probe.py SECONDS [FILE]   (FILE default build/sync_probe.dat, removed after)
"""
import os
import sys
import time


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    seconds = float(sys.argv[1])
    path = sys.argv[2] if len(sys.argv) > 2 else "build/sync_probe.dat"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    ms = []
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            t = time.monotonic()
            os.write(fd, b"x" * 4096)
            os.fdatasync(fd)
            ms.append((time.monotonic() - t) * 1000)
            time.sleep(0.02)
    finally:
        os.close(fd)
        os.unlink(path)
    ms.sort()
    n = len(ms)
    print("sync_probe: %d fdatasync of 4 KiB: p50 %.2f ms, p90 %.2f, p99 %.2f, max %.1f"
          % (n, ms[n // 2], ms[int(n * 0.9)], ms[int(n * 0.99)], ms[-1]))


if __name__ == "__main__":
    main()
