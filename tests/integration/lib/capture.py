# SPDX-License-Identifier: LGPL-2.1-or-later
"""What RTP looks like on the wire, seen with tshark on lo.

    cap = Capture.start(t, [port_a, port_b])   # None when tshark cannot capture here
    ...                                         # the call runs
    seen = payloads(cap.stop())                 # RTP payloads, in order

The capture filter names the test's own UDP ports (both ends of the media),
because other tests run in parallel on lo. payloads() keeps packets that look
like RTP with a plain 12-byte header. A G.711 payload of a 1 kHz tone at
8 kHz repeats after 8 bytes (periodic_share() near 1); ciphertext does not
(near 1/256).
"""
import os
import select
import shutil
import subprocess
import time

START_TIMEOUT = 10


class Capture:
    def __init__(self, proc, path):
        self.proc = proc
        self.path = path

    @classmethod
    def start(cls, t, ports):
        """tshark on lo for these UDP ports, running when this returns; None when it cannot capture."""
        tshark = shutil.which("tshark")
        if not tshark:
            return None
        path = os.path.join(t.tap.dir, f"rtp-{os.getpid()}-{time.monotonic_ns()}.pcap")
        flt = " or ".join(f"udp port {p}" for p in ports)
        proc = subprocess.Popen([tshark, "-i", "lo", "-f", flt, "-w", path, "-q"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        # ready once it logs "Capture started" (or gone: no capture here)
        deadline = time.monotonic() + START_TIMEOUT
        err = b""
        while b"Capture started" not in err:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([proc.stderr], [], [], left)[0]:
                proc.kill()
                proc.wait(10)
                return None
            chunk = os.read(proc.stderr.fileno(), 4096)
            if not chunk:
                proc.wait(10)
                return None
            err += chunk
        return cls(proc, path)

    def stop(self):
        """Every UDP payload captured, in order."""
        self.proc.terminate()
        self.proc.wait(10)
        self.proc.stderr.close()
        out = subprocess.run(["tshark", "-r", self.path, "-T", "fields", "-e", "udp.payload"],
                             capture_output=True, text=True, timeout=60).stdout
        return [bytes.fromhex(h.replace(":", "")) for h in out.split() if h]


def payloads(packets):
    """RTP payloads (after a 12-byte header without CSRCs or extension)."""
    return [p[12:] for p in packets if len(p) > 12 and p[0] >> 6 == 2 and not p[0] & 0x1f]


def periodic_share(payload, period=8):
    """How much of a payload repeats after `period` bytes: ~1 for G.711 of a 1 kHz tone at 8 kHz, ~1/256
    for ciphertext."""
    n = len(payload) - period
    return sum(payload[i] == payload[i + period] for i in range(n)) / n if n > 0 else 0
