#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Call progress tones that sipd drives on the real mediad (issue 4,
services/sipd/call-tones.c): ringback while the callee rings, heard in the
caller's playback file (425 Hz, the Custom set's); the ringer on the callee;
silence once answered and after the call ends, whoever hangs up; busy and
congestion for features.busy_tone_delay seconds after 486 / 503, none with
a delay of 0; no ringback once early media comes; call-waiting when a third
party calls during a call (and not with call_waiting.tone = 0); one tone at
a time (a call coming in while our own rings out does not start the
ringer); calls that go on when the media service does not play tones.

Each phone's Media1 Tone property is followed from before the call on with
dbus-monitor (ToneWatch: every PropertiesChanged, with its time), so the
whole sequence of tones is checked, never only a snapshot."""
import math
import os
import re
import select
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from audio import FULL_SCALE, goertzel_rms, read_wav, rms, write_tone  # noqa: E402
from deskphone import LOOPBACK, Tap, TestFailure, built, expect, program, wait_until  # noqa: E402

tap = Tap()
SERVICES = ["provd", "sipd", "mediad"]
BUSY_DELAY = 3
RINGBACK_HZ = 425.0          # tone.c's Custom set: "425/1000,0/4000"
RINGBACK_DBM0 = -10.0        # its default level
DBM0_FULL_SCALE = 3.14       # tone.h: 0 dBm0 is this many dB below full scale


class ToneWatch:
    """dbus-monitor on a phone's bus: every value of Media1's Tone property
    announced by PropertiesChanged, with the time dbus-monitor received it
    (seconds since the epoch, as it prints them)."""

    def __init__(self, phone):
        self.phone = phone
        rule = ("type='signal',path='/org/deskphone/Media1',interface='org.freedesktop.DBus.Properties',"
                "member='PropertiesChanged'")
        self.proc = subprocess.Popen([program("dbus-monitor"), "--address", phone.bus, rule],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        self.changes = []            # [(time, value)]
        self._buffer = b""
        self._tone_next = False
        if not self._read_until(lambda: self._started, 10, started=True):
            self.stop()
            raise TestFailure(f"dbus-monitor on {phone.name}'s bus did not start")

    _started = False
    _signal_time = 0.0

    def _readline(self, deadline):
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([self.proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(self.proc.stdout.fileno(), 4096) if ready else b""
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode(errors="replace")

    def _read_until(self, done, timeout, started=False):
        deadline = time.monotonic() + timeout
        while not done():
            line = self._readline(deadline)
            if line is None:
                return False
            if started and "member=Name" in line:
                # dbus-monitor listens once it reports its own NameAcquired/NameLost
                self._started = True
            if line.startswith("signal "):
                # when the bus delivered it, not when we got round to reading it
                t = re.search(r"\btime=([0-9.]+)", line)
                self._signal_time = float(t.group(1)) if t else time.time()
            m = re.match(r'\s*(?:variant\s+)?string "(.*)"$', line)
            if m and self._tone_next:
                self.changes.append((self._signal_time, m.group(1)))
            self._tone_next = bool(m) and m.group(1) == "Tone" and "variant" not in line
        return True

    def values(self):
        return [v for _, v in self.changes]

    def wait_for(self, values, timeout=15):
        """Wait until the changes seen so far end with `values` (a list);
        returns the time of the last of them."""
        n = len(values)
        ok = self._read_until(lambda: self.values()[-n:] == values, timeout)
        if not ok:
            raise TestFailure(f"{self.phone.name}: Tone went {self.values()}, expected it to reach {values} "
                              f"within {timeout} s")
        return self.changes[-1][0]

    def settle(self, seconds):
        """Read what comes during `seconds` (to show that nothing does)."""
        self._read_until(lambda: False, seconds)
        return self.values()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
        self.proc.stdout.close()


def watch(t, phone):
    w = ToneWatch(phone)
    t.add(_Stopper(w))
    return w


class _Stopper:
    """Stops a ToneWatch with the case's other resources."""
    name = "tone watch"

    def __init__(self, w):
        self.w = w

    def logs(self):
        return []

    def stop(self):
        self.w.stop()


def phone_cfg(t, name, extra=None):
    d = os.path.join(t.tap.dir, t.name.strip("/").replace("/", "-"))
    os.makedirs(d, exist_ok=True)
    capture, playback = os.path.join(d, f"{name}-in.wav"), os.path.join(d, f"{name}-out.wav")
    write_tone(capture, seconds=1.0)
    cfg = {
        "deskphone.audio.capture_device": "file:" + capture,
        "deskphone.audio.playback_device": "file:" + playback,
        "account.1.enable": 1,
        "account.1.user_name": name,
        "account.1.label": name,
        "features.busy_tone_delay": BUSY_DELAY,
    }
    cfg.update(extra or {})
    return cfg, playback


def start_phone(t, name, extra=None, services=SERVICES, fake_media=False):
    cfg, playback = phone_cfg(t, name, extra)
    p = t.phone(cfg=cfg, services=services, name=name, fake_media=fake_media)
    p.wait("sip", "ListenPort", p.sip_port)
    p.playback = playback
    return p


def dial(phone, uri):
    path = phone.ctl_ok("dial", uri, "--account", "1").strip()
    expect(path.startswith("/org/deskphone/Sip1/call/"), f"dial printed {path!r}")
    return "call/" + path.rsplit("/", 1)[1]


def wav_frames(path):
    """Frames the playback file's header announces (updated every second)."""
    try:
        with open(path, "rb") as f:
            head = f.read(44)
    except OSError:
        return 0
    return int.from_bytes(head[40:44], "little") // 2 if len(head) == 44 else 0


def expect_ringback_heard(t, path):
    """The first second of the playback file (the ringback's first cadence,
    1 s of 425 Hz) holds 425 Hz at the tone's level and little else. Measured
    in 40 ms blocks (17 periods each): a frame played late on a loaded machine
    is a gap that shifts the phase, which one filter over the whole second
    would count as a weaker tone."""
    wait_until(lambda: wav_frames(path) >= 16000, 10, f"1 s of audio in {path}")
    rate, x = read_wav(path)
    expected = 10 ** ((RINGBACK_DBM0 - DBM0_FULL_SCALE) / 20) * FULL_SCALE / math.sqrt(2)
    n = int(0.04 * rate)
    blocks = [x[i:i + n] for i in range(int(0.05 * rate), int(0.95 * rate) - n + 1, n)]
    good, levels = 0, []
    for b in blocks:
        tone, total = goertzel_rms(b, RINGBACK_HZ, rate), rms(b)
        level = 20 * math.log10(max(tone, 1e-9) / expected)
        levels.append(level)
        others = max(goertzel_rms(b, f, rate) for f in (350.0, 500.0, 1000.0))
        if abs(level) <= 1.0 and total and (tone / total) ** 2 >= 0.9 and others < 0.05 * tone:
            good += 1
    levels.sort()
    t.tap._diag(f"ringback in {os.path.basename(path)}: {RINGBACK_HZ:.0f} Hz at {levels[len(levels) // 2]:+.2f} dB "
                f"of {RINGBACK_DBM0:.0f} dBm0 (median), {good} of {len(blocks)} 40 ms blocks pure and at that level")
    expect(good >= 0.8 * len(blocks), f"only {good} of {len(blocks)} blocks hold the ringback; levels {levels}")


def expect_timed(w, tone, seconds, after=None):
    """w reaches `tone`, then "" after about `seconds`."""
    start = w.wait_for([tone])
    end = w.wait_for([tone, ""], timeout=seconds + 5)
    lasted = end - start
    expect(seconds - 0.5 <= lasted <= seconds + 1.5, f"{tone} tone lasted {lasted:.2f} s, expected {seconds} s")
    return lasted


@tap.case("/sip/tones/ringback-ring-answer-hangup")
def _(t):
    built("sipd")
    built("mediad")
    a, b = start_phone(t, "alice"), start_phone(t, "bob")
    wa, wb = watch(t, a), watch(t, b)
    call_a = dial(a, b.uri)
    b.wait("call/1", "State", "incoming")
    a.wait(call_a, "State", "ringing")
    wb.wait_for(["ring"])
    wa.wait_for(["ringback"])
    a.wait("media", "Tone", "ringback")
    b.wait("media", "Tone", "ring")
    expect_ringback_heard(t, a.playback)
    b.ctl_ok("answer")
    a.wait(call_a, "State", "active")
    wa.wait_for(["ringback", ""])
    wb.wait_for(["ring", ""])
    a.ctl_ok("hangup", call_a)
    a.wait(call_a, "State", "ended")
    b.wait("call/1", "State", "ended")
    # an answered call ends in silence on both sides, whoever hangs up
    expect(wa.settle(1.0) == ["ringback", ""], f"alice's tones: {wa.values()}")
    expect(wb.settle(0.1) == ["ring", ""], f"bob's tones: {wb.values()}")
    a.wait("media", "Tone", "")
    b.wait("media", "Tone", "")


@tap.case("/sip/tones/busy-486")
def _(t):
    built("mediad")
    a = start_phone(t, "alice")
    w = watch(t, a)
    uas = t.sipp("uas-busy").start()
    call = dial(a, uas.uri)
    a.wait(call, "EndReason", "486 Busy Here")
    lasted = expect_timed(w, "busy", BUSY_DELAY)
    t.tap._diag(f"busy tone after 486: {lasted:.2f} s")
    uas.expect_success()
    expect(w.values() == ["busy", ""], f"tones: {w.values()}")


@tap.case("/sip/tones/congestion-503")
def _(t):
    built("mediad")
    a = start_phone(t, "alice")
    w = watch(t, a)
    uas = t.sipp("uas-unavailable").start()
    call = dial(a, uas.uri)
    a.wait(call, "State", "ended")
    lasted = expect_timed(w, "congestion", BUSY_DELAY)
    t.tap._diag(f"congestion tone after 503: {lasted:.2f} s")
    uas.expect_success()
    expect(w.values() == ["congestion", ""], f"tones: {w.values()}")


@tap.case("/sip/tones/busy-delay-0")
def _(t):
    built("mediad")
    a = start_phone(t, "alice", {"features.busy_tone_delay": 0})
    w = watch(t, a)
    for scenario in ("uas-busy", "uas-unavailable"):
        uas = t.sipp(scenario).start()
        call = dial(a, uas.uri)
        a.wait(call, "State", "ended")
        uas.expect_success()
    expect(w.settle(1.0) == [], f"tones with features.busy_tone_delay = 0: {w.values()}")


@tap.case("/sip/tones/early-media-stops-ringback")
def _(t):
    built("mediad")
    a = start_phone(t, "alice")
    w = watch(t, a)
    uas = t.sipp("uas-ring-early-media", pause_ms=1000).start()
    call = dial(a, uas.uri)
    w.wait_for(["ringback"])
    a.wait(call, "State", "early")
    w.wait_for(["ringback", ""])
    a.wait(call, "State", "active")
    a.ctl_ok("hangup", call)
    a.wait(call, "State", "ended")
    uas.expect_success()
    expect(w.settle(0.5) == ["ringback", ""], f"tones: {w.values()}")


def call_waiting_case(tone_enabled):
    def run(t):
        built("mediad")
        a = start_phone(t, "alice", {"call_waiting.tone": int(tone_enabled)})
        b = start_phone(t, "bob")
        call_a = dial(a, b.uri)
        b.wait("call/1", "State", "incoming")
        b.ctl_ok("answer")
        a.wait(call_a, "State", "active")
        a.wait("media", "Tone", "")
        w = watch(t, a)
        # a third party calls alice, rings 1.5 s, gives up
        uac = t.sipp("uac-cancel", remote=f"{LOOPBACK}:{a.sip_port}", service="alice", pause_ms=1500).start()
        uac.expect_success()
        a.wait(call_a, "State", "active")
        if tone_enabled:
            w.wait_for(["call-waiting", ""])
            expected = ["call-waiting", ""]
        else:
            expected = []
        expect(w.settle(0.5) == expected, f"alice's tones: {w.values()}, expected {expected}")
        a.ctl_ok("hangup", call_a)
        a.wait(call_a, "State", "ended")
        expect(w.settle(0.5) == expected, f"alice's tones after her hangup: {w.values()}")
    return run


tap.case("/sip/tones/call-waiting")(call_waiting_case(True))
tap.case("/sip/tones/call-waiting-tone-off")(call_waiting_case(False))


@tap.case("/sip/tones/one-tone-ringback-wins")
def _(t):
    # alice's own call rings out; a call coming in meanwhile does not start the
    # ringer (one tone, the call in progress first), and hanging up leaves none
    built("mediad")
    a = start_phone(t, "alice")
    w = watch(t, a)
    uas = t.sipp("uas-ring-cancel").start()
    call = dial(a, uas.uri)
    w.wait_for(["ringback"])
    uac = t.sipp("uac-cancel", remote=f"{LOOPBACK}:{a.sip_port}", service="alice", pause_ms=1000).start()
    uac.expect_success()
    a.wait(call, "State", "ringing")
    a.ctl_ok("hangup", call)
    a.wait(call, "State", "ended")
    uas.expect_success()
    expect(w.settle(0.5) == ["ringback", ""], f"alice's tones: {w.values()}")


@tap.case("/sip/tones/mediad-restart")
def _(t):
    # mediad crashes while the ringer plays; deskphone-session starts it again,
    # knowing of no tone: sipd sees Media1's new owner and asks for the ringer again
    built("mediad")
    a = start_phone(t, "alice")
    w = watch(t, a)
    uac = t.sipp("uac-cancel", remote=f"{LOOPBACK}:{a.sip_port}", service="alice", pause_ms=8000).start()
    w.wait_for(["ring"])
    n = len(w.changes)
    pid = a.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                 "GetConnectionUnixProcessID", "s", "org.deskphone.Media1")[0]
    os.kill(pid, signal.SIGKILL)
    if not w._read_until(lambda: len(w.changes) > n and w.values()[-1] == "ring", 15):
        raise TestFailure(f"the restarted mediad does not ring: tones {w.values()}")
    expect(a.prop("/org/deskphone/Media1", "org.deskphone.Media1", "Tone", "org.deskphone.Media1") == "ring",
           "the restarted mediad's Tone is not ring")
    uac.expect_success()
    w.wait_for([""])
    expect(a.prop("/org/deskphone/Media1", "org.deskphone.Media1", "Tone", "org.deskphone.Media1") == "",
           "a tone plays after the caller gave up")


@tap.case("/sip/tones/no-tone-service")
def _(t):
    # fake-media1 has no PlayTone: the calls must go on all the same, with one warning
    a = start_phone(t, "alice", services=["provd", "sipd"], fake_media=True)
    for _ in range(2):
        uas = t.sipp("uas-answer-wait-bye").start()
        call = dial(a, uas.uri)
        a.wait(call, "State", "active")
        a.ctl_ok("hangup", call)
        a.wait(call, "State", "ended")
        uas.expect_success()
    with open(a.log_path, errors="replace") as f:
        warnings = [line for line in f if "does not play call progress tones" in line]
    expect(len(warnings) == 1, f"{len(warnings)} warnings about tones: {warnings}")


tap.run()
