#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""DTMF in calls (issue 4): Sip1.Call.SendDtmf (phonectl dtmf) and the call's
DtmfReceived signal.

- Two phones with the real mediad on 127.0.0.1: alice's `phonectl dtmf 123#`
  reaches bob's call as DtmfReceived 1, 2, 3, # for account.1.dtmf.type 0
  (in-band tones, detected in bob's decoded audio), 1 (RFC 4733), 2 (SIP
  INFO) and 3 (both), each way checked where it shows (bob's stream reports
  RFC 4733 and in-band digits; that type 2 does not use the stream is
  checked against fake-media1 below).
- The duplicate filter of type 3: a SIP INFO digit, then the same digit from
  the (fake) stream, then another: the call reports the first and the third,
  in an order sipd cannot change (no clock in the test).
- SIPp calls a phone and sends SIP INFO: dtmf-relay and dtmf bodies are
  reported, others get 415, hostile ones 400, and the call goes on.
- A phone with dtmf.type 2 sends INFO to SIPp, whose scenario checks the
  Content-Type and the body (Signal=..., Duration=160) with regular
  expressions.
- SendDtmf's errors: bad digits, a call that is not established."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from deskphone import LOOPBACK, Tap, built, expect  # noqa: E402
from audio import SignalWatch, write_tone  # noqa: E402

tap = Tap()
tap.require("dbus-monitor")
CALL_IFACE = "org.deskphone.Sip1.Call"
STREAM_IFACE = "org.deskphone.Media1.Stream"
DIGITS = "123#"
TIMEOUT = 15


def media_phone(t, name, dtmf_type):
    """A phone with the real mediad: PCMU, a tone as its microphone, no speaker."""
    built("sipd")
    built("mediad")
    d = os.path.join(t.tap.dir, t.name.strip("/").replace("/", "-"))
    os.makedirs(d, exist_ok=True)
    capture = os.path.join(d, f"{name}-in.wav")
    write_tone(capture, rate=16000)
    cfg = {
        "deskphone.audio.capture_device": "file:" + capture,
        "deskphone.audio.playback_device": "null",
        "account.1.enable": 1,
        "account.1.user_name": name,
        "account.1.label": name,
        "account.1.dtmf.type": dtmf_type,
        "account.1.codec.pcmu.enable": 1,
        "account.1.codec.pcmu.priority": 1,
    }
    for key in ("pcma", "g722", "opus"):
        cfg[f"account.1.codec.{key}.enable"] = 0
    phone = t.phone(cfg=cfg, services=["provd", "sipd", "mediad"], name=name)
    phone.wait("sip", "ListenPort", phone.sip_port)
    return phone


def sip_phone(t, cfg=None):
    """A phone with sipd and fake-media1."""
    built("sipd")
    phone = t.phone(cfg=cfg, services=["provd", "sipd"], fake_media=True)
    phone.wait("sip", "ListenPort", phone.sip_port)
    return phone


def dial(phone, uri):
    path = phone.ctl_ok("dial", uri, "--account", "1").strip()
    expect(path.startswith("/org/deskphone/Sip1/call/"), f"dial printed {path!r}")
    return "call/" + path.rsplit("/", 1)[1]


def watch(phone, iface):
    return SignalWatch(phone, "DtmfReceived", nargs=2, iface=iface)


def received(w, n):
    try:
        return w.wait(n, timeout=TIMEOUT)
    finally:
        w.stop()


def phone_to_phone(dtmf_type, via_stream):
    def run(t):
        a = media_phone(t, "alice", dtmf_type)
        b = media_phone(t, "bob", dtmf_type)
        call_a = dial(a, b.uri)
        b.wait("call/1", "State", "incoming")
        b.ctl_ok("answer")
        a.wait(call_a, "State", "active")
        b.wait("call/1", "State", "active")
        on_call, on_stream = watch(b, CALL_IFACE), watch(b, STREAM_IFACE)
        try:
            a.ctl_ok("dtmf", DIGITS)  # the only call: no CALL argument
            got = on_call.wait(len(DIGITS), timeout=TIMEOUT)
            from_stream = on_stream.wait(len(DIGITS), timeout=TIMEOUT) if via_stream else []
        finally:
            on_call.stop()
            on_stream.stop()
        digits = "".join(d for d, _ in got)
        t.tap._diag(f"dtmf.type {dtmf_type}: bob's call reported {got}")
        # type 3: each digit came twice and the first copy of each was reported; that the
        # second is not is /sip/dtmf/duplicate-filter's (waiting here for nothing proves nothing)
        expect(digits == DIGITS, f"bob's call reported {digits!r}, alice sent {DIGITS!r}")
        durations = [ms for _, ms in got]
        expect(all(60 <= ms <= 300 for ms in durations), f"durations {durations} ms")
        stream_digits = "".join(d for d, _ in from_stream)
        expect(stream_digits == (DIGITS if via_stream else ""),
               f"bob's stream reported {stream_digits!r} (dtmf.type {dtmf_type})")
        if dtmf_type == 2:  # on hold no DTMF goes, as on a Yealink phone, not even by SIP INFO
            a.ctl_ok("hold", call_a)
            a.wait(call_a, "State", "held")
            rc, out, err = a.ctl("dtmf", call_a, "1")
            expect(rc != 0 and "not on hold" in err, f"SendDtmf on hold: {rc} {out} {err}")
        a.ctl_ok("hangup", call_a)
        b.wait("call/1", "State", "ended")
    return run


tap.case("/sip/dtmf/phone-to-phone/inband")(phone_to_phone(0, via_stream=True))
tap.case("/sip/dtmf/phone-to-phone/rfc4733")(phone_to_phone(1, via_stream=True))
tap.case("/sip/dtmf/phone-to-phone/sip-info")(phone_to_phone(2, via_stream=False))
# RFC 4733 and SIP INFO for each digit: bob reports each once
tap.case("/sip/dtmf/phone-to-phone/rfc4733-and-info")(phone_to_phone(3, via_stream=True))


@tap.case("/sip/dtmf/sipp-sends-info")
def _(t):
    t.require("sipp")
    phone = sip_phone(t)
    uac = t.sipp("uac-call-send-info", remote=f"{LOOPBACK}:{phone.sip_port}", service="alice", pause_ms=200)
    w = watch(phone, CALL_IFACE)
    uac.start()
    phone.wait("call/1", "State", "incoming")
    phone.ctl_ok("answer")
    got = received(w, 3)
    t.tap._diag(f"the phone reported {got}")
    expect(got == [("5", 160), ("7", 160), ("#", 250)], f"the phone reported {got}")
    phone.wait("call/1", "State", "ended")
    uac.expect_success()
    msgs = uac.messages()
    for status in ("415 Unsupported Media Type", "400 Bad Request"):
        expect(status in msgs, f"no {status} in SIPp's trace")
    expect("Accept: application/dtmf-relay" in msgs, "the 415 names no Accept")


@tap.case("/sip/dtmf/duplicate-filter")
def _(t):
    t.require("sipp")
    phone = sip_phone(t)
    uac = t.sipp("uac-call-info-wait-bye", remote=f"{LOOPBACK}:{phone.sip_port}", service="alice")
    w = watch(phone, CALL_IFACE)
    try:
        uac.start()
        phone.wait("call/1", "State", "incoming")
        phone.ctl_ok("answer")
        first = w.wait(1, timeout=TIMEOUT)  # SIPp's INFO "5"
        expect(first == [("5", 160)], f"the INFO: the call reported {first}")
        # the same digit from the stream within the second (an RFC 4733 copy), then another:
        # sipd handles the two signals in this order, so a second "5" would come before the "7"
        stream = "/org/deskphone/Media1/stream/1"
        phone.fake.call("FakeReceiveDtmf", "su", "5", "100", path=stream, iface=phone.fake.STREAM_IFACE)
        phone.fake.call("FakeReceiveDtmf", "su", "7", "100", path=stream, iface=phone.fake.STREAM_IFACE)
        got = w.wait(2, timeout=TIMEOUT)
    finally:
        w.stop()
    t.tap._diag(f"the call reported {got}")
    expect(got == [("5", 160), ("7", 100)], f"the call reported {got}, not 5 (INFO) then 7 (stream)")
    phone.ctl_ok("hangup", "call/1")
    phone.wait("call/1", "State", "ended")
    uac.expect_success()


@tap.case("/sip/dtmf/phone-sends-info")
def _(t):
    t.require("sipp")
    phone = sip_phone(t, cfg={"account.1.enable": 1, "account.1.user_name": "alice", "account.1.dtmf.type": 2,
                              "account.1.dtmf.info_type": 1})
    uas = t.sipp("uas-answer-recv-info").start()
    call = dial(phone, uas.uri)
    phone.wait(call, "State", "active")
    phone.ctl_ok("dtmf", call, "1#")
    # the scenario hangs up once it got (and checked) both INFOs
    phone.wait(call, "State", "ended")
    reason = phone.properties(call)["EndReason"]
    expect(reason == "remote hangup", f"EndReason {reason!r}")
    uas.expect_success()
    log = phone.fake.log()
    expect(not any(line.startswith(("SendDtmf ", "SendDtmfInband ")) for line in log),
           f"dtmf.type 2 went through the stream too: {log}")


@tap.case("/sip/dtmf/errors")
def _(t):
    t.require("sipp")
    phone = sip_phone(t, cfg={"account.1.enable": 1, "account.1.user_name": "alice"})
    uas = t.sipp("uas-answer-wait-bye").start()
    call = dial(phone, uas.uri)
    phone.wait(call, "State", "active")
    for bad in ("", "1" * 65, "E", "1 2", "12x"):
        rc, out, err = phone.ctl("dtmf", call, bad)
        expect(rc != 0 and "Invalid DTMF digits" in err, f"SendDtmf {bad!r}: {rc} {err}")
    phone.ctl_ok("dtmf", call, "0123456789*#ABCD")
    log = phone.fake.log()
    expect(any(line == "SendDtmf stream/1 0123456789*#ABCD" for line in log),
           f"RFC 4733 (telephone-event negotiated) not used: {log}")
    phone.ctl_ok("hangup", call)
    phone.wait(call, "State", "ended")
    rc, out, err = phone.ctl("dtmf", call, "1")
    expect(rc != 0 and "needs an established call" in err, f"SendDtmf on an ended call: {rc} {out} {err}")
    uas.expect_success()


tap.run()
