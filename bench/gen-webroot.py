#!/usr/bin/env python3
"""Generate a web-root-like tree for the guard benchmarks.

usage: gen-webroot.py DIR FILES [--min 1024] [--max 2097152] [--seed 1]

File sizes run from --min to --max, skewed towards small (many small pages
and assets, a few large attachments: size = min * (max/min) ** (u ** 2.7)
for u uniform in [0, 1), about 115 KB on average, so 20,000 files make
about 2.3 GB), spread over nested column directories.
Deterministic for a given seed, so peers see the same input.
"""
import argparse, math, os, random

p = argparse.ArgumentParser()
p.add_argument("dir")
p.add_argument("files", type=int)
p.add_argument("--min", type=int, default=1024)
p.add_argument("--max", type=int, default=2 * 1024 * 1024)
p.add_argument("--seed", type=int, default=1)
a = p.parse_args()

rng = random.Random(a.seed)
block = os.urandom(4 * 1024 * 1024)
total = 0
for i in range(a.files):
    column = f"col{i % 40:02d}/{(i // 40) % 25:02d}"
    d = os.path.join(a.dir, column)
    os.makedirs(d, exist_ok=True)
    size = int(a.min * (a.max / a.min) ** (rng.random() ** 2.7))
    off = rng.randrange(0, len(block) - size)
    ext = rng.choice(["html", "html", "html", "css", "js", "jpg", "png", "pdf", "docx"])
    with open(os.path.join(d, f"page-{i}.{ext}"), "wb") as f:
        f.write(block[off:off + size])
    total += size
print(f"{a.files} files, {total / 1e9:.2f} GB in {a.dir}")
