#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Two phones in a call, each mediad on ALSA's `default` PCM routed to a
private PulseAudio (lib/pulse.py), as on a desktop (issue 4). A 1 kHz tone
is played into each phone's microphone (a null sink whose monitor is the
phone's capture) and recorded from the other phone's speaker (a null sink's
monitor): the tone at the level sent within 1 dB over most of the call, both
ways, and the audio thread moving frames in real time. Skipped when
pulseaudio is not installed."""
import math
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from audio import FULL_SCALE, TONE_DBFS, TONE_HZ, goertzel_rms, read_wav, rms, write_tone  # noqa: E402
from deskphone import Tap, built, expect  # noqa: E402
from pulse import Pulse  # noqa: E402

tap = Tap()
tap.require("pulseaudio", "pactl", "paplay", "parecord")
SERVICES = ["provd", "sipd", "mediad"]
CALL_SECONDS = 4.0


def phone_cfg(name):
    return {
        "deskphone.audio.capture_device": "default",
        "deskphone.audio.playback_device": "default",
        "account.1.enable": 1,
        "account.1.user_name": name,
        "account.1.label": name,
        "account.1.codec.pcmu.enable": 1,
        "account.1.codec.pcma.enable": 0,
        "account.1.codec.g722.enable": 0,
        "account.1.codec.opus.enable": 0,
    }


@tap.case("/media/pulse/call")
def pulse_call(t):
    built("sipd")
    built("mediad")
    d = os.path.join(t.tap.dir, "pulse")
    os.makedirs(d, exist_ok=True)
    pa = t.add(Pulse(d, ["alice_mic", "alice_spk", "bob_mic", "bob_spk"])).start()
    tone = os.path.join(d, "tone.wav")
    write_tone(tone, rate=16000, seconds=4 * CALL_SECONDS)
    rec = {n: os.path.join(d, f"{n}_spk.wav") for n in ("alice", "bob")}
    recorders = {n: pa.record(f"{n}_spk", rec[n]) for n in rec}
    for n in rec:
        pa.play(f"{n}_mic", tone)
    pa.warm()
    a = t.phone(cfg=phone_cfg("alice"), services=SERVICES, name="alice",
                env=pa.client_env("alice_spk", "alice_mic.monitor"))
    b = t.phone(cfg=phone_cfg("bob"), services=SERVICES, name="bob",
                env=pa.client_env("bob_spk", "bob_mic.monitor"))
    a.wait("sip", "ListenPort", a.sip_port)
    b.wait("sip", "ListenPort", b.sip_port)
    call_a = a.dial_answered(b)
    t0 = time.monotonic()
    time.sleep(CALL_SECONDS)
    for p in (a, b):
        s = next(iter(p.objects("stream/").values()))
        t.tap._diag(f"{p.name}: {s['PacketsReceived']} packets received in {time.monotonic() - t0:.1f} s")
        expect(s["PacketsReceived"] >= 40 * CALL_SECONDS, f"{p.name}: only {s['PacketsReceived']} packets")
    a.ctl_ok("hangup", call_a)
    a.wait(call_a, "State", "ended")
    b.wait("call/1", "State", "ended")
    for p in (a, b):  # the audio thread's count is logged when mediad closes the devices
        p.wait("media", "AudioActive", "false")
        frames = audio_frames(p)
        t.tap._diag(f"{p.name}: the audio thread moved {frames} frames of 10 ms in a call of {CALL_SECONDS:.0f} s")
        expect(frames >= 90 * CALL_SECONDS, f"{p.name}: audio not in real time, {frames} frames")
    for n, p in recorders.items():
        pa.stop_child(p)
    # each recording runs from before the phones started to the hangup
    for what, n in (("alice -> bob", "bob"), ("bob -> alice", "alice")):
        level, share, covered = tone_windows(rec[n])
        t.tap._diag(f"{what}: 1 kHz at {level:+.2f} dB of what was sent, {100 * share:.1f}% of the power, "
                    f"in {100 * covered:.0f}% of the 100 ms windows after 1 s")
        expect(abs(level) <= 1.0, f"{what}: level {level:+.2f} dB")
        expect(share >= 0.9, f"{what}: only {100 * share:.1f}% of the power at 1 kHz")
        # a recovered xrun of a loaded machine costs some 0.4 s: "most of the call"
        expect(covered >= 0.8, f"{what}: the tone in only {100 * covered:.0f}% of the call")


def audio_frames(phone):
    """The most frames one audio run of mediad moved, from its log."""
    with open(phone.log_path, errors="replace") as f:
        runs = [int(m.group(1)) for m in re.finditer(r"mediad\[\d+\] info: Audio stopped after (\d+) frames", f.read())]
    expect(runs, f"{phone.name}: mediad logged no audio run")
    return max(runs)


def tone_windows(path):
    """Goertzel over 100 ms windows from 1 s to 0.2 s before the end of a recording: (level of the tone
    relative to what was sent in dB and its share of the power, both averaged in power, so a
    recovered xrun that shifts the tone's phase costs only its own windows; share of the
    windows with the tone within 1 dB and 90% of their power)."""
    rate, x = read_wav(path)
    step = rate // 10
    sent = 10 ** (TONE_DBFS / 20) * FULL_SCALE / math.sqrt(2)
    tones, powers = [], []
    for i in range(rate, len(x) - step - rate // 5 + 1, step):  # to 0.2 s before the hangup
        w = x[i:i + step]
        tones.append(goertzel_rms(w, TONE_HZ, rate) ** 2)
        powers.append(rms(w) ** 2)
    expect(len(tones) >= 10, f"{path}: {len(x) / rate:.2f} s of audio")
    good = sum(1 for t, p in zip(tones, powers)
               if p > 0 and abs(10 * math.log10(max(t, 1e-18) / sent ** 2)) <= 1.0 and t / p >= 0.9)
    tone, power = sum(tones) / len(tones), sum(powers) / len(powers)
    return 10 * math.log10(max(tone, 1e-18) / sent ** 2), tone / power if power else 0.0, good / len(tones)


tap.run()
