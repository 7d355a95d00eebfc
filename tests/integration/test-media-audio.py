#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Two phones in a call with the real mediad (issue 4): each phone's capture
is a WAV file with a 1 kHz tone, each phone's playback a WAV file
(deskphone.audio.*_device = file:...). After a few seconds of call, each
playback file must hold the other side's tone: 1 kHz found by a Goertzel
filter with nearly all of the signal's power, at the level sent within 1 dB.
For PCMU, PCMA, G722 and opus, both directions. Also RFC 4733 digits from one
phone reported by the other."""
import math
import os
import re
import select
import signal
import struct
import subprocess
import sys
import time
import wave

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from deskphone import Tap, built, expect, program, wait_until  # noqa: E402

tap = Tap()
SERVICES = ["provd", "sipd", "mediad"]
RATE = 16000
TONE_HZ = 1000.0
TONE_DBFS = -10.0
CALL_SECONDS = 3.0
CODEC_KEYS = {"PCMU": "pcmu", "PCMA": "pcma", "G722": "g722", "opus": "opus"}


def write_tone(path, hz=TONE_HZ, dbfs=TONE_DBFS, seconds=2):
    amp = 10 ** (dbfs / 20) * 32767
    n = int(RATE * seconds)
    frames = b"".join(struct.pack("<h", int(round(amp * math.sin(2 * math.pi * hz * i / RATE)))) for i in range(n))
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(frames)


def read_wav(path):
    with wave.open(path, "rb") as w:
        expect(w.getframerate() == RATE and w.getnchannels() == 1 and w.getsampwidth() == 2,
               f"{path}: {w.getframerate()} Hz, {w.getnchannels()} channel(s)")
        data = w.readframes(w.getnframes())
    return struct.unpack(f"<{len(data) // 2}h", data)


def goertzel_rms(x, hz):
    w = 2 * math.pi * hz / RATE
    c = 2 * math.cos(w)
    s1 = s2 = 0.0
    for v in x:
        s1, s2 = v + c * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - c * s1 * s2
    return math.sqrt(2 * max(power, 0)) / len(x)


def analyse(path):
    """(level of 1 kHz relative to what was sent in dB, share of the power at 1 kHz),
    over the middle of the call: after the jitter buffer filled, before hangup."""
    x = read_wav(path)
    start, end = int(0.8 * RATE), len(x) - int(0.5 * RATE)
    expect(end - start >= RATE, f"{path}: only {len(x) / RATE:.2f} s of audio")
    win = x[start:end]
    rms = math.sqrt(sum(v * v for v in win) / len(win))
    tone = goertzel_rms(win, TONE_HZ)
    sent = 10 ** (TONE_DBFS / 20) * 32767 / math.sqrt(2)
    level = 20 * math.log10(max(tone, 1e-9) / sent)
    share = (tone / rms) ** 2 if rms > 0 else 0
    # a tone elsewhere would show here, not at 1 kHz
    for other in (700.0, 1300.0):
        expect(goertzel_rms(win, other) < 0.05 * tone, f"{path}: energy at {other:.0f} Hz")
    return level, share


def phone_cfg(t, name, codec):
    d = os.path.join(t.tap.dir, t.name.strip("/").replace("/", "-"))
    os.makedirs(d, exist_ok=True)
    capture, playback = os.path.join(d, f"{name}-in.wav"), os.path.join(d, f"{name}-out.wav")
    write_tone(capture)
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


def two_phones(t, codec, extra=None, env_a=None):
    """alice and bob, listening, with codec (and the keys in extra) enabled;
    returns (a, b, out_a, out_b): the phones and their playback files."""
    built("sipd")
    built("mediad")
    cfg_a, out_a = phone_cfg(t, "alice", codec)
    cfg_b, out_b = phone_cfg(t, "bob", codec)
    cfg_a.update(extra or {})
    cfg_b.update(extra or {})
    a = t.phone(cfg=cfg_a, services=SERVICES, name="alice", env=env_a)
    b = t.phone(cfg=cfg_b, services=SERVICES, name="bob")
    a.wait("sip", "ListenPort", a.sip_port)
    b.wait("sip", "ListenPort", b.sip_port)
    return a, b, out_a, out_b


def call(t, codec, extra=None):
    a, b, out_a, out_b = two_phones(t, codec, extra)
    call_a = a.dial_answered(b)
    got = a.properties(call_a)["Codec"]
    expect(got == codec, f"call codec {got!r}, expected {codec}")
    return a, b, call_a, out_a, out_b


def hangup(a, b, call_a):
    a.ctl_ok("hangup", call_a)
    a.wait(call_a, "State", "ended")
    b.wait("call/1", "State", "ended")


def stream_stats(phone):
    streams = phone.objects("stream/")
    expect(len(streams) == 1, f"{phone.name}: {len(streams)} streams")
    return next(iter(streams.values()))


def audio_case(codec):
    def run(t):
        a, b, call_a, out_a, out_b = call(t, codec)
        time.sleep(CALL_SECONDS)
        for p in (a, b):
            s = stream_stats(p)
            expect(s["PacketsReceived"] > 100 and s["PacketsLost"] == 0,
                   f"{p.name}: {s['PacketsReceived']} received, {s['PacketsLost']} lost")
        hangup(a, b, call_a)
        for p in (a, b):  # the playback file is complete once mediad closed the audio device
            p.wait("media", "AudioActive", "false")
        for name, path in (("alice <- bob", out_a), ("bob <- alice", out_b)):
            level, share = analyse(path)
            t.tap._diag(f"{codec} {name}: 1 kHz at {level:+.2f} dB of what was sent, {100 * share:.1f}% of the power")
            expect(abs(level) <= 1.0, f"{codec} {name}: level {level:+.2f} dB")
            expect(share > 0.9, f"{codec} {name}: only {100 * share:.1f}% of the power at 1 kHz")
    return run


for _codec in CODEC_KEYS:
    tap.case(f"/media/audio/{_codec.lower()}")(audio_case(_codec))


@tap.case("/media/audio/g722-without-spandsp")
def _(t):
    """alice's mediad cannot load spandsp: it offers and answers without G.722,
    though G.722 is alice's first codec, so both calls take PCMU and carry audio."""
    a, b, _, out_b = two_phones(t, "G722", {"account.1.codec.pcmu.enable": 1, "account.1.codec.pcmu.priority": 2},
                                env_a={"DESKPHONE_SPANDSP_LIBRARY": "libdeskphone-no-such-spandsp.so.2"})
    # sipd numbers calls 1, 2, ...: bob's first is call/1, alice's second call/2
    for caller, callee, incoming in ((a, b, "call/1"), (b, a, "call/2")):
        call_caller = caller.dial_answered(callee, incoming)
        for p in (a, b):
            calls = [c for c in p.objects("call/").values() if c.get("State") == "active"]
            expect(len(calls) == 1 and calls[0]["Codec"] == "PCMU",
                   f"{p.name}: active calls {[c.get('Codec') for c in calls]}, expected one PCMU")
        time.sleep(CALL_SECONDS)  # the audio to analyse
        for p in (a, b):
            s = stream_stats(p)
            expect(s["PacketsReceived"] > 100, f"{p.name}: {s['PacketsReceived']} packets received")
        caller.ctl_ok("hangup", call_caller)
        caller.wait(call_caller, "State", "ended")
        for p in (a, b):
            p.wait("media", "AudioActive", "false")
    # the last call (bob -> alice) is what bob's playback file holds
    level, share = analyse(out_b)
    expect(abs(level) <= 1.0 and share > 0.9, f"bob <- alice: {level:+.2f} dB, {100 * share:.1f}% at 1 kHz")
    with open(a.log_path, errors="replace") as f:
        expect("G.722 is not offered" in f.read(), "alice's log does not say why G.722 is missing")


def kill_mediad(phone):
    """SIGKILL the phone's mediad; returns once it is gone."""
    mediad = subprocess.run(["pgrep", "-P", str(phone.proc.pid), "-x", "mediad"], capture_output=True, text=True)
    expect(mediad.returncode == 0, f"{phone.name} has no mediad")
    pid = int(mediad.stdout.split()[0])
    os.kill(pid, signal.SIGKILL)

    def gone():
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
        except FileNotFoundError:
            return True
    wait_until(gone, 10, f"{phone.name}'s mediad {pid} to die")


def crash_mid_call(srtp):
    """mediad dies in an established call (SIGKILL): the call stays up; sipd asks the
    mediad that deskphone-session starts again for a new stream and offers it to the
    peer in a re-INVITE (with new SRTP keys), and audio flows both ways again."""
    encryption = "srtp" if srtp else "none"

    def run(t):
        a, b, call_a, out_a, _ = call(t, "PCMU", {"account.1.srtp_encryption": 2} if srtp else None)
        b.wait("call/1", "MediaEncryption", encryption)
        before = stream_stats(b)["PacketsReceived"]
        kill_mediad(a)
        # the new mediad's stream is running once the peer answered the re-INVITE
        a.wait("stream/1", "State", "running")
        time.sleep(CALL_SECONDS)  # the audio to analyse
        for p, c in ((a, call_a), (b, "call/1")):
            props = p.properties(c)
            expect(props["State"] == "active" and props["Codec"] == "PCMU" and
                   props["MediaEncryption"] == encryption, f"{p.name}'s call: {props}")
        got = stream_stats(a)["PacketsReceived"]
        expect(got > 100, f"alice's new stream received {got} packets")
        got = stream_stats(b)["PacketsReceived"] - before
        expect(got > 100, f"bob received {got} packets since alice's mediad was replaced")
        hangup(a, b, call_a)
        a.wait("media", "AudioActive", "false")
        # alice's playback file is the new mediad's: all of it after the restore
        level, share = analyse(out_a)
        expect(abs(level) <= 1.0 and share > 0.9, f"alice <- bob: {level:+.2f} dB, {100 * share:.1f}% at 1 kHz")
    return run


tap.case("/media/mediad-crash-mid-call")(crash_mid_call(False))
tap.case("/media/mediad-crash-mid-call/srtp")(crash_mid_call(True))


@tap.case("/media/mediad-crash-mid-call/held")
def _(t):
    """A call alice put on hold when her mediad dies: the new stream is offered still on
    hold (sendonly), and Resume afterwards brings the audio back both ways."""
    a, b, call_a, _, _ = call(t, "PCMU")
    a.ctl_ok("hold", call_a)
    a.wait(call_a, "State", "held")
    b.wait("call/1", "State", "held")
    kill_mediad(a)
    a.wait("stream/1", "State", "held")  # the new stream, started on hold
    for p, c in ((a, call_a), (b, "call/1")):
        state = p.properties(c)["State"]
        expect(state == "held", f"{p.name}'s call is {state} after the restore")
    a.ctl_ok("resume", call_a)
    a.wait(call_a, "State", "active")
    b.wait("call/1", "State", "active")
    got = {p.name: stream_stats(p)["PacketsReceived"] for p in (a, b)}
    time.sleep(2.5)  # the statistics change once a second: at least 1.5 s of packets
    for p in (a, b):
        n = stream_stats(p)["PacketsReceived"] - got[p.name]
        expect(n >= 50, f"{p.name} received {n} packets in 2.5 s after Resume")
    hangup(a, b, call_a)


@tap.case("/media/mediad-crash-while-dialing")
def _(t):
    """mediad dies while alice's call rings at bob: the offer sent names the stream that
    is gone, so the call ends (CANCEL) rather than be answered without audio."""
    a, b, _, _ = two_phones(t, "PCMU")
    path = a.ctl_ok("dial", b.uri, "--account", "1").strip()
    call_a = "call/" + path.rsplit("/", 1)[1]
    b.wait("call/1", "State", "incoming")
    kill_mediad(a)
    a.wait(call_a, "State", "ended")
    b.wait("call/1", "State", "ended")
    reason = a.properties(call_a)["EndReason"]
    expect(reason == "media service stopped", f"alice's EndReason {reason!r}")
    reason = b.properties("call/1")["EndReason"]
    expect(reason == "cancelled", f"bob's EndReason {reason!r}: alice sent no CANCEL")
    a.wait("media", "AudioActive", "false")  # the new mediad is on the bus
    call_a = a.dial_answered(b, "call/2")
    a.ctl_ok("hangup", call_a)
    a.wait(call_a, "State", "ended")


@tap.case("/media/mediad-crash-while-ringing")
def _(t):
    """bob's mediad dies while bob's phone rings: nothing sent refers to its stream
    yet, so the call rings on, sipd asks the restarted mediad for a new stream, and
    the answered call carries audio both ways."""
    a, b, out_a, out_b = two_phones(t, "PCMU")
    path = a.ctl_ok("dial", b.uri, "--account", "1").strip()
    call_a = "call/" + path.rsplit("/", 1)[1]
    b.wait("call/1", "State", "incoming")
    old = b.objects("stream/")
    expect(len(old) == 1, f"bob has {len(old)} streams while ringing")
    kill_mediad(b)
    # the new mediad rings (sipd tells it to), and sipd asks it for a new stream by itself
    b.wait("media", "Tone", "ring")
    b.wait("stream/1", "State", "created")
    b.ctl_ok("answer")
    a.wait(call_a, "State", "active")
    b.wait("call/1", "State", "active")
    time.sleep(CALL_SECONDS)  # the audio to analyse
    for p in (a, b):
        s = stream_stats(p)
        expect(s["PacketsReceived"] > 100, f"{p.name}: {s['PacketsReceived']} packets received")
    hangup(a, b, call_a)
    for p in (a, b):
        p.wait("media", "AudioActive", "false")
    for name, path in (("alice <- bob", out_a), ("bob <- alice", out_b)):
        level, share = analyse(path)
        expect(abs(level) <= 1.0 and share > 0.9, f"{name}: {level:+.2f} dB, {100 * share:.1f}% at 1 kHz")


class SignalWatch:
    """dbus-monitor on a phone's bus: the first string argument of each signal `member`."""

    def __init__(self, phone, member):
        self.member = member
        self.proc = subprocess.Popen([program("dbus-monitor"), "--address", phone.bus,
                                      # the stream's, not the call's (Sip1.Call has one too)
                                      f"type='signal',interface='org.deskphone.Media1.Stream',member='{member}'"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.values = []
        self._pending = False
        self._buffer = b""
        # dbus-monitor is listening once it reports its own NameAcquired/NameLost
        self._read_until(lambda line: "member=Name" in line, 5)

    def _readline(self, deadline):
        """One line, unbuffered (select() must see what is not read yet)."""
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([self.proc.stdout], [], [], max(0, deadline - time.time()))
            chunk = os.read(self.proc.stdout.fileno(), 4096) if ready else b""
            if not chunk:
                return ""
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode(errors="replace")

    def _read_until(self, done, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            line = self._readline(deadline)
            if not line:
                return False
            if f"member={self.member}" in line:
                self._pending = True
            m = re.match(r'\s*string "(.*)"', line)
            if m and self._pending:
                self.values.append(m.group(1))
                self._pending = False
            if done(line):
                return True
        return False

    def wait(self, n, timeout=10):
        """The values of the first n signals (fewer on timeout)."""
        self._read_until(lambda line: len(self.values) >= n, timeout) if len(self.values) < n else None
        return self.values

    def stop(self):
        self.proc.terminate()
        self.proc.wait(5)


@tap.case("/media/dtmf/rfc4733")
def _(t):
    a, b, call_a, _, _ = call(t, "PCMU")
    stream_a = next(iter(a.objects("stream/")))
    watch = SignalWatch(b, "DtmfReceived")
    try:
        a.call("org.deskphone.Media1", stream_a, "org.deskphone.Media1.Stream", "SendDtmf", "s", "159#")
        got = "".join(watch.wait(4))
    finally:
        watch.stop()
    expect(got == "159#", f"bob received {got!r}")
    hangup(a, b, call_a)


tap.run()
