# SPDX-License-Identifier: LGPL-2.1-or-later
"""A private PulseAudio for a test: what ALSA's `default` PCM meets on a desktop.

    pa = t.add(Pulse(workdir, sinks=["alice_mic", "alice_spk"]))
    pa.start()
    env = pa.client_env(sink="alice_spk", source="alice_mic.monitor")
    rec = pa.record("alice_spk", path)       # parecord of the sink's monitor
    pa.play("alice_mic", wav)                 # a WAV into a null sink

One daemon (`pulseaudio -n`: no default.pa, so nothing of the machine's own
audio setup) with its own XDG_RUNTIME_DIR and HOME, a null sink per name, and
`pcm.!default { type pulse }` in that HOME's .asoundrc. PULSE_SINK and
PULSE_SOURCE pick a client's devices. As root (CI) pulseaudio only warns.
Readiness is polled with `pactl info` in a bounded loop. Null sinks are kept
busy by low-latency streams before a phone opens them: an idle null sink
renders in blocks of up to 2 s, and the first stream that joins it waits for
the end of the current block (a test-rig artefact, see doc/audio.md).
"""
import os
import signal
import subprocess
import time

from deskphone import Resource, TestFailure, _stop_process, program

READY_TIMEOUT = 10.0
LATENCY_MSEC = "20"


class Pulse(Resource):
    def __init__(self, workdir, sinks):
        self.name = "pulseaudio"
        self.dir = workdir
        self.sinks = list(sinks)
        self.home = os.path.join(workdir, "home")
        self.runtime = os.path.join(workdir, "run")
        self.log_path = os.path.join(workdir, "pulseaudio.log")
        self.proc = None
        self.children = []
        self.players = self.recorders = 0

    @property
    def env(self):
        return dict(os.environ, HOME=self.home, XDG_RUNTIME_DIR=self.runtime,
                    PULSE_SERVER="unix:" + os.path.join(self.runtime, "pulse", "native"))

    def client_env(self, sink, source):
        """Environment entries for a phone whose ALSA `default` goes to these devices."""
        e = self.env
        return {k: e[k] for k in ("HOME", "XDG_RUNTIME_DIR", "PULSE_SERVER")} | \
            {"PULSE_SINK": sink, "PULSE_SOURCE": source}

    def start(self):
        os.makedirs(self.home, exist_ok=True)
        os.makedirs(self.runtime, mode=0o700, exist_ok=True)
        with open(os.path.join(self.home, ".asoundrc"), "w") as f:
            f.write("pcm.!default { type pulse }\nctl.!default { type pulse }\n")
        args = [program("pulseaudio"), "-n", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit",
                "--use-pid-file=false", "--log-target=stderr",
                # memfd blocks of a client that is gone are logged as errors (bug 824): plain shm
                "--enable-memfd=false", "--load=module-native-protocol-unix"]
        args += [f"--load=module-null-sink sink_name={s} rate=16000 channels=1" for s in self.sinks]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=self.env)
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise TestFailure(f"pulseaudio exited with {self.proc.returncode}, see {self.log_path}")
            r = subprocess.run([program("pactl"), "list", "short", "sinks"], env=self.env,
                               capture_output=True, text=True)
            names = {line.split("\t")[1] for line in r.stdout.splitlines() if "\t" in line}
            if r.returncode == 0 and names >= set(self.sinks):
                self.suspend(True)
                return self
            if time.monotonic() > deadline:
                raise TestFailure(f"pulseaudio not ready after {READY_TIMEOUT:.0f} s: {r.stderr.strip()}")
            time.sleep(0.05)

    def pactl(self, *args):
        r = subprocess.run([program("pactl"), *args], env=self.env, capture_output=True, text=True)
        if r.returncode != 0:
            raise TestFailure(f"pactl {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout

    def _wait(self, what, done):
        deadline = time.monotonic() + READY_TIMEOUT
        while not done():
            if time.monotonic() > deadline:
                raise TestFailure(f"pulseaudio: no {what} after {READY_TIMEOUT:.0f} s")
            time.sleep(0.02)

    def suspend(self, on):
        """Suspend (or resume) every null sink. One that resumes starts its clock now, at the
        latency its streams asked for, instead of at the end of an idle block of up to 2 s."""
        for sink in self.sinks:
            self.pactl("suspend-sink", sink, "1" if on else "0")

    def warm(self):
        """Once the players and recorders are connected: resume the sinks together."""
        def connected():
            return (len(self.pactl("list", "short", "sink-inputs").splitlines()) >= self.players and
                    len(self.pactl("list", "short", "source-outputs").splitlines()) >= self.recorders)
        self._wait("players and recorders", connected)
        self.suspend(False)

    def _spawn(self, args):
        with open(self.log_path, "ab") as log:
            p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=self.env)
        self.children.append(p)
        return p

    def record(self, sink, path):
        """parecord of the sink's monitor into a 16 kHz mono WAV; stop_child() ends it."""
        self.recorders += 1
        return self._spawn([program("parecord"), "-d", sink + ".monitor", "--latency-msec=" + LATENCY_MSEC,
                            "--rate=16000", "--channels=1", "--format=s16le", "--file-format=wav", path])

    def play(self, sink, wav):
        """A WAV played into the sink (make it longer than the call)."""
        self.players += 1
        return self._spawn([program("paplay"), "-d", sink, "--latency-msec=" + LATENCY_MSEC, wav])

    def stop_child(self, p):
        """End a recording: parecord writes its WAV header's sizes on SIGINT."""
        _stop_process(p, sig=signal.SIGINT)

    def logs(self):
        return [("pulseaudio", self.log_path)]

    def stop(self):
        for p in reversed(self.children):
            if p.poll() is None:
                _stop_process(p)
        if self.proc and self.proc.poll() is None:
            _stop_process(self.proc)
