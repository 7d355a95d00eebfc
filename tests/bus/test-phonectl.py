#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""phonectl against real phones (deskphone-session on private buses): what an
administrator sees. Secrets masked, refused imports change nothing byte for
byte, two phones side by side, wait on signals, exit codes."""
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SESSION = os.environ["DESKPHONE_SESSION"]
PHONECTL = os.environ["DESKPHONE_PHONECTL"]
results = []


class Phone:
    def __init__(self, cfg=None):
        self.dir = tempfile.mkdtemp(prefix="deskphone-phonectl-")
        args = [SESSION, "--no-publish", "--state-dir", os.path.join(self.dir, "state"), "--services", "provd"]
        if cfg is not None:
            path = os.path.join(self.dir, "site.cfg")
            with open(path, "w") as f:
                f.write(cfg)
            args += ["--config", path]
        self.log = open(os.path.join(self.dir, "session.log"), "w")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log)
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline().decode() if ready else ""
        if not line.startswith("DESKPHONE_BUS="):
            raise RuntimeError("session did not start: " + repr(line))
        self.bus = line.strip().split("=", 1)[1]

    def ctl(self, *args, stdin=None):
        p = subprocess.run([PHONECTL, "--bus", self.bus, *args], capture_output=True, text=True, input=stdin,
                           timeout=60)
        return p.returncode, p.stdout, p.stderr

    def effective(self):
        with open(os.path.join(self.dir, "state", "provd", "config", "current", "effective.cfg"), "rb") as f:
            return f.read()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=20)
        self.log.close()
        if not os.environ.get("DESKPHONE_TEST_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        return rc


def case(name):
    def wrap(fn):
        results.append((name, fn))
        return fn
    return wrap


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


@case("/phonectl/status")
def _(a, b):
    rc, out, err = a.ctl("status")
    expect(rc == 0, f"status failed: {rc} {err}")
    expect("/org/deskphone/Config1" in out, out)
    rc, out, err = a.ctl("--json", "status")
    import json
    data = json.loads(out)
    expect(data["services"]["org.deskphone.Config1"]["running"] is True, out)


@case("/phonectl/secret-masked")
def _(a, b):
    rc, out, err = a.ctl("config", "set", "account.1.password=Very-Secret-42")
    expect(rc == 0, err)
    rc, out, err = a.ctl("config", "get", "account.1.password")
    expect(rc == 0 and out.strip() == "********", f"get printed {out!r}")
    for args in (("config", "dump"), ("--json", "config", "dump"), ("status",), ("--json", "status"),
                 ("config", "dump", "account.1.")):
        rc, out, err = a.ctl(*args)
        expect("Very-Secret-42" not in out + err, f"{args} shows the secret")
    # not world-readable on disk, and not in the log
    cfgdir = os.path.join(a.dir, "state", "provd", "config")
    for root, dirs, files in os.walk(cfgdir):
        for n in dirs + files:
            p = os.path.join(root, n)
            if not os.path.islink(p):
                expect(os.stat(p).st_mode & 0o077 == 0, f"{p} is readable by others")
    with open(os.path.join(a.dir, "session.log"), errors="replace") as f:
        expect("Very-Secret-42" not in f.read(), "secret in the log")


@case("/phonectl/dump-import-roundtrip")
def _(a, b):
    rc, dump, err = a.ctl("config", "dump")
    expect(rc == 0 and dump.startswith("#!version:1.0.0.1"), dump[:80])
    before = a.effective()
    rc, out, err = a.ctl("config", "import", "-", stdin=dump)
    expect(rc == 0, err)
    expect(a.effective() == before, "re-importing a dump changed the configuration")


@case("/phonectl/import-refused-syntax")
def _(a, b):
    before, dump_before = a.effective(), a.ctl("config", "dump")[1]
    path = os.path.join(a.dir, "broken.cfg")
    with open(path, "w") as f:
        f.write("#!version:1.0.0.1\naccount.1.label = Changed\nthis is not a setting\n")
    rc, out, err = a.ctl("config", "import", path)
    expect(rc == 4, f"exit {rc}, expected 4: {err}")
    expect("broken.cfg:3" in err, err)
    expect(a.effective() == before, "effective configuration changed")
    expect(a.ctl("config", "dump")[1] == dump_before, "dump changed")


@case("/phonectl/import-refused-range")
def _(a, b):
    before = a.effective()
    path = os.path.join(a.dir, "range.cfg")
    with open(path, "w") as f:
        f.write("#!version:1.0.0.1\r\naccount.1.label = Changed\r\n\r\naccount.1.sip_server.1.port = 70000\r\n")
    rc, out, err = a.ctl("config", "import", path)
    expect(rc == 4, f"exit {rc}: {err}")
    expect("range.cfg:4" in err and "account.1.sip_server.1.port" in err, err)
    expect(a.effective() == before, "effective configuration changed")


@case("/phonectl/set-all-or-nothing")
def _(a, b):
    before = a.effective()
    rc, out, err = a.ctl("config", "set", "account.1.label=Good", "sip.listen_port=0x10")
    expect(rc == 4, f"exit {rc}: {err}")
    expect(a.effective() == before, "effective configuration changed")
    rc, out, err = a.ctl("config", "get", "no.such.key")
    expect(rc == 3, f"unknown key exit {rc}")
    rc, out, err = a.ctl("config")
    expect(rc == 2, f"usage error exit {rc}")


@case("/phonectl/side-by-side")
def _(a, b):
    expect(a.bus != b.bus, "same bus")
    expect(a.ctl("config", "set", "account.1.label=PhoneA")[0] == 0, "set A")
    expect(b.ctl("config", "set", "account.1.label=PhoneB")[0] == 0, "set B")
    expect(a.ctl("config", "get", "account.1.label")[1].strip() == "PhoneA", "A changed by B")
    expect(b.ctl("config", "get", "account.1.label")[1].strip() == "PhoneB", "B changed by A")
    expect(b.ctl("config", "get", "sip.listen_port")[1].strip() == "5071", "B's site file not applied")


@case("/phonectl/wait")
def _(a, b):
    expect(a.ctl("config", "reset")[0] == 0, "reset")
    expect(a.ctl("wait", "config", "LocalKeys", "0", "--timeout", "10")[0] == 0, "reset did not drop local keys")
    target = "2"
    waiter = subprocess.Popen([PHONECTL, "--bus", a.bus, "wait", "config", "LocalKeys", target, "--timeout", "20"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    expect(a.ctl("config", "set", "account.4.label=x", "account.5.label=y")[0] == 0, "set")
    out, err = waiter.communicate(timeout=30)
    expect(waiter.returncode == 0, f"wait failed {waiter.returncode}: {err}")
    rc, out, err = a.ctl("wait", "config", "LocalKeys", "999", "--timeout", "1")
    expect(rc == 5, f"timeout exit {rc}: {err}")


@case("/phonectl/no-phone")
def _(a, b):
    rc, out, err = a.ctl("--bus", "unix:path=/nonexistent/bus", "status")
    expect(rc == 6, f"exit {rc}: {err}")


def main():
    a = Phone()
    b = Phone("#!version:1.0.0.1\nsip.listen_port = 5071\n")
    failed = 0
    try:
        for i, (name, fn) in enumerate(results, 1):
            try:
                fn(a, b)
                print(f"ok {i} - {name}")
            except Exception as e:  # report and go on
                failed += 1
                print(f"not ok {i} - {name}")
                print("# " + f"{type(e).__name__}: {e}".replace("\n", "\n# "))
            sys.stdout.flush()
    finally:
        rca, rcb = a.stop(), b.stop()
    print(f"1..{len(results)}")
    if rca != 0 or rcb != 0:
        print(f"# sessions exited {rca} {rcb}")
        failed += 1
    return 1 if failed else 0


sys.exit(main())
