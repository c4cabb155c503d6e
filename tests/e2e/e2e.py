# SPDX-License-Identifier: GPL-2.0-or-later
"""Host-side readers for what a scenario's guest left in /out (see guest-facts.sh)."""
import json
import os


class Out:
    def __init__(self, path):
        self.path = path

    def text(self, name):
        with open(os.path.join(self.path, name)) as f:
            return f.read()

    def json(self, name):
        with open(os.path.join(self.path, name)) as f:
            return json.load(f)

    def lines(self, name):
        return [l for l in self.text(name).splitlines() if l.strip()]

    def pci(self):
        """Every PCI function: bdf, vendor, device, class, driver (None), widths (None)."""
        rows = []
        for l in self.lines("facts/pci"):
            bdf, vendor, device, cls, drv, cur, mx = l.split()
            rows.append({"pci": bdf, "vendor": vendor, "device": device, "class": cls,
                         "driver": None if drv == "-" else drv,
                         "current_width": None if cur == "-" else int(cur),
                         "max_width": None if mx == "-" else int(mx)})
        return rows

    def nvidia_gpus(self):
        return [r for r in self.pci() if r["vendor"] == "0x10de"
                and r["class"][:6] in ("0x0300", "0x0302")]

    def nvswitches(self):
        return [r for r in self.pci() if r["vendor"] == "0x10de" and r["class"][:6] == "0x0680"]

    def modules(self):
        """/proc/modules as {name: (refcnt, [holders])}."""
        mods = {}
        for l in self.lines("facts/modules"):
            f = l.split()
            holders = [] if f[3] == "-" else [h for h in f[3].split(",") if h]
            mods[f[0]] = (int(f[2]), sorted(holders))
        return mods

    def driver_gpus(self):
        """/proc/driver/nvidia/gpus as {bdf: (uuid, minor)}."""
        gpus = {}
        for l in self.lines("facts/gpus"):
            bdf, uuid, minor = l.split()
            gpus[bdf] = (uuid, int(minor))
        return gpus
