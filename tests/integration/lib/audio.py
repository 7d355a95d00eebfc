# SPDX-License-Identifier: LGPL-2.1-or-later
"""Audio and media helpers of the media tests (Python 3 stdlib only).

A tone goes in as a WAV file and what comes out is checked for it:

    write_tone(path, rate=8000, channels=1)          # 1 kHz at -10 dBFS
    r = analyse(path)                                 # any rate, any channels
    r.level   # dB of the 1 kHz component relative to what write_tone sent
    r.share   # share of the signal's power at 1 kHz (0..1)

The tone's frequency is found by Goertzel filters at 1 kHz and at 700 and
1300 Hz (a tone elsewhere, or a badly resampled one, shows there). Plus
SignalWatch: dbus-monitor on a phone's bus, for DtmfReceived and the like.
"""
import array
import math
import os
import re
import select
import subprocess
import sys
import time
import wave

from deskphone import TestFailure, expect, program

TONE_HZ = 1000.0
TONE_DBFS = -10.0
FULL_SCALE = 32767


def tone_samples(rate, hz=TONE_HZ, dbfs=TONE_DBFS, seconds=2.0):
    """A sine as an array('h') of int16 samples (mono)."""
    amp = 10 ** (dbfs / 20) * FULL_SCALE
    n = int(rate * seconds)
    period = rate / hz
    if period == int(period):
        # one exact period, repeated: cheap even for long files at 48 kHz
        one = array.array("h", (int(round(amp * math.sin(2 * math.pi * i / period))) for i in range(int(period))))
        out = one * (n // len(one) + 1)
        del out[n:]
        return out
    return array.array("h", (int(round(amp * math.sin(2 * math.pi * hz * i / rate))) for i in range(n)))


def write_tone(path, rate=16000, channels=1, hz=TONE_HZ, dbfs=TONE_DBFS, seconds=2.0):
    """A 16-bit WAV file holding a sine on every channel."""
    mono = tone_samples(rate, hz, dbfs, seconds)
    if channels == 1:
        frames = mono
    else:
        frames = array.array("h", bytes(len(mono) * channels * 2))
        for c in range(channels):
            frames[c::channels] = mono
    if sys.byteorder != "little":
        frames.byteswap()
    with wave.open(path, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames.tobytes())


def read_wav(path):
    """(rate, samples of the first channel as an array('h')) of a 16-bit WAV file."""
    try:
        with wave.open(path, "rb") as w:
            rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
            data = w.readframes(w.getnframes())
    except (OSError, EOFError, wave.Error) as e:
        raise TestFailure(f"{path}: cannot read it as WAV: {e}")
    expect(width == 2, f"{path}: {8 * width}-bit samples, expected 16")
    x = array.array("h")
    x.frombytes(data[:len(data) - len(data) % 2])
    if sys.byteorder != "little":
        x.byteswap()
    if channels > 1:
        x = x[::channels]
    return rate, x


def goertzel_rms(x, hz, rate):
    """RMS amplitude of the component of x at hz (one DFT bin, Goertzel)."""
    if not x:
        return 0.0
    w = 2 * math.pi * hz / rate
    c = 2 * math.cos(w)
    s1 = s2 = 0.0
    for v in x:
        s1, s2 = v + c * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - c * s1 * s2
    return math.sqrt(2 * max(power, 0)) / len(x)


def rms(x):
    return math.sqrt(sum(v * v for v in x) / len(x)) if x else 0.0


class Analysis:
    """What analyse() found in a recording."""

    def __init__(self, path, rate, seconds, level, share, others, window):
        self.path = path
        self.rate = rate
        self.seconds = seconds      # length of the whole file
        self.level = level          # dB of the tone relative to what was sent
        self.share = share          # share of the power at the tone's frequency
        self.others = others        # {hz: rms relative to the tone} at other frequencies
        self.window = window        # (start s, end s) analysed

    def __str__(self):
        return (f"{self.rate} Hz, {self.seconds:.2f} s; over {self.window[0]:.1f}-{self.window[1]:.1f} s: "
                f"{TONE_HZ:.0f} Hz at {self.level:+.2f} dB of what was sent, {100 * self.share:.1f}% of the power")


def analyse(path, skip_start=0.8, skip_end=0.5, min_seconds=1.0, until=None, hz=TONE_HZ, dbfs=TONE_DBFS):
    """Analyse a recording of a tone sent at dbfs, over its middle: after
    the jitter buffer filled, before the hangup (or before `until` seconds
    from its start, when the audio stopped flowing earlier)."""
    rate, x = read_wav(path)
    start, end = int(skip_start * rate), len(x) - int(skip_end * rate)
    if until is not None:
        end = min(end, int(until * rate))
    expect(end - start >= min_seconds * rate, f"{path}: only {len(x) / rate:.2f} s of audio at {rate} Hz")
    win = x[start:end]
    total = rms(win)
    tone = goertzel_rms(win, hz, rate)
    sent = 10 ** (dbfs / 20) * FULL_SCALE / math.sqrt(2)
    level = 20 * math.log10(max(tone, 1e-9) / sent)
    share = (tone / total) ** 2 if total > 0 else 0.0
    others = {f: goertzel_rms(win, f, rate) / max(tone, 1e-9) for f in (0.7 * hz, 1.3 * hz)}
    return Analysis(path, rate, len(x) / rate, level, share, others, (start / rate, end / rate))


def expect_tone(a, what, max_db=1.0, min_share=0.9):
    """The recording holds the tone at the level sent (within max_db) and
    little else; returns a one-line description."""
    expect(abs(a.level) <= max_db, f"{what}: level {a.level:+.2f} dB (limit {max_db:.1f} dB); {a}")
    expect(a.share >= min_share, f"{what}: only {100 * a.share:.1f}% of the power at {TONE_HZ:.0f} Hz; {a}")
    for f, rel in a.others.items():
        expect(rel < 0.05, f"{what}: energy at {f:.0f} Hz ({20 * math.log10(max(rel, 1e-9)):+.1f} dB of the tone)")
    return f"{what}: {a}"


class SignalWatch:
    """dbus-monitor on a phone's bus: the arguments (strings, integers,
    doubles, booleans, in order) of each signal `member`, as tuples of
    `nargs` values; with `iface`, only that interface's (Media1.Stream and
    Sip1.Call both have a DtmfReceived)."""

    def __init__(self, phone, member, nargs, iface=None):
        self.member = member
        self.nargs = nargs
        rule = f"type='signal',member='{member}'" + (f",interface='{iface}'" if iface else "")
        self.proc = subprocess.Popen([program("dbus-monitor"), "--address", phone.bus, rule],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        self.signals = []
        self._current = None
        self._buffer = b""
        # dbus-monitor is listening once it reports its own NameAcquired/NameLost
        if not self._read_until(lambda line: line is not None and "member=Name" in line, 10):
            self.stop()
            raise TestFailure(f"dbus-monitor on {phone.name}'s bus did not start")

    def _readline(self, deadline):
        """One line, unbuffered (select() must see what is not read yet)."""
        while b"\n" not in self._buffer:
            left = max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            chunk = os.read(self.proc.stdout.fileno(), 4096) if ready else b""
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode(errors="replace")

    def _read_until(self, done, timeout):
        deadline = time.monotonic() + timeout
        while not done(None):
            line = self._readline(deadline)
            if line is None:
                return False
            if line.startswith(("signal ", "method ", "error ")):
                self._current = [] if f"member={self.member}" in line else None
            elif self._current is not None:
                m = re.match(r'\s*(string|u?int\d+|double|boolean) (.*)$', line)
                if m:
                    kind, value = m.groups()
                    self._current.append(value[1:-1] if kind == "string" else
                                         float(value) if kind == "double" else
                                         value == "true" if kind == "boolean" else int(value))
                    if len(self._current) == self.nargs:
                        self.signals.append(tuple(self._current))
                        self._current = None
            if done(line):
                return True
        return True

    def wait(self, n, timeout=10):
        """The first n signals (fewer on timeout), each a tuple of its arguments."""
        self._read_until(lambda line: len(self.signals) >= n, timeout)
        return list(self.signals)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
        self.proc.stdout.close()
