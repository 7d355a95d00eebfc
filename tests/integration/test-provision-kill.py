#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""provd killed (SIGKILL) at random moments while it provisions, 100 times:
the configuration is always exactly the one before or the one being applied,
never half-written or mixed, and what a kill leaves behind is tidied away.
The certificate store goes with it: each file set installs its own CA (all
others deleted) and device certificate, and the store is always the one that
belongs to the configuration, as the next start finds it (a run killed after
its configuration was applied and before its certificates were made current
has them finished by that start: certstore_recover()).

provd runs on its own (no deskphone-session) on a private dbus-daemon, with
power-on provisioning from a Python HTTP server that serves, alternately,
two complete file sets A and B in which every key differs. Each iteration
starts provd, kills it after a seeded random delay and then checks the
state directory as the next start would find it. The delays are spread over
the whole run (start-up, download, apply, after), with most of them packed
around the moment the apply ends, measured first on clean runs, so that many
kills land while the new generation is being written.

DESKPHONE_KILL_SEED picks another seed; DESKPHONE_KILL_ITERATIONS another count."""
import os
import random
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))

from deskphone import Tap, TestFailure, _stop_process, built, cfg_text, expect, program  # noqa: E402
from provisioning import TEST_MAC, Answer, ScriptedHttp, ThrowawayCa  # noqa: E402

tap = Tap()
tap.require("dbus-daemon")

SEED = int(os.environ.get("DESKPHONE_KILL_SEED", "6"))
ITERATIONS = int(os.environ.get("DESKPHONE_KILL_ITERATIONS", "100"))
LAYER_FILES = ("site.cfg", "common.cfg", "mac.cfg", "local.cfg", "effective.cfg")


def file_set(tag, url):
    """A complete common + MAC file pair; every key's value depends on tag."""
    common = {"static.trusted_certificates.url": f"{url}ca-{tag}.pem",
              "static.trusted_certificates.delete": "http://localhost/all",
              "static.server_certificates.url": f"{url}device-{tag}.pem","account.1.label": f"Label {tag}", "account.1.display_name": f"Display {tag}",
              "account.1.user_name": f"user{tag.lower()}", "account.1.auth_name": f"auth{tag.lower()}",
              "account.1.sip_server.1.address": f"sip-{tag.lower()}.example.com",
              "account.1.sip_server.1.port": 5060 if tag == "A" else 5070,
              "voice.jib.max": 250 if tag == "A" else 300,
              "account.2.label": f"Second {tag}"}
    for n in range(3, 16):  # bulk, so that a generation takes a little while to write
        common[f"account.{n}.label"] = f"Account {n} of set {tag}"
        common[f"account.{n}.display_name"] = f"Person {n} {tag}"
    mac = {"account.1.password": f"secret-{tag}", "account.2.user_name": f"second{tag.lower()}"}
    return cfg_text(common), cfg_text(mac)


class KillRig:
    """A private dbus-daemon, the HTTP server and provd's state directory."""

    def __init__(self, t):
        self.provd = built("provd")
        self.dir = t._dir("rig")
        os.makedirs(self.dir)
        self.state = os.path.join(self.dir, "state")
        self.config_dir = os.path.join(self.state, "config")
        self.log_path = os.path.join(self.dir, "provd.log")
        self.srv = t.add(ScriptedHttp())
        self.srv.server.handle_error = lambda request, address: None  # a killed client resets its connection
        self.site = os.path.join(self.dir, "site.cfg")
        with open(self.site, "w") as f:
            f.write(cfg_text({"static.auto_provision.server.url": self.srv.url, "deskphone.mac": TEST_MAC,
                              "static.auto_provision.power_on": 1}))
        self.bus_proc = subprocess.Popen([program("dbus-daemon"), "--session", "--nofork", "--print-address=1",
                                          f"--address=unix:path={self.dir}/bus"],
                                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.bus = self.bus_proc.stdout.readline().decode().strip()
        expect(self.bus.startswith("unix:"), f"dbus-daemon did not start: {self.bus!r}")
        self.name = "dbus-daemon"
        self.certs_dir = os.path.join(self.state, "certs")
        for tag in ("A", "B"):
            ca = ThrowawayCa(self.dir, f"ca-{tag}")
            cert, key = ca.server_cert(f"phone-{tag.lower()}.example.com", usage="tls_www_client")
            with open(ca.cert, "rb") as f:
                self.srv.route(f"ca-{tag}.pem", Answer(f.read()))
            with open(cert, "rb") as c, open(key, "rb") as k:
                self.srv.route(f"device-{tag}.pem", Answer(c.read() + k.read()))

    def serve(self, tag):
        common, mac = file_set(tag, self.srv.url)
        self.srv.route("y000000000000.cfg", Answer(common))
        self.srv.route(f"{TEST_MAC}.cfg", Answer(mac))

    def spawn(self):
        with open(self.log_path, "ab") as log:
            return subprocess.Popen([self.provd, "--state-dir", self.state, "--config", self.site, "--bus", self.bus],
                                    stdout=subprocess.DEVNULL, stderr=log, stdin=subprocess.DEVNULL)

    def clean_run(self, tag):
        """Start provd, let it provision tag's files, stop it; returns the ms it took to apply."""
        self.serve(tag)
        start = time.monotonic()
        p = subprocess.Popen([self.provd, "--state-dir", self.state, "--config", self.site, "--bus", self.bus],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        took, lines = None, []
        for line in p.stderr:
            line = line.decode(errors="replace")
            lines.append(line)
            if "Provisioning applied" in line or "nothing changed" in line:
                took = (time.monotonic() - start) * 1000
                break
            if "Provisioning failed" in line:
                break
        _stop_process(p, timeout=10)
        p.stderr.close()
        expect(took is not None, f"provd did not provision {tag}:\n{''.join(lines)}")
        return took

    def entries(self, d=None):
        return sorted(os.listdir(d or self.config_dir))

    def certificates(self, config_gen):
        """(generation, {file: bytes}) of the certificate store as the next start makes it:
        current's, or a prepared generation whose configuration change was made."""
        gen = int(re.fullmatch(r"gen-(\d+)", os.readlink(os.path.join(self.certs_dir, "current"))).group(1))
        for e in self.entries(self.certs_dir):
            m = re.fullmatch(r"gen-(\d+)", e)
            prepared = os.path.join(self.certs_dir, e, "prepared")
            if m and int(m.group(1)) > gen and os.path.exists(prepared):
                with open(prepared) as f:
                    if config_gen > int(f.read()):
                        gen = int(m.group(1))
        files = {}
        top = os.path.join(self.certs_dir, f"gen-{gen}")
        for d, _, names in os.walk(top):
            for name in names:
                if name != "prepared":
                    with open(os.path.join(d, name), "rb") as f:
                        files[os.path.relpath(os.path.join(d, name), top)] = f.read()
        return gen, files

    def current(self):
        """(generation number, {file: bytes}) of what "current" points at."""
        target = os.readlink(os.path.join(self.config_dir, "current"))
        m = re.fullmatch(r"gen-(\d+)", target)
        expect(m, f"current points at {target!r}")
        files = {}
        for name in LAYER_FILES:
            with open(os.path.join(self.config_dir, target, name), "rb") as f:
                files[name] = f.read()
        return int(m.group(1)), files

    def logs(self):
        return [("provd (all runs)", self.log_path)]

    def stop(self):
        _stop_process(self.bus_proc, timeout=5)
        self.bus_proc.stdout.close()


@tap.case("/provision/kill/100-random-kills")
def _(t):
    rig = t.add(KillRig(t))
    # clean runs: the two states, and how long a run takes to apply
    times = [rig.clean_run("A")]
    gen, state_a = rig.current()
    certs_a = rig.certificates(gen)[1]
    times.append(rig.clean_run("B"))
    gen, state_b = rig.current()
    certs_b = rig.certificates(gen)[1]
    times.append(rig.clean_run("A"))
    gen, files = rig.current()
    expect(files == state_a, "provisioning A again must give A's configuration")
    expect(rig.certificates(gen)[1] == certs_a, "and A's certificates")
    expect(state_a["effective.cfg"] != state_b["effective.cfg"], "A and B must differ")
    expect(certs_a["device.pem"] != certs_b["device.pem"] and len([n for n in certs_a if n.startswith("ca/")]) == 1,
           f"A and B must have a device certificate and one CA each: {sorted(certs_a)}")
    states = {"A": state_a, "B": state_b}
    cert_states = {"A": certs_a, "B": certs_b}
    applied_ms = sorted(times)[1]
    tap._diag(f"seed {SEED}; a clean run applies {applied_ms:.0f} ms after provd starts "
              f"(runs: {', '.join(f'{x:.0f}' for x in times)} ms)")

    rng = random.Random(SEED)
    prev = "A"
    counts = {"before": 0, "after": 0, "mid-write": 0, "old-left": 0, "exited": 0, "certs-finished": 0}
    started = time.monotonic()
    for i in range(ITERATIONS):
        tag = "B" if i % 2 == 0 else "A"
        rig.serve(tag)
        # a third anywhere from start-up to well after the apply, the rest close around its end
        if rng.random() < 1 / 3:
            delay = rng.uniform(0, applied_ms * 1.5)
        else:
            delay = rng.uniform(applied_ms * 0.85, applied_ms * 1.2)
        p = rig.spawn()
        time.sleep(delay / 1000)
        if p.poll() is not None:
            counts["exited"] += 1  # e.g. the bus still held the killed one's name: nothing to see
        p.send_signal(signal.SIGKILL)
        p.wait()

        gen, files = rig.current()
        match = [name for name, s in states.items() if files == s]
        expect(match, f"iteration {i} (kill after {delay:.1f} ms): the configuration in gen-{gen} is neither "
                      f"A nor B (a mix or half-written)")
        now = match[0]
        expect(now in (prev, tag), f"iteration {i}: the configuration is {now}, but it was {prev} and {tag} was "
                                   "being applied")
        counts["after" if now == tag and now != prev else "before"] += 1
        certs_gen, certs = rig.certificates(gen)
        expect(certs == cert_states[now], f"iteration {i} (kill after {delay:.1f} ms): the configuration is {now} "
                                          f"but the certificates in gen-{certs_gen} are not {now}'s")
        cert_extra = [e for e in rig.entries(rig.certs_dir) if e not in ("current", "current.tmp", f"gen-{certs_gen}")]
        for e in cert_extra:
            m = re.fullmatch(r"gen-(\d+)", e)
            expect(m and abs(int(m.group(1)) - certs_gen) == 1,
                   f"iteration {i}: unexpected {e} in certs/ beside gen-{certs_gen}: {rig.entries(rig.certs_dir)}")
        if certs_gen != int(os.readlink(os.path.join(rig.certs_dir, "current"))[4:]):
            counts["certs-finished"] += 1
        # what a kill may leave (the next start removes it): the next generation
        # half-written, the link's temporary, the one before not yet removed
        extra = [e for e in rig.entries() if e not in ("current", f"gen-{gen}")]
        for e in extra:
            m = re.fullmatch(r"gen-(\d+)", e)
            expect(e == "current.tmp" or (m and int(m.group(1)) in (gen - 1, gen + 1)),
                   f"iteration {i}: unexpected {e} in config/ beside gen-{gen}: {rig.entries()}")
        if f"gen-{gen + 1}" in extra:
            counts["mid-write"] += 1
        if f"gen-{gen - 1}" in extra:
            counts["old-left"] += 1
        prev = now
    took = time.monotonic() - started

    # the next clean start tidies up and converges on what the server says
    final = "B" if prev == "A" else "A"
    rig.clean_run(final)
    gen, files = rig.current()
    expect(files == states[final], f"after the kills, provisioning {final} must give {final}'s configuration")
    expect(rig.entries() == ["current", f"gen-{gen}"], f"config/ after a clean start: {rig.entries()}")
    certs_gen, certs = rig.certificates(gen)
    expect(certs == cert_states[final], f"after the kills, provisioning {final} must give {final}'s certificates")
    expect(rig.entries(rig.certs_dir) == ["current", f"gen-{certs_gen}"],
           f"certs/ after a clean start: {rig.entries(rig.certs_dir)}")
    rig.clean_run(prev)
    expect(rig.current()[1] == states[prev], f"and provisioning {prev} again must give {prev}'s")

    tap._diag(f"{ITERATIONS} kills in {took:.1f} s: {counts['before']} left the previous configuration, "
              f"{counts['after']} the new one, {counts['mid-write']} hit a generation being written, "
              f"{counts['old-left']} came before the old one was removed, {counts['exited']} found provd already gone, "
                f"{counts['certs-finished']} left certificates that the next start makes current")
    expect(counts["after"] > 0 and counts["before"] > 0, f"the kills did not spread around the apply: {counts}")
    if took > 60:
        raise TestFailure(f"{ITERATIONS} iterations took {took:.1f} s (budget 60 s)")


tap.run()
