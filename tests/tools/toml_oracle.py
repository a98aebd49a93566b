#!/usr/bin/python3
"""Compares core/toml.c with Python's tomllib on TOML files.

usage: toml_oracle.py TEST_TOML FILE...

TEST_TOML is build/tests/test_toml; `test_toml --json FILE` prints the tree
pkgimg reads, as tagged JSON (see tests/unit/test_toml.c).  Each FILE is
read by tomllib too and the two trees compared; a file tomllib refuses must
be refused by pkgimg, with a "FILE:LINE:COL: [parse] " message.  Prints one
line a file: "same FILE", "both-reject FILE" or "MISMATCH FILE: why"."""
import datetime
import json
import math
import subprocess
import sys
import tomllib


def tag(v):
    if isinstance(v, dict):
        return {k: tag(x) for k, x in v.items()}
    if isinstance(v, list):
        return [tag(x) for x in v]
    if isinstance(v, bool):
        return {"$t": "bool", "v": "true" if v else "false"}
    if isinstance(v, int):
        return {"$t": "integer", "v": str(v)}
    if isinstance(v, float):
        return {"$t": "float", "v": v}
    if isinstance(v, str):
        return {"$t": "string", "v": v}
    if isinstance(v, datetime.datetime):
        return {"$t": "datetime" if v.tzinfo else "datetime-local", "v": v.isoformat()}
    if isinstance(v, datetime.date):
        return {"$t": "date", "v": v.isoformat()}
    if isinstance(v, datetime.time):
        return {"$t": "time", "v": v.isoformat()}
    raise TypeError(type(v))


def same(a, b, path="$"):
    """None when tomllib's a equals pkgimg's b, else where they differ."""
    if isinstance(a, dict) and "$t" not in a:
        if not isinstance(b, dict) or "$t" in b:
            return f"{path}: table vs {b!r:.80}"
        if set(a) != set(b):
            return f"{path}: keys {sorted(set(a) ^ set(b))!r:.200} differ"
        for k in a:
            d = same(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if not isinstance(b, list) or len(a) != len(b):
            return f"{path}: array of {len(a)} vs {b!r:.80}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = same(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    if not isinstance(b, dict) or b.get("$t") != a["$t"]:
        return f"{path}: {a!r:.80} vs {b!r:.80}"
    if a["$t"] == "float":
        x, y = a["v"], float(b["v"])
        if (math.isnan(x) and math.isnan(y)) or (x == y and math.copysign(1, x) == math.copysign(1, y)):
            return None
        return f"{path}: {x!r} vs {y!r}"
    return None if a["v"] == b["v"] else f"{path}: {a['v']!r:.80} vs {b['v']!r:.80}"


def main():
    tool, files = sys.argv[1], sys.argv[2:]
    bad = 0
    for f in files:
        try:
            with open(f, "rb") as fp:
                want = tag(tomllib.load(fp))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            want = e
        out = subprocess.run([tool, "--json", f], capture_output=True, text=True)
        try:
            got = json.loads(out.stdout)
        except ValueError:
            print(f"MISMATCH {f}: test_toml printed no JSON (exit {out.returncode}): "
                  f"{out.stdout[-200:]!r} {out.stderr[-300:]!r}")
            bad += 1
            continue
        if isinstance(want, Exception):
            if "$error" not in got:
                print(f"MISMATCH {f}: tomllib refuses it ({want}), pkgimg reads it")
                bad += 1
            elif not got["$error"].startswith(f + ":") or ": [parse] " not in got["$error"]:
                print(f"MISMATCH {f}: message is not 'FILE:LINE:COL: [parse] ...': {got['$error']}")
                bad += 1
            else:
                print(f"both-reject {f}: {got['$error'][len(f) + 1:]}  |  tomllib: {want}")
            continue
        if "$error" in got and "\\x00" in repr(want) and "(NUL)" in got["$error"]:
            # the one deliberate difference: pkgimg's strings are C strings
            print(f"both-reject {f}: pkgimg refuses U+0000 in a string or key: {got['$error']}")
            continue
        if "$error" in got:
            print(f"MISMATCH {f}: tomllib reads it, pkgimg refuses it: {got['$error']}")
            bad += 1
            continue
        d = same(want, got)
        if d:
            print(f"MISMATCH {f}: {d}")
            bad += 1
        else:
            print(f"same {f}")
    sys.exit(1 if bad else 0)


main()
