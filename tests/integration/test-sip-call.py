#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""sipd calls (issue 3): SIPp as callee and caller, CANCEL, 486 when busy,
call waiting, hold, two phones calling each other directly and through
Kamailio, and a call without a media service failing cleanly. Media is
tests/fake-media1: each call's stream must be created, started with the
peer's address and port, and stopped."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from deskphone import LOOPBACK, Tap, built, expect  # noqa: E402

tap = Tap()
tap.require("sipp")
SERVICES = ["provd", "sipd"]
USERS = {"alice": "alice-Secret1", "bob": "bob-Secret2"}


def sip_phone(t, cfg=None, name=None, media=True):
    """A phone with sipd (and fake-media1), listening for SIP."""
    built("sipd")
    phone = t.phone(cfg=cfg, services=SERVICES, name=name, fake_media=media)
    phone.wait("sip", "ListenPort", phone.sip_port)
    return phone


def dial(phone, uri, account=None):
    args = ["dial", uri] + (["--account", str(account)] if account is not None else [])
    path = phone.ctl_ok(*args).strip()
    expect(path.startswith("/org/deskphone/Sip1/call/"), f"dial printed {path!r}")
    return "call/" + path.rsplit("/", 1)[1]


def ended(phone, call, reason):
    phone.wait(call, "State", "ended")
    got = phone.properties(call)["EndReason"]
    expect(got == reason, f"{phone.name} {call}: EndReason {got!r}, expected {reason!r}")


def started_with(phone, port):
    """fake-media1 started a stream towards 127.0.0.1:port."""
    log = phone.fake.log()
    expect(any(line.startswith("Start ") and f"address={LOOPBACK}" in line and f"port={port} " in line
               for line in log), f"{phone.name}: no stream started towards port {port}: {log}")


def stopped_all(phone):
    log = phone.fake.log()
    created = sum(1 for line in log if line.startswith("Created "))
    stops = sum(1 for line in log if line.startswith("Stop "))
    expect(created == stops, f"{phone.name}: {created} stream(s) created, {stops} stopped: {log}")


@tap.case("/sip/call/sipp-answers")
def _(t):
    phone = sip_phone(t)
    uas = t.sipp("uas-answer-wait-bye").start()
    call = dial(phone, uas.uri)
    phone.wait(call, "State", "active")
    props = phone.properties(call)
    expect(props["Direction"] == "outgoing" and props["Codec"] == "PCMU", f"call: {props}")
    expect(props["StartTime"] > 0, "StartTime not set")
    started_with(phone, uas.media_port)
    phone.ctl_ok("hangup", call)
    ended(phone, call, "local hangup")
    uas.expect_success()
    stopped_all(phone)


@tap.case("/sip/call/sipp-hangs-up")
def _(t):
    phone = sip_phone(t)
    uas = t.sipp("uas-answer-send-bye", pause_ms=300).start()
    call = dial(phone, uas.uri)
    phone.wait(call, "State", "active")
    ended(phone, call, "remote hangup")
    uas.expect_success()
    stopped_all(phone)


@tap.case("/sip/call/sipp-calls-phone-answers")
def _(t):
    phone = sip_phone(t)
    uac = t.sipp("uac-call-wait-bye", remote=f"{LOOPBACK}:{phone.sip_port}", service="alice")
    uac.start()
    phone.wait("call/1", "State", "incoming")
    props = phone.properties("call/1")
    expect(props["Direction"] == "incoming" and props["Account"] == 0, f"call: {props}")
    expect(props["RemoteUri"].startswith("sip:sipp@"), f"RemoteUri {props['RemoteUri']!r}")
    expect(props["RemoteName"] == "SIPp", f"RemoteName {props['RemoteName']!r}")
    phone.ctl_ok("answer")
    phone.wait("call/1", "State", "active")
    started_with(phone, uac.media_port)
    phone.ctl_ok("hangup")
    ended(phone, "call/1", "local hangup")
    uac.expect_success()
    stopped_all(phone)


@tap.case("/sip/call/sipp-calls-and-hangs-up")
def _(t):
    phone = sip_phone(t)
    uac = t.sipp("uac-call-send-bye", remote=f"{LOOPBACK}:{phone.sip_port}", pause_ms=300)
    uac.start()
    phone.wait("call/1", "State", "incoming")
    phone.ctl_ok("answer", "call/1")
    ended(phone, "call/1", "remote hangup")
    uac.expect_success()


@tap.case("/sip/call/early-media")
def _(t):
    phone = sip_phone(t)
    uas = t.sipp("uas-early-media", pause_ms=1500).start()
    call = dial(phone, uas.uri)
    phone.wait(call, "State", "early")
    started_with(phone, uas.media_port)  # the stream runs before the answer
    phone.wait(call, "State", "active")
    starts = [line for line in phone.fake.log() if line.startswith(("Start ", "Update "))]
    expect(len(starts) == 1, f"the same SDP in the 200 restarted the stream: {starts}")
    phone.ctl_ok("hangup", call)
    ended(phone, call, "local hangup")
    uas.expect_success()


@tap.case("/sip/call/early-media-100rel")
def _(t):
    """A reliable 183 (Require: 100rel) is PRACKed."""
    phone = sip_phone(t)
    uas = t.sipp("uas-early-media-100rel", pause_ms=500).start()
    call = dial(phone, uas.uri)
    phone.wait(call, "State", "early")
    phone.wait(call, "State", "active")
    expect("PRACK sip:" in uas.messages(), "no PRACK")
    phone.ctl_ok("hangup", call)
    uas.expect_success()


@tap.case("/sip/call/caller-cancels")
def _(t):
    phone = sip_phone(t)
    uac = t.sipp("uac-cancel", remote=f"{LOOPBACK}:{phone.sip_port}", pause_ms=500)
    uac.start()
    phone.wait("call/1", "State", "incoming")
    ended(phone, "call/1", "cancelled")
    uac.expect_success()
    stopped_all(phone)


@tap.case("/sip/call/phone-cancels")
def _(t):
    phone = sip_phone(t)
    uas = t.sipp("uas-ring-cancel").start()
    call = dial(phone, uas.uri)
    phone.wait(call, "State", "ringing")
    phone.ctl_ok("hangup")
    ended(phone, call, "local hangup")
    uas.expect_success()
    stopped_all(phone)


@tap.case("/sip/call/callee-busy")
def _(t):
    phone = sip_phone(t)
    uas = t.sipp("uas-busy").start()
    call = dial(phone, uas.uri)
    ended(phone, call, "486 Busy Here")
    uas.expect_success()
    stopped_all(phone)


@tap.case("/sip/call/busy-without-call-waiting")
def _(t):
    phone = sip_phone(t, cfg={"call_waiting.enable": 0})
    uas = t.sipp("uas-answer-wait-bye").start()
    call = dial(phone, uas.uri)
    phone.wait(call, "State", "active")
    busy = t.sipp("uac-call-busy", remote=f"{LOOPBACK}:{phone.sip_port}")
    busy.start()
    busy.expect_success()
    expect(phone.properties(call)["State"] == "active", "the call in progress was disturbed")
    expect(sorted(phone.objects("call/")) == ["/org/deskphone/Sip1/call/1"], "a call object for the busy call")
    phone.ctl_ok("hangup", call)
    uas.expect_success()


@tap.case("/sip/call/call-waiting")
def _(t):
    phone = sip_phone(t, cfg={"call_waiting.enable": 1})
    uas = t.sipp("uas-answer-wait-bye").start()
    first = dial(phone, uas.uri)
    phone.wait(first, "State", "active")
    uac = t.sipp("uac-call-wait-bye", remote=f"{LOOPBACK}:{phone.sip_port}")
    uac.start()
    phone.wait("call/2", "State", "incoming")
    phone.ctl_ok("answer", "call/2")
    phone.wait("call/2", "State", "active")
    expect(phone.properties(first)["State"] == "active", "the first call changed")
    phone.ctl_ok("hangup", "call/2")
    phone.ctl_ok("hangup", first)
    uac.expect_success()
    uas.expect_success()
    stopped_all(phone)


@tap.case("/sip/call/direct-two-phones")
def _(t):
    a = sip_phone(t, name="alice")
    b = sip_phone(t, name="bob")
    call = dial(a, b.uri)
    b.wait("call/1", "State", "incoming")
    a.wait(call, "State", "ringing")
    b.ctl_ok("answer")
    a.wait(call, "State", "active")
    b.wait("call/1", "State", "active")
    codec_a, codec_b = a.properties(call)["Codec"], b.properties("call/1")["Codec"]
    expect(codec_a == codec_b == "G722", f"codecs {codec_a!r} and {codec_b!r}")
    # each side's stream goes to the other's RTP port
    a_port = [line for line in a.fake.log() if line.startswith("Created ")][0].split("port=")[1]
    b_port = [line for line in b.fake.log() if line.startswith("Created ")][0].split("port=")[1]
    started_with(a, int(b_port))
    started_with(b, int(a_port))

    a.ctl_ok("hold", call)
    a.wait(call, "State", "held")
    b.wait("call/1", "State", "held")
    a.ctl_ok("resume", call)
    a.wait(call, "State", "active")
    b.wait("call/1", "State", "active")

    a.ctl_ok("hangup", call)
    ended(a, call, "local hangup")
    ended(b, "call/1", "remote hangup")
    stopped_all(a)
    stopped_all(b)


@tap.case("/sip/call/reject")
def _(t):
    a = sip_phone(t, name="alice")
    b = sip_phone(t, name="bob")
    call = dial(a, b.uri)
    b.wait("call/1", "State", "incoming")
    b.ctl_ok("reject")
    ended(b, "call/1", "rejected")
    ended(a, call, "603 Decline")


@tap.case("/sip/call/through-kamailio")
def _(t):
    t.require("kamailio")
    kam = t.kamailio(users=USERS)
    a = sip_phone(t, cfg=kam.account_cfg(1, "alice"), name="alice")
    b = sip_phone(t, cfg=kam.account_cfg(1, "bob", transport="tcp"), name="bob")
    a.wait("account/1", "State", "registered")
    b.wait("account/1", "State", "registered")
    call = dial(a, "bob")   # a number, completed with account 1's server; 407 answered
    b.wait("call/1", "State", "incoming")
    props = b.properties("call/1")
    expect(props["Account"] == 1, f"bob's call is for account {props['Account']}")
    expect(props["RemoteUri"].startswith("sip:alice@"), f"RemoteUri {props['RemoteUri']!r}")
    expect(props["RemoteName"] == "Alice", f"RemoteName {props['RemoteName']!r}")
    b.ctl_ok("answer")
    a.wait(call, "State", "active")
    b.wait("call/1", "State", "active")
    b.ctl_ok("hangup")
    ended(a, call, "remote hangup")
    ended(b, "call/1", "local hangup")


@tap.case("/sip/call/no-media-service")
def _(t):
    """Without org.deskphone.Media1 a call ends cleanly on both sides."""
    a = sip_phone(t, name="alice")
    b = sip_phone(t, name="bob", media=False)
    call = dial(b, a.uri)
    ended(b, call, "media service unavailable")
    call = dial(a, b.uri)
    ended(b, "call/2", "media service unavailable")
    ended(a, call, "500 Media Service Unavailable")
    stopped_all(a)


@tap.case("/sip/call/media-fails-late")
def _(t):
    """Stream.Start fails: the call ends, the peer gets a BYE."""
    a = sip_phone(t, name="alice")
    b = sip_phone(t, name="bob")
    b.fake.set_fault("start-fails")
    call = dial(a, b.uri)
    b.wait("call/1", "State", "incoming")
    b.ctl_ok("answer")
    ended(b, "call/1", "media service unavailable")
    a.wait(call, "State", "ended")


@tap.case("/sip/call/answer-fails")
def _(t):
    """An INVITE without SDP, and a media stream no offer can be made of: Answer()
    fails, and the call does not stay half-answered: it ends, the caller gets a 500."""
    phone = sip_phone(t)
    phone.fake.set_fault("no-audio-codec")
    uac = t.sipp("uac-late-offer-refused", remote=f"{LOOPBACK}:{phone.sip_port}", service="alice")
    uac.start()
    phone.wait("call/1", "State", "incoming")
    phone.wait("stream/1", "State", "created")  # its reply reaches sipd before the Answer() below
    rc, out, err = phone.ctl("answer", "call/1")
    expect(rc != 0 and "cannot be answered" in err, f"answer: exit {rc}, {err.strip()}")
    ended(phone, "call/1", "cannot answer: Invalid argument")
    uac.expect_success()
    stopped_all(phone)


@tap.case("/sip/call/bad-dial")
def _(t):
    phone = sip_phone(t)
    for target in ("1234", "sip:bob @x", "sip:<x>"):
        rc, out, err = phone.ctl("dial", target)
        expect(rc == 4, f"dial {target!r}: exit {rc}, {err.strip()}")
    rc, out, err = phone.ctl("dial", "sip:x@127.0.0.1", "--account", "17")
    expect(rc == 3, f"dial with account 17: exit {rc}, {err.strip()}")
    rc, out, err = phone.ctl("answer")
    expect(rc == 3, f"answer without a call: exit {rc}, {err.strip()}")
    expect(phone.objects("call/") == {}, "a call object for a refused dial")


tap.run()
