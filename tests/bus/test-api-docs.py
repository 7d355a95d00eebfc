#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every member a daemon exports (from its own tables, --print-interfaces) is in
dbus/<interface>.xml with the same arguments, and in the matching *-api.txt
document; and neither file has a member the daemon does not export."""
import glob
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

src = os.environ.get("DESKPHONE_SOURCE_ROOT") or sys.argv[1]
daemons = sys.argv[1:] if os.environ.get("DESKPHONE_SOURCE_ROOT") else sys.argv[2:]
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def members(iface):
    out = {}
    for kind in ("method", "signal", "property"):
        for el in iface.findall(kind):
            if kind == "property":
                desc = (el.get("type"), el.get("access"))
            else:
                desc = tuple((a.get("name"), a.get("type"), a.get("direction") or ("in" if kind == "method" else None))
                             for a in el.findall("arg"))
            out[(kind, el.get("name"))] = desc
    return out


def doc_members(text):
    """Member names per section of an oFono-style API document."""
    found = {}
    section = None
    for line in text.splitlines():
        m = re.match(r"^(Methods|Signals|Properties)\b", line)
        if m:
            section = {"Methods": "method", "Signals": "signal", "Properties": "property"}[m.group(1)]
            line = line[len(m.group(1)):]
        elif line and not line.startswith("\t"):
            section = None if not line.startswith(" ") else section
        if not section:
            continue
        body = line.strip()
        if section in ("method", "signal"):
            m = re.match(r"^[\w{}]+(?:\{[\w, ]+\})?\s+(\w+)\(", body)
        else:
            m = re.match(r"^[\w{}]+(?:\{[\w, ]+\})?\s+(\w+)\s+\[", body)
        if m and line.startswith("\t") and not line.startswith("\t\t\t"):
            found[(section, m.group(1))] = True
    return found


xml_ifaces = {}
for path in sorted(glob.glob(os.path.join(src, "dbus", "*.xml"))):
    if os.path.basename(path).startswith("org.deskphone.") is False:
        continue
    for iface in ET.parse(path).getroot().findall("interface"):
        xml_ifaces[iface.get("name")] = (path, members(iface))

docs = {}
for path in sorted(glob.glob(os.path.join(src, "dbus", "*-api.txt"))):
    text = open(path, encoding="utf-8").read()
    for m in re.finditer(r"^Interface\s+(\S+)", text, re.M):
        docs[m.group(1)] = (path, doc_members(text))

exported = {}
for daemon in daemons:
    out = subprocess.run([daemon, "--print-interfaces"], check=True, capture_output=True, text=True).stdout
    for iface in ET.fromstring(out).findall("interface"):
        exported[iface.get("name")] = members(iface)

if not exported:
    fail("no daemon exported any interface")

for name, mem in exported.items():
    if name not in xml_ifaces:
        fail(f"{name} is exported but has no dbus/{name}.xml")
        continue
    xpath, xmem = xml_ifaces[name]
    for key, desc in mem.items():
        if key not in xmem:
            fail(f"{name}: {key[0]} {key[1]} is exported but missing from {xpath}")
        elif xmem[key] != desc:
            fail(f"{name}: {key[0]} {key[1]} differs: daemon {desc}, {xpath} {xmem[key]}")
    for key in xmem:
        if key not in mem:
            fail(f"{name}: {key[0]} {key[1]} is in {xpath} but not exported")
    if name not in docs:
        fail(f"{name} has no dbus/*-api.txt document")
        continue
    dpath, dmem = docs[name]
    for key in mem:
        if key not in dmem:
            fail(f"{name}: {key[0]} {key[1]} is not documented in {dpath}")
    for key in dmem:
        if key not in mem:
            fail(f"{name}: {dpath} documents {key[0]} {key[1]}, which is not exported")

for name, (xpath, _) in xml_ifaces.items():
    if name not in exported:
        fail(f"{xpath} describes {name}, which no built daemon exports")

checked = sum(len(m) for m in exported.values())
print(f"{checked} members checked in {len(exported)} interface(s)")
sys.exit(1 if failures else 0)
