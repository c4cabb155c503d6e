#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Writes N records in /dev/kmsg's format: mostly ordinary kernel lines, and every 10th an
NVIDIA line of one of the real forms (Xid new format, MIG, NVLink5, fallen off the bus, the
UUID line, SXid). Every Xid line carries "PCI:" so that the notes' regular expression (DCGM's)
finds the same ones. gen-log.py N FILE"""
import random
import sys

n, path = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(42)
plain = [
    "ACPI: bus type PCI registered",
    "EXT4-fs (nvme0n1p2): mounted filesystem with ordered data mode. Quota mode: none.",
    "audit: type=1400 audit(1796000000.123:42): apparmor=\"STATUS\" operation=\"profile_load\"",
    "mlx5_core 0000:3b:00.0: mlx5_pcie_event:301:(pid 1234): PCIe slot advertised sufficient power (75W).",
    "IPv6: ADDRCONF(NETDEV_CHANGE): ens3: link becomes ready",
    "systemd[1]: Started Session 42 of User root.",
]
nv = [
    "NVRM: Xid (PCI:0000:{b:02x}:00): 13, pid={p}, name=python, Graphics SM Warp Exception on (GPC 1, TPC 2, SM 0): Out Of Range Address",
    "NVRM: Xid (PCI:0000:{b:02x}:00): 79, pid='<unknown>', name=<unknown>, GPU has fallen off the bus.",
    "NVRM: Xid (PCI:0000:{b:02x}:00): 119, pid={p}, name=dcgm-exporter, Timeout after 6s of waiting for RPC response from GPU0 GSP! Expected function 76 (GSP_RM_CONTROL).",
    "NVRM: Xid (PCI:0000:{b:02x}:00 GPU-I:01 GPU-CI:00): 43, pid={p}, name=trainer, Ch 00000008",
    "NVRM: Xid (PCI:0018:{b:02x}:00): 149, NETIR_LINK_EVT Fatal XC0 i0 Link 08 (0x004505c6 0x00000000 0x00000000 0x00000000 0x00000000 0x00000000)",
    "NVRM: GPU 0000:{b:02x}:00.0: GPU has fallen off the bus.",
    "NVRM: GPU at PCI:0000:{b:02x}:00: GPU-455d8f70-1f34-8e49-35e2-1b8a0c2b{b:04x}",
    "nvidia-nvswitch{s}: SXid (PCI:0000:{b:02x}:00.0): 12028, Fatal, Link 44 (0x00000000 0x00000000 0x00000000)",
]
with open(path, "w") as f:
    ts = 1000000
    for seq in range(1, n + 1):
        ts += rnd.randrange(1, 5000)
        if seq % 10 == 0:
            msg = rnd.choice(nv).format(b=rnd.randrange(0, 256), p=rnd.randrange(1, 99999), s=rnd.randrange(0, 8))
            prio = 3
        else:
            msg = rnd.choice(plain)
            prio = 6
        f.write(f"{prio},{seq},{ts},-;{msg}\n")
