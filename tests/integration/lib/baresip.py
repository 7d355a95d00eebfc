# SPDX-License-Identifier: LGPL-2.1-or-later
"""baresip (Debian's 1.0.0) as a peer of the integration tests.

    bs = start_baresip(t, codecs=["PCMU"])   # stopped (quit) when the case ends
    bs.dial(phone.uri)                   # or: phone dials bs.uri, bs.accept()
    bs.event("CALL_ESTABLISHED")
    bs.sndcode("159#")                   # RFC 4733 digits
    bs.dtmf(4)                           # digits received, from its events
    bs.hangup(); bs.event("CALL_CLOSED")
    bs.decoded()                         # path of the WAV it decoded

    # SRTP compulsory (its srtp module), over TLS: a certificate for its
    # listening side (one PEM file with the certificate and its key)
    bs = start_baresip(t, mediaenc="srtp-mand", tls={"cert": pem})
    phone dials bs.sips_uri; bs.dial("sips:alice@127.0.0.1:<phone's TLS port>")

Each instance gets its own configuration directory (config, accounts) with
SIP on 127.0.0.1 on a free port, RTP on a free even port pair, no
registration (account "<sip:NAME@127.0.0.1>;regint=0"), only the codecs
asked for, and as its microphone `aufile` reading a WAV file with a 1 kHz
tone at the codec's sample rate and channels (aufile 1.0.0 takes nothing
else). baresip 1.0.0 has no file player: what it decodes is recorded by the
`sndfile` audio filter (dump-<time>-dec.wav in its directory, at the codec's
rate). It is driven through ctrl_tcp: netstring-framed JSON commands
(menu's long commands: dial, accept, hangup, sndcode, quit) answered with
{"response": true, "ok": ..., "token": ...}, and events
{"event": true, "type": "CALL_ESTABLISHED", "param": ...} on the same
connection; every wait is for a message, never a sleep.

TLS in baresip 1.0.0 (libre 1.1 on OpenSSL): `sip_certificate` is one PEM
file with the certificate and its key, `sip_cafile` the CAs it trusts; the
TLS listener is on the port after `sip_listen`'s. It verifies neither the
server's certificate when it calls nor asks a caller for one. A sips: URI is
dialled over TLS. `mediaenc=srtp-mand` in the account line: SDES
(RTP/SAVP), a call without SRTP refused.
"""
import errno
import glob
import json
import os
import signal
import socket
import subprocess
import time

from deskphone import (LOOPBACK, START_TIMEOUT, Resource, Skip, TestFailure, _stop_process, expect, free_port,
                       free_port_pair, port_in_use, program)
from audio import write_tone

MODULE_DIRS = ["/usr/lib/baresip/modules", "/usr/lib/x86_64-linux-gnu/baresip/modules",
               "/usr/local/lib/baresip/modules"]
# codec name in baresip's "audio_codecs" -> (module, sample rate and channels aufile must read)
CODECS = {
    "PCMU": ("g711", 8000, 1),
    "PCMA": ("g711", 8000, 1),
    "G722": ("g722", 16000, 1),
    "opus": ("opus", 48000, 2),
}
START_ATTEMPTS = 3          # starts on other ports after EADDRINUSE (see start())
SOURCE_SECONDS = 30         # aufile 1.0.0 ends the call at the end of its file


def module_dir():
    for d in MODULE_DIRS:
        if os.path.exists(os.path.join(d, "ctrl_tcp.so")):
            return d
    raise Skip("baresip modules (ctrl_tcp.so) not found in " + ", ".join(MODULE_DIRS))


def sip_ports():
    """A port for SIP over UDP and TCP whose next port is free for TCP (baresip's TLS)."""
    for _ in range(100):
        port = free_port_pair()
        if not port_in_use(port + 1, tcp=True):
            return port
    raise TestFailure("no free port with a free next one on 127.0.0.1")


def require_modules(*names):
    """Skip unless every module (e.g. "opus") is installed."""
    d = module_dir()
    for n in names:
        if not os.path.exists(os.path.join(d, n + ".so")):
            raise Skip(f"baresip module {n} not installed in {d}")


class Baresip(Resource):
    """One baresip process on 127.0.0.1, driven through ctrl_tcp."""

    def __init__(self, workdir, name="baresip", codecs=("PCMU",), user="baresip", extra_config=None, mediaenc=None,
                 tls=None):
        """mediaenc: the account's media encryption ("srtp-mand", "srtp"...;
        loads the srtp module); tls: {"cert": PEM with certificate and key,
        "ca": PEM of trusted CAs (optional)} for SIP over TLS on tls_port."""
        self.binary = program("baresip")
        self.modules = module_dir()
        self.name = name
        self.user = user
        self.dir = workdir
        os.makedirs(self.dir, exist_ok=True)
        self.codecs = list(codecs)
        for c in self.codecs:
            expect(c in CODECS, f"baresip: no codec {c!r} here (have {', '.join(CODECS)})")
        self.mediaenc = mediaenc
        self.tls = dict(tls) if tls else None
        require_modules("aufile", "sndfile", "menu", "account", *sorted({CODECS[c][0] for c in self.codecs}),
                        *self._media_modules())
        _, rate, channels = CODECS[self.codecs[0]]
        self.source = os.path.join(self.dir, f"tone-{rate}-{channels}ch.wav")
        self._pick_ports()
        self.log_path = os.path.join(self.dir, "baresip.log")
        self.extra_config = dict(extra_config or {})
        self.proc = None
        self.sock = None
        self._buf = b""
        self.messages = []          # received and not yet consumed by a wait
        self.events = []            # every event, in order
        self._token = 0

    @property
    def uri(self):
        return f"sip:{self.user}@{LOOPBACK}:{self.sip_port}"

    @property
    def sips_uri(self):
        """Where it is called over TLS."""
        expect(self.tls, f"{self.name} has no TLS")
        return f"sips:{self.user}@{LOOPBACK}:{self.tls_port}"

    def _media_modules(self):
        return ["srtp"] if self.mediaenc and self.mediaenc.startswith("srtp") else []

    def config_text(self):
        modules = sorted({CODECS[c][0] for c in self.codecs})
        lines = {
            "poll_method": "epoll",
            "sip_listen": f"{LOOPBACK}:{self.sip_port}",
            "net_interface": LOOPBACK,
            "rtp_ports": f"{self.rtp_port}-{self.rtp_port + 1}",
            "rtp_stats": "yes",
            "audio_source": f"aufile,{self.source}",
            "audio_alert": "none,none",
            "module_path": self.modules,
            "ctrl_tcp_listen": f"{LOOPBACK}:{self.ctrl_port}",
            "statmode_default": "off",
            "snd_path": self.dir,
            "call_local_timeout": "0",
        }
        if self.tls:
            lines["sip_certificate"] = self.tls["cert"]
            if self.tls.get("ca"):
                lines["sip_cafile"] = self.tls["ca"]
        lines.update(self.extra_config)
        out = [f"{k}\t{v}" for k, v in lines.items()]
        out += [f"module\t{m}.so" for m in modules + ["aufile", "sndfile"] + self._media_modules()]
        out += [f"module_app\t{m}.so" for m in ("account", "menu", "ctrl_tcp")]
        return "\n".join(out) + "\n"

    def account_line(self):
        enc = f";mediaenc={self.mediaenc}" if self.mediaenc else ""
        return f"<sip:{self.user}@{LOOPBACK}>;regint=0;audio_codecs={','.join(self.codecs)}{enc}\n"

    def _pick_ports(self):
        # baresip listens for TLS on the port after sip_listen's even when no account uses it
        self.sip_port = sip_ports()
        self.tls_port = self.sip_port + 1 if self.tls else None
        self.ctrl_port = free_port()
        self.rtp_port = free_port_pair()

    def start(self):
        """Started and ready. A port found free can be taken by a test running
        in parallel before baresip binds it: it then exits with EADDRINUSE at
        once, and starts again on other ports."""
        _, rate, channels = CODECS[self.codecs[0]]
        write_tone(self.source, rate=rate, channels=channels, seconds=SOURCE_SECONDS)
        for attempt in range(1, START_ATTEMPTS + 1):
            rc = self._start_once()
            if rc is None:
                return self
            if rc != errno.EADDRINUSE or attempt == START_ATTEMPTS:
                raise TestFailure(f"{self.name} exited with status {rc} at start")
            self._pick_ports()

    def _start_once(self):
        """None once ready, or baresip's exit status if it exited first."""
        with open(os.path.join(self.dir, "config"), "w") as f:
            f.write(self.config_text())
        with open(os.path.join(self.dir, "accounts"), "w") as f:
            f.write(self.account_line())
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([self.binary, "-f", self.dir], stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=self.dir)
        # readiness of an external program: its control port accepts us
        deadline = time.monotonic() + START_TIMEOUT
        while self.sock is None:
            if self.proc.poll() is not None:
                return self.proc.returncode
            try:
                self.sock = socket.create_connection((LOOPBACK, self.ctrl_port), timeout=1)
            except OSError:
                if time.monotonic() > deadline:
                    raise TestFailure(f"{self.name}: ctrl_tcp on {self.ctrl_port} not up after {START_TIMEOUT} s")
                time.sleep(0.02)
        # ctrl_tcp is a module_app, loaded after SIP and the account: ready
        return None

    # ctrl_tcp

    def _read_message(self, deadline):
        while True:
            colon = self._buf.find(b":")
            if colon > 0:
                n = int(self._buf[:colon])
                if len(self._buf) >= colon + n + 2:
                    payload = self._buf[colon + 1:colon + 1 + n]
                    self._buf = self._buf[colon + n + 2:]
                    m = json.loads(payload)
                    if m.get("event"):
                        self.events.append(m)
                    return m
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return None
            if not data:
                raise TestFailure(f"{self.name} closed its ctrl_tcp connection (exit status {self.proc.poll()})")
            self._buf += data

    def wait(self, match, timeout=15, what="a message"):
        """The first message (not yet consumed) for which match(m) is true."""
        deadline = time.monotonic() + timeout
        while True:
            for i, m in enumerate(self.messages):
                if match(m):
                    return self.messages.pop(i)
            m = self._read_message(deadline)
            if m is None:
                seen = ", ".join(e.get("type", "?") for e in self.events) or "none"
                raise TestFailure(f"{self.name}: no {what} within {timeout} s (events so far: {seen})")
            self.messages.append(m)

    def event(self, kind, timeout=15):
        """Wait for the next event of this type (CALL_INCOMING, CALL_ESTABLISHED, ...)."""
        return self.wait(lambda m: m.get("event") and m.get("type") == kind, timeout, f"{kind} event")

    def command(self, command, params=None, timeout=15):
        """A long command of the menu module; returns its output text."""
        self._token += 1
        token = str(self._token)
        msg = {"command": command, "token": token}
        if params is not None:
            msg["params"] = str(params)
        data = json.dumps(msg).encode()
        self.sock.sendall(str(len(data)).encode() + b":" + data + b",")
        r = self.wait(lambda m: m.get("response") and m.get("token") == token, timeout, f"reply to {command}")
        if not r.get("ok"):
            raise TestFailure(f"{self.name} {command} {params or ''}: {r.get('data')}")
        return r.get("data", "")

    def dial(self, uri):
        return self.command("dial", uri)

    def accept(self):
        return self.command("accept")

    def hangup(self):
        return self.command("hangup")

    def sndcode(self, digits):
        """Send digits as RFC 4733 events (each at least 9 packets, then 3 end packets)."""
        return self.command("sndcode", digits)

    def events_of(self, kind, n, timeout=10):
        """The first n events of a type (fewer on timeout), without consuming them."""
        deadline = time.monotonic() + timeout
        while True:
            got = [e for e in self.events if e.get("type") == kind]
            if len(got) >= n:
                return got[:n]
            m = self._read_message(deadline)
            if m is None:
                return got
            self.messages.append(m)

    def dtmf(self, n, timeout=10):
        """The first n digits received (CALL_DTMF_START events), as a string;
        also waits for the end of the last one (CALL_DTMF_END)."""
        digits = "".join(e.get("param", "") for e in self.events_of("CALL_DTMF_START", n, timeout))
        self.events_of("CALL_DTMF_END", n, 2)
        return digits

    # results

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def decoded(self):
        """The WAV file of what it decoded in its (one) call."""
        # sndfile 1.0.0 cuts its path at 127 characters: ".wav" may be lost in a deep directory
        files = sorted(glob.glob(os.path.join(self.dir, "dump-*-dec*")))
        expect(len(files) == 1, f"{self.name}: {len(files)} decoded files in {self.dir}, expected 1")
        return files[0]

    def encoder(self):
        """The audio codec it sent with, from its log ("Set audio encoder: PCMU 8000Hz 1ch")."""
        found = [line.split("Set audio encoder:", 1)[1].split()[0]
                 for line in self.log_text().splitlines() if "Set audio encoder:" in line]
        return found[-1] if found else None

    def logs(self):
        return [(self.name, self.log_path)]

    def stop(self):
        """quit through ctrl_tcp; it must exit 0 (else SIGTERM, then a failure)."""
        if self.proc is None:
            return
        rc = self.proc.poll()
        if rc is None and self.sock is not None:
            try:
                self._token += 1
                data = json.dumps({"command": "quit", "token": str(self._token)}).encode()
                self.sock.sendall(str(len(data)).encode() + b":" + data + b",")
                rc = self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                rc = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if rc is None:
            rc = _stop_process(self.proc, timeout=10, sig=signal.SIGTERM)
            raise TestFailure(f"{self.name} did not quit on the quit command (exit {rc} after SIGTERM)")
        if rc != 0:
            raise TestFailure(f"{self.name} exited with status {rc}")


def start_baresip(t, **kw):
    """A Baresip in a case's scope `t`, started; it quits when the case ends."""
    return t.add(Baresip(t._dir("baresip"), **kw)).start()
