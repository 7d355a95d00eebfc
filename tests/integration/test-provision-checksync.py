#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A registrar's SIP NOTIFY Event: check-sync makes the phone provision now
(Yealink's remote resync). SIPp is the registrar (uas-registrar.xml takes the
REGISTER); then a NOTIFY comes from the registrar's address
(uac-notify-check-sync.xml): sipd answers 200 and asks provd for a run, which
fetches from a Python HTTP server. Refused (403) with
sip.notify_reboot_enable = 2 or from another address, and nothing is
fetched; ";reboot=true" provisions the same (we never reboot).

A check-sync that comes while a run is downloading (the server holds the
common file mid-body) is remembered: once that run ends, one more run
fetches the file as it is now, however many check-syncs came during the
first; one that comes while a failed scheduled run waits for its retry
starts a run at once."""
import os
import re
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))

from deskphone import Resource, Tap, TestFailure, account_cfg, cfg_text, expect, program, wait_until  # noqa: E402
from provisioning import (TEST_MAC, Answer, Hold, ScriptedHttp, provision_prop, provisioning_phone,  # noqa: E402
                          session_log)

tap = Tap()
tap.require("sipp")

USER = "alice"


def registered_phone(t, extra=None, routes=None):
    """A phone with account 1 registered at a SIPp registrar, and a provisioning
    server whose common file sets account.1.label = Synced (routes: more answers,
    {path: (Answer, ...)}, there before the phone starts). Returns (phone, http)."""
    http = t.add(ScriptedHttp())
    http.route("y000000000000.cfg", Answer(cfg_text({"account.1.label": "Synced"})))
    for path, answers in (routes or {}).items():
        http.route(path, *answers)
    registrar = t.sipp("uas-registrar.xml", name="registrar")
    registrar.start()
    cfg = {"static.auto_provision.server.url": http.url}
    cfg.update(account_cfg(1, USER, server="127.0.0.1", port=registrar.port, expires=3600))
    cfg.update(extra or {})
    phone = provisioning_phone(t, cfg, services=("provd", "sipd"))
    registrar.expect_success()
    phone.wait("account/1", "State", "registered")
    return phone, http


def notify(t, phone, event="check-sync", source="127.0.0.1"):
    """Send the NOTIFY from source; returns the status the phone answered. SIPp
    binds RTP ports even as a NOTIFY sender: when another test took one in the
    meantime, it exits before sending, and a new one tries once more."""
    for attempt in range(2):
        status, sipp = _notify_once(t, phone, event, source)
        if status or "SIP/2.0" in sipp.messages() or attempt:
            break
    if not status:
        raise TestFailure(f"no answer to the NOTIFY:\n{sipp.messages()}")
    return status


def _notify_once(t, phone, event, source):
    sipp = t.sipp("uac-notify-check-sync.xml", service=USER, keys={"event": event},
                  remote=f"127.0.0.1:{phone.sip_port}", name=f"notify {event} from {source}")
    sipp.args[sipp.args.index("-i") + 1] = source
    # a UAC: no port to wait for (Sipp.start() waits for one on 127.0.0.1)
    with open(sipp.stdout_log, "ab") as out:
        sipp.proc = subprocess.Popen(sipp.args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     cwd=sipp.dir)
    sipp.wait()
    for status in ("200", "403", "481", "489"):
        if f"SIP/2.0 {status} " in sipp.messages():
            return int(status), sipp
    return 0, sipp


def expect_nothing_fetched(phone, http):
    """No run came of the refused NOTIFYs: a Start of our own afterwards (which
    waits for one in progress) is the only one that fetches."""
    phone.ctl_ok("provision", "--wait")
    paths = http.paths()
    expect(paths.count(f"/{TEST_MAC}.boot") == 1, f"the refused NOTIFYs must not fetch anything: {paths}")


@tap.case("/provision/check-sync/provisions")
def _(t):
    phone, http = registered_phone(t)
    expect(provision_prop(phone, "LastResult") == "", "no run should have happened yet")
    expect(notify(t, phone) == 200, "check-sync from the registrar must be answered 200")
    phone.wait("provision", "LastResult", "success")
    expect(f"/{TEST_MAC}.boot" in http.paths(), f"provd did not ask the server: {http.paths()}")
    expect(phone.get("account.1.label") == "Synced", "the provisioned value is not there")


@tap.case("/provision/check-sync/reboot-true-mode-0")
def _(t):
    # Yealink's 0: reboot only with reboot=true; both provision, and we never reboot
    phone, http = registered_phone(t, {"sip.notify_reboot_enable": 0})
    expect(notify(t, phone, "check-sync;reboot=true") == 200, "check-sync;reboot=true must be answered 200")
    phone.wait("provision", "LastResult", "success")
    expect(phone.get("account.1.label") == "Synced", "the provisioned value is not there")


@tap.case("/provision/check-sync/refused-when-off")
def _(t):
    phone, http = registered_phone(t, {"sip.notify_reboot_enable": 2})
    expect(notify(t, phone) == 403, "with sip.notify_reboot_enable = 2 check-sync must be refused (403)")
    expect_nothing_fetched(phone, http)


@tap.case("/provision/check-sync/refused-from-elsewhere")
def _(t):
    phone, http = registered_phone(t)
    expect(notify(t, phone, source="127.0.0.2") == 403, "a NOTIFY not from the registrar must be refused (403)")
    expect(notify(t, phone, event="ua-profile") == 489, "another event package: 489")
    expect(provision_prop(phone, "LastResult") == "", "no run may have happened")
    expect_nothing_fetched(phone, http)


@tap.case("/provision/check-sync/refusals-logged-once")
def _(t):
    # a flood of refused NOTIFYs: each is answered, the log gets one line per 10 s
    phone, http = registered_phone(t)
    for _ in range(3):
        expect(notify(t, phone, source="127.0.0.2") == 403, "a NOTIFY not from the registrar must be refused (403)")
    with open(phone.log_path, errors="replace") as log:
        lines = log.read().count("Refusing NOTIFY check-sync from 127.0.0.2")
    expect(lines == 1, f"3 refused NOTIFYs in a row must make 1 log line, not {lines}")


CHECK_SYNC_INTERVAL = 15  # deskphone.sip.check_sync_interval in the rate-limited case


def asked_times(phone):
    """When provd was asked for a check-sync run, in seconds of the day, from the log."""
    out = []
    with open(phone.log_path, errors="replace") as log:
        for line in log:
            m = re.match(r"(\d\d):(\d\d):(\d\d\.\d+) provd\[\d+\] \w+: Provisioning asked for: check-sync", line)
            if m:
                out.append(int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3)))
    return out


@tap.case("/provision/check-sync/rate-limited")
def _(t):
    # a registrar repeating itself: NOTIFYs within the interval are answered 200 and
    # make one more run when it is over, not one each; none is lost
    phone, http = registered_phone(t, {"deskphone.sip.check_sync_interval": CHECK_SYNC_INTERVAL})
    expect(notify(t, phone) == 200, "check-sync from the registrar must be answered 200")
    phone.wait("provision", "LastResult", "success")
    http.route("y000000000000.cfg", Answer(cfg_text({"account.1.label": "Changed"})))
    for _ in range(3):
        expect(notify(t, phone) == 200, "a repeated check-sync is answered 200 too")
    expect(len(asked_times(phone)) == 1, "the repeated ones must wait for the interval to end")
    wait_until(lambda: len(asked_times(phone)) >= 2, CHECK_SYNC_INTERVAL + 30,
               "sipd to ask again when the interval is over")
    phone.wait("account/1", "Label", "Changed")
    times = asked_times(phone)
    gap = (times[1] - times[0]) % 86400
    t.tap._diag(f"asked at +0 and +{gap:.1f} s (interval {CHECK_SYNC_INTERVAL} s)")
    expect(gap >= CHECK_SYNC_INTERVAL - 0.5, f"asked again after {gap:.1f} s, inside the {CHECK_SYNC_INTERVAL} s")
    # ours goes after anything sipd asked for; three NOTIFYs made one run, not three
    phone.ctl_ok("provision", "--wait")
    expect(len(asked_times(phone)) == 2, f"sipd must ask provd twice, not {len(asked_times(phone))} times")


class ProvisionWatch(Resource):
    """dbus-monitor on a phone's bus: every string property of Provision1 as
    PropertiesChanged reports it, in order, as (name, value)."""

    name = "provision-watch"

    def __init__(self, phone):
        rule = ("type='signal',path='/org/deskphone/Provision1',interface='org.freedesktop.DBus.Properties',"
                "member='PropertiesChanged'")
        self.proc = subprocess.Popen([program("dbus-monitor"), "--address", phone.bus, rule],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                     text=True, errors="replace")
        self.changes = []
        self.listening = False
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        # dbus-monitor is listening once it reports its own NameAcquired/NameLost
        self.wait(lambda w: w.listening, "dbus-monitor to listen")

    def _read(self):
        name = None
        for line in self.proc.stdout:
            m = re.match(r'\s*variant\s+string "(.*)"$', line)
            with self.cond:
                if "member=Name" in line:
                    self.listening = True
                elif m and name:
                    self.changes.append((name, m.group(1)))
                name = None
                m = re.match(r'\s*string "(\w+)"$', line)
                if m:
                    name = m.group(1)
                self.cond.notify_all()

    def wait(self, cond, what, timeout=30):
        with self.cond:
            if not self.cond.wait_for(lambda: cond(self), timeout):
                raise TestFailure(f"timed out after {timeout} s waiting for {what}; Provision1 changes: "
                                  f"{self.changes}")

    def states(self):
        with self.cond:
            return [v for n, v in self.changes if n == "State"]

    def ended(self):
        """How many runs have ended (State left fetching/applying)."""
        return len([s for s in self.states() if s in ("idle", "failed")])

    def wait_ended(self, n, timeout=30):
        self.wait(lambda w: w.ended() >= n, f"{n} provisioning runs to end", timeout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
        self.thread.join(5)
        self.proc.stdout.close()


def start_check_sync(phone):
    """Provision1.Start({"reason": "check-sync"}) as the administrator (past sipd's rate limit)."""
    phone.call("org.deskphone.Provision1", "/org/deskphone/Provision1", "org.deskphone.Provision1", "Start",
               "a{sv}", "1", "reason", "s", "check-sync")


@tap.case("/provision/check-sync/during-run-runs-again")
def _(t):
    # the administrator changes the common file after a run downloaded it, and the
    # registrar says so while that run is still going: one more run, with the new file
    common = "y000000000000.cfg"
    # sipd's check-sync interval an hour: the NOTIFYs it holds back are not asked for during this test
    phone, http = registered_phone(t, {"deskphone.provision.stall_seconds": 120,
                                       "deskphone.sip.check_sync_interval": 3600})
    hold = Hold()
    http.route(common, Answer(cfg_text({"account.1.label": "Before"}), hold=hold))
    w = t.add(ProvisionWatch(phone))
    phone.ctl_ok("provision")  # run 1, an administrator's
    hold.wait_reached()
    expect(notify(t, phone) == 200, "check-sync during a run must be answered 200")
    # provd remembered it (sipd relayed it before answering 200)
    wait_until(lambda: "check-sync during a run: provisioning again when it ends" in session_log(phone), 30,
               "provd to queue the check-sync")
    # more of them during the same run: sipd holds the NOTIFYs back (its interval), and
    # check-syncs that reach provd are folded there
    for _ in range(2):
        expect(notify(t, phone) == 200, "a repeated check-sync is answered 200")
        start_check_sync(phone)
    # an administrator's Start during a run is still refused
    rc, _, err = phone.busctl("call", "org.deskphone.Provision1", "/org/deskphone/Provision1",
                              "org.deskphone.Provision1", "Start", "a{sv}", "0")
    expect(rc != 0 and "in progress" in err, f"Start without check-sync during a run must fail: {rc} {err!r}")

    http.route(common, Answer(cfg_text({"account.1.label": "After"})))
    hold.release()
    w.wait_ended(2)
    expect(provision_prop(phone, "State") == "idle", f"no third run may start: {w.states()}")
    expect([s for s in w.states() if s != "applying"] == ["fetching", "idle", "fetching", "idle"],
           f"two runs, one after the other: {w.states()}")
    expect(provision_prop(phone, "LastResult") == "success", "the second run must apply the new file")
    expect(phone.get("account.1.label") == "After", "the file changed during the first run is not applied")
    expect(http.paths().count(f"/{common}") == 2, f"exactly one run after the first: {http.paths()}")
    # and nothing more is owed: our own run is the third, not one in progress already
    rc, out, err = phone.ctl("provision", "--wait")
    expect(rc == 0 and "in progress" not in err, f"no run may be going on: {rc} {out}{err}")
    w.wait_ended(3)  # dbus-monitor may hear of it a little after phonectl
    expect(w.ended() == 3 and http.paths().count(f"/{TEST_MAC}.boot") == 3,
           f"three runs in all: {w.states()} {http.paths()}")
    with open(phone.log_path, errors="replace") as log:
        text = log.read()
    expect(text.count("Provisioning asked for: check-sync") == 3,
           "sipd relays one NOTIFY, the two other check-syncs are ours")


@tap.case("/provision/check-sync/during-backoff-starts-now")
def _(t):
    # the power-on run failed with 503: the retry waits a minute, a check-sync does not
    phone, http = registered_phone(t, {"static.auto_provision.power_on": 1},
                                   routes={f"{TEST_MAC}.boot": (Answer(status=503), Answer(status=404))})
    phone.wait("provision", "LastResult", "failed")
    expect(provision_prop(phone, "NextTime") > 0, "the failed power-on run must be retried later")
    expect(notify(t, phone) == 200, "check-sync must be answered 200")
    phone.wait("provision", "LastResult", "success")
    expect(phone.get("account.1.label") == "Synced", "the provisioned value is not there")
    expect(provision_prop(phone, "NextTime") == 0, "after a good run no retry is due")


if __name__ == "__main__":
    tap.run()
