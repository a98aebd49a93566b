#!/bin/bash
# Issue 16: a helper is defined once (STYLE.md rule 2: what two files need
# goes to core/, as apk-tools ships its blob helpers once).  No function
# body of the engine and cli folders may stand in two files, whatever each
# copy is called: the bodies are compared with comments and white space
# dropped, and a recursive copy's calls of itself named alike.  A violation lists the copies (file:line name).  Functions that
# only share a name (a static `plan` in four files, each its own job) are
# not copies and pass.
. "$(dirname "$0")/../lib.sh"
cd "$SRC" || bail "cd $SRC" "no source tree"
command -v python3 >/dev/null || { skip "helpers once" "no python3"; finish; }

dups=$(python3 - core pyspec cache runtime solver installers pyc image cli <<'PY'
import collections, glob, re, sys
bodies = collections.defaultdict(list)
for d in sys.argv[1:]:
    for path in sorted(glob.glob(d + "/*.c") + glob.glob(d + "/*.h")):
        src = open(path, encoding="utf-8", errors="replace").read()
        src = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), src, flags=re.S)
        src = re.sub(r"//[^\n]*", "", src)
        lines = src.split("\n")
        i = 0
        while i < len(lines):
            # a definition: "{" alone at the start of a line, the signature above it
            if lines[i] != "{":
                i += 1
                continue
            j = i - 1
            while j > 0 and lines[j].startswith(("\t", " ")):
                j -= 1
            sig = " ".join(l.strip() for l in lines[j:i])
            k = i + 1
            while k < len(lines) and lines[k] != "}":
                k += 1
            m = re.search(r"(\w+)\s*\(", sig)
            body = re.sub(r"\s+", " ", " ".join(lines[i + 1:k])).strip()
            if m:	# a recursive copy calls itself by its own name
                body = re.sub(r"\b%s\b" % re.escape(m.group(1)), "SELF", body)
            # a body of one short statement (return x;) is too small to count
            if m and "=" not in sig.split("(")[0] and len(body) > 40:
                bodies[body].append("%s:%d %s" % (path, j + 1, m.group(1)))
            i = k + 1
for body, where in bodies.items():
    files = {w.split(":")[0] for w in where}
    if len(files) > 1:
        print(", ".join(where))
PY
)
if [ -z "$dups" ]; then ok "helpers once: no function body defined in two files"
else fail "helpers once: no function body defined in two files" "$dups"; fi
finish
