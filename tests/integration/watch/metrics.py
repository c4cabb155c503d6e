#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Parses a Prometheus textfile with the real parser (python3-prometheus-client) and checks
samples: metrics.py FILE 'name{label="v",...}=VALUE' ... (VALUE compared as a number).
Exits 1 naming the first mismatch, 2 when the file does not parse."""
import re
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    text = open(sys.argv[1]).read()
    samples = {}
    try:
        for fam in text_string_to_metric_families(text):
            for s in fam.samples:
                key = s.name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items())) + "}"
                samples[key] = s.value
    except Exception as e:  # the parser raises ValueError and friends
        print(f"does not parse: {e}", file=sys.stderr)
        return 2
    for want in sys.argv[2:]:
        m = re.fullmatch(r'([a-z_]+)(\{.*\})?=(.+)', want)
        name, labels, value = m.group(1), m.group(2) or "{}", float(m.group(3))
        pairs = sorted(re.findall(r'(\w+)="([^"]*)"', labels))
        key = name + "{" + ",".join(f'{k}="{v}"' for k, v in pairs) + "}"
        if samples.get(key) != value:
            print(f"{key}: want {value}, got {samples.get(key)}", file=sys.stderr)
            return 1
    return 0


sys.exit(main())
