#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A deskphone (provd, sipd, mediad) in a call with baresip (Debian's 1.0.0)
on 127.0.0.1, issue 4: baresip calls the phone, and the phone calls
baresip, for PCMU, PCMA, G.722 and Opus. Both send a 1 kHz tone at -10 dBFS
(the phone from a WAV capture file at 16 kHz, baresip through aufile at the
codec's rate); the phone's playback file and what baresip decoded (its
sndfile recording) must each hold the other side's tone: found by Goertzel
filters with nearly all of the power at 1 kHz, at the level sent within
1 dB. The phone's stream statistics must show the packets and no loss."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from deskphone import Tap, built, expect  # noqa: E402
from audio import analyse, expect_tone, write_tone  # noqa: E402
from baresip import require_modules, start_baresip  # noqa: E402

tap = Tap()
tap.require("baresip")
SERVICES = ["provd", "sipd", "mediad"]
CALL_SECONDS = 3.0
CODEC_KEYS = {"PCMU": "pcmu", "PCMA": "pcma", "G722": "g722", "opus": "opus"}
BARESIP_MODULE = {"PCMU": "g711", "PCMA": "g711", "G722": "g722", "opus": "opus"}


def phone_cfg(t, name, codec):
    d = os.path.join(t.tap.dir, t.name.strip("/").replace("/", "-"))
    os.makedirs(d, exist_ok=True)
    capture, playback = os.path.join(d, f"{name}-in.wav"), os.path.join(d, f"{name}-out.wav")
    write_tone(capture, rate=16000)
    cfg = {
        "deskphone.audio.capture_device": "file:" + capture,
        "deskphone.audio.playback_device": "file:" + playback,
        "account.1.enable": 1,
        "account.1.user_name": name,
        "account.1.label": name,
    }
    for c, key in CODEC_KEYS.items():
        cfg[f"account.1.codec.{key}.enable"] = 1 if c == codec else 0
        cfg[f"account.1.codec.{key}.priority"] = 1
    return cfg, playback


def the_stream(phone):
    streams = phone.objects("stream/")
    expect(len(streams) == 1, f"{phone.name}: {len(streams)} streams")
    return next(iter(streams.values()))


def case(codec, phone_calls):
    def run(t):
        built("sipd")
        built("mediad")
        require_modules(BARESIP_MODULE[codec])
        cfg, playback = phone_cfg(t, "alice", codec)
        phone = t.phone(cfg=cfg, services=SERVICES, name="alice")
        bs = start_baresip(t, codecs=[codec])
        phone.wait("sip", "ListenPort", phone.sip_port)

        if phone_calls:
            path = phone.ctl_ok("dial", bs.uri, "--account", "1").strip()
            expect(path.startswith("/org/deskphone/Sip1/call/"), f"dial printed {path!r}")
            call = "call/" + path.rsplit("/", 1)[1]
            bs.event("CALL_INCOMING")
            bs.accept()
        else:
            bs.dial(phone.uri)
            call = "call/1"
            phone.wait(call, "State", "incoming")
            phone.ctl_ok("answer", call)
        bs.event("CALL_ESTABLISHED")
        phone.wait(call, "State", "active")
        got = phone.properties(call)["Codec"]
        expect(got == codec, f"phone's call codec {got!r}, expected {codec}")

        time.sleep(CALL_SECONDS)  # the call's length: audio flows meanwhile
        s = the_stream(phone)
        t.tap._diag(f"{codec} phone stream: {s['PacketsSent']} sent, {s['PacketsReceived']} received, "
                    f"{s['PacketsLost']} lost, jitter {s['Jitter']} us")
        expect(s["PacketsReceived"] > 100 and s["PacketsLost"] == 0,
               f"phone: {s['PacketsReceived']} received, {s['PacketsLost']} lost")

        if phone_calls:
            phone.ctl_ok("hangup", call)
        else:
            bs.hangup()
        phone.wait(call, "State", "ended")
        bs.event("CALL_CLOSED")
        # both write their files until they close them: stop them first
        bs.stop()
        phone.stop()
        expect(bs.encoder() == codec, f"baresip sent {bs.encoder()!r}, expected {codec}")

        for what, path in (("phone <- baresip", playback), ("baresip <- phone", bs.decoded())):
            a = analyse(path)
            t.tap._diag(expect_tone(a, f"{codec} {what}"))
            # the whole call was heard, not a part of it
            expect(a.seconds >= CALL_SECONDS - 0.5, f"{codec} {what}: only {a.seconds:.2f} s recorded")
    return run


for _codec in CODEC_KEYS:
    tap.case(f"/media/baresip/{_codec.lower()}/baresip-calls-phone")(case(_codec, phone_calls=False))
    tap.case(f"/media/baresip/{_codec.lower()}/phone-calls-baresip")(case(_codec, phone_calls=True))

tap.run()
