#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Prints one closing line for `make check`: test cases passed, failed and skipped.

Reads meson's testlog.json. A cmocka binary counts its cases ("[  PASSED  ] N test(s)."), a
TAP-style script its "ok"/"not ok" lines; anything else counts as one case. A test binary that
failed without reporting a failing case (a crash, a timeout) counts as one failure.
"""
import json
import re
import sys

CMOCKA_PASSED = re.compile(r"^\[  PASSED  \] (\d+) test", re.M)
CMOCKA_FAILED = re.compile(r"^\[  FAILED  \] (\d+) test", re.M)
TAP_OK = re.compile(r"^ok \d+", re.M)
TAP_NOT_OK = re.compile(r"^not ok \d+", re.M)
TAP_SKIP = re.compile(r"^ok \d+[^\n]*# (?:SKIP|skip)", re.M)


def count(entry):
    out = entry.get("stdout", "") or ""
    out += entry.get("stderr", "") or ""
    result = entry["result"]
    if result == "SKIP":
        return 0, 0, 1
    passed = failed = skipped = 0
    m = CMOCKA_PASSED.findall(out)
    if m:
        passed = sum(int(x) for x in m)
        failed = sum(int(x) for x in CMOCKA_FAILED.findall(out))
    elif TAP_OK.search(out) or TAP_NOT_OK.search(out):
        skipped = len(TAP_SKIP.findall(out))
        passed = len(TAP_OK.findall(out)) - skipped
        failed = len(TAP_NOT_OK.findall(out))
    elif result == "OK":
        passed = 1
    if result != "OK" and failed == 0:
        failed = 1
    return passed, failed, skipped


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "build/meson-logs/testlog.json"
    totals = [0, 0, 0]
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    for i, n in enumerate(count(json.loads(line))):
                        totals[i] += n
    except (OSError, ValueError, KeyError) as e:
        print("summary: cannot read %s: %s" % (path, e), file=sys.stderr)
        return 1
    line = "%d passed, %d failed" % (totals[0], totals[1])
    if totals[2]:
        line += ", %d skipped" % totals[2]
    print("check: " + line)
    return 1 if totals[1] else 0


if __name__ == "__main__":
    sys.exit(main())
