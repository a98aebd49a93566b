#!/usr/bin/env python3
"""Functions of the engine and cli folders longer than N lines (default 100),
counted from the opening brace to the closing one, longest first.
   tests/tools/funclen.py [N]        (run from the repository root)"""
import glob
import re
import sys

FOLDERS = "core pyspec cache runtime solver installers pyc image cli".split()
limit = int(sys.argv[1]) if len(sys.argv) > 1 else 100
res = []
for d in FOLDERS:
    for f in sorted(glob.glob(d + "/*.c")):
        lines = open(f, errors="replace").read().split("\n")
        i = 0
        while i < len(lines):
            if lines[i] == "{" and i > 0:
                j = i - 1
                while j > 0 and lines[j - 1].strip() and \
                        not lines[j - 1].startswith(("}", "#", "/*", " *")) and \
                        not lines[j - 1].endswith(";"):
                    j -= 1
                m = re.search(r"(\w+)\s*\(", lines[j])
                k = i + 1
                while k < len(lines) and lines[k] != "}":
                    k += 1
                res.append((k - i + 1, f, m.group(1) if m else lines[j]))
                i = k
            i += 1
for n, f, name in sorted(res, reverse=True):
    if n > limit:
        print(n, f, name)
