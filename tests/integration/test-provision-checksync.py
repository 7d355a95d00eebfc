#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A registrar's SIP NOTIFY Event: check-sync makes the phone provision now
(Yealink's remote resync). SIPp is the registrar (uas-registrar.xml takes the
REGISTER); then a NOTIFY comes from the registrar's address
(uac-notify-check-sync.xml): sipd answers 200 and asks provd for a run, which
fetches from a Python HTTP server. Refused (403) with
sip.notify_reboot_enable = 2 or from another address, and nothing is
fetched; ";reboot=true" provisions the same (we never reboot)."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))

from deskphone import Tap, TestFailure, account_cfg, cfg_text, expect  # noqa: E402
from provisioning import TEST_MAC, Answer, ScriptedHttp, provision_prop, provisioning_phone  # noqa: E402

tap = Tap()
tap.require("sipp")

USER = "alice"


def registered_phone(t, extra=None):
    """A phone with account 1 registered at a SIPp registrar, and a provisioning
    server whose common file sets account.1.label = Synced. Returns (phone, http)."""
    http = t.add(ScriptedHttp())
    http.route("y000000000000.cfg", Answer(cfg_text({"account.1.label": "Synced"})))
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


@tap.case("/provision/check-sync/rate-limited")
def _(t):
    # a registrar repeating itself: the second NOTIFY, after the first one's run
    # ended, is answered 200 and starts nothing
    phone, http = registered_phone(t)
    expect(notify(t, phone) == 200, "check-sync from the registrar must be answered 200")
    phone.wait("provision", "LastResult", "success")
    expect(notify(t, phone) == 200, "a repeated check-sync is answered 200 too")
    # ours goes after anything sipd asked for (which it did before answering 200)
    phone.ctl_ok("provision", "--wait")
    with open(phone.log_path, errors="replace") as log:
        asked = log.read().count("Provisioning asked for: check-sync")
    expect(asked == 1, f"sipd must ask provd once, not {asked} times")


if __name__ == "__main__":
    tap.run()
