#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""RFC 4733 telephone-events between a deskphone (provd, sipd, mediad) and
baresip (Debian's 1.0.0) in a PCMU call on 127.0.0.1, issue 4: the sixteen
events baresip sends (ctrl_tcp "sndcode") are reported by the phone's
stream as DtmfReceived signals, in order, with their durations; the sixteen
the phone sends (Media1.Stream.SendDtmf) are reported by baresip
(CALL_DTMF_START events), in order. Both ways with the tone playing, so
voice and events share the stream. sipd reports baresip's digits as its
call's DtmfReceived too (Sip1.Call)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from deskphone import Tap, built, expect  # noqa: E402
from audio import SignalWatch, write_tone  # noqa: E402
from baresip import start_baresip  # noqa: E402

tap = Tap()
tap.require("baresip", "dbus-monitor")
SERVICES = ["provd", "sipd", "mediad"]
DIGITS = "0123456789*#ABCD"
STREAM_IFACE = "org.deskphone.Media1.Stream"
CALL_IFACE = "org.deskphone.Sip1.Call"
# baresip sends an event for at least 9 packets of 20 ms, then 3 end packets
BARESIP_EVENT_MS = (160, 260)


def phone_cfg(t, name):
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
        "account.1.codec.pcmu.enable": 1,
        "account.1.codec.pcmu.priority": 1,
    }
    for key in ("pcma", "g722", "opus"):
        cfg[f"account.1.codec.{key}.enable"] = 0
    return cfg


def call(t, phone_calls):
    """A PCMU call between a phone and baresip; returns (phone, its call, its stream path, baresip)."""
    built("sipd")
    built("mediad")
    phone = t.phone(cfg=phone_cfg(t, "alice"), services=SERVICES, name="alice")
    bs = start_baresip(t, codecs=["PCMU"])
    phone.wait("sip", "ListenPort", phone.sip_port)
    if phone_calls:
        path = phone.ctl_ok("dial", bs.uri, "--account", "1").strip()
        expect(path.startswith("/org/deskphone/Sip1/call/"), f"dial printed {path!r}")
        call_obj = "call/" + path.rsplit("/", 1)[1]
        bs.event("CALL_INCOMING")
        bs.accept()
    else:
        bs.dial(phone.uri)
        call_obj = "call/1"
        phone.wait(call_obj, "State", "incoming")
        phone.ctl_ok("answer", call_obj)
    bs.event("CALL_ESTABLISHED")
    phone.wait(call_obj, "State", "active")
    streams = phone.objects("stream/")
    expect(len(streams) == 1, f"phone: {len(streams)} streams")
    return phone, call_obj, next(iter(streams)), bs


def hangup(phone, call_obj, bs):
    phone.ctl_ok("hangup", call_obj)
    phone.wait(call_obj, "State", "ended")
    bs.event("CALL_CLOSED")


@tap.case("/media/dtmf/baresip-to-phone")
def _(t):
    phone, call_obj, stream, bs = call(t, phone_calls=False)
    watch = SignalWatch(phone, "DtmfReceived", nargs=2, iface=STREAM_IFACE)
    on_call = SignalWatch(phone, "DtmfReceived", nargs=2, iface=CALL_IFACE)
    try:
        bs.sndcode(DIGITS)
        got = watch.wait(len(DIGITS), timeout=15)
        got_call = on_call.wait(len(DIGITS), timeout=15)
    finally:
        watch.stop()
        on_call.stop()
    digits = "".join(d for d, _ in got)
    durations = [ms for _, ms in got]
    t.tap._diag(f"phone received {digits!r}, durations {durations} ms")
    expect(digits == DIGITS, f"the phone reported {digits!r}, baresip sent {DIGITS!r}")
    lo, hi = BARESIP_EVENT_MS
    expect(all(lo <= ms <= hi for ms in durations), f"durations {durations} ms, expected {lo}-{hi} ms each")
    # sipd passes them on as its call's DtmfReceived (Sip1.Call), the same digits and durations
    expect(got_call == got, f"the call reported {got_call}, the stream {got}")
    hangup(phone, call_obj, bs)


@tap.case("/media/dtmf/phone-to-baresip")
def _(t):
    phone, call_obj, stream, bs = call(t, phone_calls=True)
    phone.call("org.deskphone.Media1", stream, STREAM_IFACE, "SendDtmf", "s", DIGITS)
    got = bs.dtmf(len(DIGITS), timeout=15)
    ends = sum(1 for e in bs.events if e.get("type") == "CALL_DTMF_END")
    t.tap._diag(f"baresip received {got!r} ({ends} ends)")
    expect(got == DIGITS, f"baresip reported {got!r}, the phone sent {DIGITS!r}")
    hangup(phone, call_obj, bs)


tap.run()
