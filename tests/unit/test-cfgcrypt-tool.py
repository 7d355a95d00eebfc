#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""deskphone-cfgcrypt as an administrator uses it: the files Yealink's tool made
(read in place from the corpus) decrypt byte for byte and encrypt back to the
same bytes; every broken input gives one clear line and the documented exit
status; files we write decrypt with OpenSSL's command line and the reverse.

Usage: test-cfgcrypt-tool.py TOOL [CORPUS_DIR]   (prints TAP)"""
import base64
import os
import random
import shutil
import subprocess
import sys
import tempfile

TOOL = sys.argv[1]
CORPUS = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("DESKPHONE_CORPUS", "")
PAIR = os.path.join(CORPUS, "yealink", "encrypted-pair")
RSA = os.path.join(CORPUS, "yealink", "rsa-mode")
PAIR_KEY = "ljB7jiDIQQ7XD888"
RSA_AES_KEY = "303wlbKBenhhHwpFzzj00QfwhwzbyKhp"
RSA_TEXT = b"#!version:1.0.0.1\r\n\r\nstatic.lang.gui = French\r\nlang.gui = French\r\n"
TEXT = b"#!version:1.0.0.1\naccount.1.user_name = 1001\naccount.1.password = Very-Secret-42\n"
OPENSSL = shutil.which("openssl")

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_WRONG_KEY, EXIT_BAD_INPUT = 0, 1, 2, 3, 4

cases = []


class Skip(Exception):
    pass


def case(name, needs=()):
    def wrap(fn):
        cases.append((name, fn, needs))
        return fn
    return wrap


def expect(cond, msg=""):
    if not cond:
        raise AssertionError(msg)


def run(*args, stdin=None):
    p = subprocess.run([TOOL, *args], input=stdin, capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def ok(*args, stdin=None):
    rc, out, err = run(*args, stdin=stdin)
    expect(rc == 0, f"{args}: exit {rc}: {err}")
    return out, err


def fails(status, reason, *args, stdin=None):
    rc, out, err = run(*args, stdin=stdin)
    expect(rc == status, f"{args}: exit {rc}, want {status}: {err}")
    expect(reason in err, f"stderr {err!r} lacks {reason!r}")
    expect(err.count("\n") == 1 and err.startswith("deskphone-cfgcrypt: "), f"not one line: {err!r}")
    return err


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


def openssl(*args, stdin=None):
    p = subprocess.run([OPENSSL, *args], input=stdin, capture_output=True, timeout=60)
    expect(p.returncode == 0, f"openssl {args}: {p.stderr.decode(errors='replace')}")
    return p.stdout


def hexkey(key):
    return key.encode().hex()


def space_pad(data):
    return data + b" " * (-len(data) % 16)


# ---- the Yealink-made files ----

@case("/cfgcrypt-tool/yealink-pair/decrypt-with-key", needs=("corpus",))
def _(d):
    out = os.path.join(d, "plain.cfg")
    o, err = ok("decrypt", "--key", PAIR_KEY, os.path.join(PAIR, "test.cfg"), out)
    expect(read(out) == read(os.path.join(PAIR, "test.decrypted.cfg")), "not byte-exact")
    expect(os.stat(out).st_mode & 0o777 == 0o600, "decrypted file must be 0600")
    expect(o == b"" and err == "", f"said something: {o!r} {err!r}")


@case("/cfgcrypt-tool/yealink-pair/decrypt-with-key-file", needs=("corpus",))
def _(d):
    out = os.path.join(d, "plain.cfg")
    ok("decrypt", "--key-file", os.path.join(PAIR, "test_Security.enc"), os.path.join(PAIR, "test.cfg"), out)
    expect(read(out) == read(os.path.join(PAIR, "test.decrypted.cfg")))


@case("/cfgcrypt-tool/yealink-pair/decrypt-finds-key-file-beside", needs=("corpus",))
def _(d):
    o, _ = ok("decrypt", "--show-key", os.path.join(PAIR, "test.cfg"), os.path.join(d, "p.cfg"))
    expect(read(os.path.join(d, "p.cfg")) == read(os.path.join(PAIR, "test.decrypted.cfg")))
    expect(o == (PAIR_KEY + "\n").encode(), repr(o))


@case("/cfgcrypt-tool/yealink-pair/re-encrypt-byte-exact", needs=("corpus",))
def _(d):
    out = os.path.join(d, "test.cfg")
    ok("encrypt", "--key", PAIR_KEY, os.path.join(PAIR, "test.decrypted.cfg"), out)
    expect(read(out) == read(os.path.join(PAIR, "test.cfg")), "not byte-exact")
    expect(not os.path.exists(os.path.join(d, "test_Security.enc")), "a given key must not be written out")
    ok("encrypt", "--key-file", os.path.join(PAIR, "test_Security.enc"), os.path.join(PAIR, "test.decrypted.cfg"),
       out)
    expect(read(out) == read(os.path.join(PAIR, "test.cfg")), "not byte-exact with --key-file")


@case("/cfgcrypt-tool/rsa/yealink-file", needs=("corpus",))
def _(d):
    out = os.path.join(d, "plain.cfg")
    o, _ = ok("decrypt", "--show-key", "--rsa-key", os.path.join(RSA, "yealink-default-rsa-private.pem"),
              os.path.join(RSA, "y000000000065_2.cfg"), out)
    expect(read(out) == RSA_TEXT, repr(read(out)))
    expect(o == (RSA_AES_KEY + "\n").encode(), repr(o))


# ---- keys made by the tool ----

@case("/cfgcrypt-tool/encrypt/new-key-goes-to-key-file-only")
def _(d):
    src = write(os.path.join(d, "src.cfg"), TEXT)
    os.mkdir(os.path.join(d, "www"))
    out = os.path.join(d, "www", "account.cfg")
    o, err = ok("encrypt", src, out)
    keyfile = os.path.join(d, "www", "account_Security.enc")
    expect(len(read(keyfile)) == 16, "key file must be 16 bytes")
    expect(os.stat(keyfile).st_mode & 0o777 == 0o600, "key file must be 0600")
    expect(os.stat(out).st_mode & 0o777 == 0o644, "encrypted file must be 0644")
    expect(len(read(out)) == len(space_pad(TEXT)) and TEXT not in read(out))
    o2, _ = ok("decrypt", "--show-key", out, os.path.join(d, "back.cfg"))
    key = o2.decode().strip()
    expect(len(key) == 16 and key.isalnum(), repr(key))
    expect(key.encode() not in o and key not in err, "the made key was printed without --show-key")
    expect(read(os.path.join(d, "back.cfg")) == space_pad(TEXT))
    o3, _ = ok("encrypt", "--show-key", src, os.path.join(d, "other.cfg"))
    expect(len(o3.decode().strip()) == 16 and o3.decode().strip() != key, "keys must be random")


@case("/cfgcrypt-tool/encrypt/32-character-key-round-trip")
def _(d):
    src = write(os.path.join(d, "src.cfg"), TEXT)
    ok("encrypt", "--key", RSA_AES_KEY, src, os.path.join(d, "e.cfg"))
    ok("decrypt", "--key", RSA_AES_KEY, os.path.join(d, "e.cfg"), os.path.join(d, "p.cfg"))
    expect(read(os.path.join(d, "p.cfg")) == space_pad(TEXT))
    fails(EXIT_WRONG_KEY, "wrong AES key", "decrypt", "--key", RSA_AES_KEY[:16], os.path.join(d, "e.cfg"),
          os.path.join(d, "x.cfg"))


@case("/cfgcrypt-tool/stdin-stdout")
def _(d):
    enc, _ = ok("encrypt", "--key", PAIR_KEY, "--padding", "pkcs7", "-", "-", stdin=TEXT)
    expect(len(enc) == 96)
    plain, _ = ok("decrypt", "--key", PAIR_KEY, "-", "-", stdin=enc)
    expect(plain == TEXT)
    fails(EXIT_USAGE, "standard output has none", "encrypt", "-", "-", stdin=TEXT)


@case("/cfgcrypt-tool/rsa/own-keys", needs=("openssl",))
def _(d):
    priv = os.path.join(d, "priv.pem")
    openssl("genrsa", "-out", priv, "2048")
    pub = write(os.path.join(d, "pub.pem"), openssl("rsa", "-in", priv, "-pubout"))
    cert = write(os.path.join(d, "cert.pem"), openssl("req", "-new", "-x509", "-key", priv, "-subj", "/CN=prov",
                                                       "-days", "1"))
    pkcs1 = write(os.path.join(d, "pkcs1.pem"), openssl("rsa", "-in", priv, "-traditional"))
    src = write(os.path.join(d, "src.cfg"), TEXT)
    for n, key in enumerate((priv, pub, cert, pkcs1)):
        out = os.path.join(d, f"e{n}.cfg")
        ok("encrypt", "--mode", "rsa", "--rsa-key", key, src, out)
        expect(read(out).startswith(b"#!encrypt:1.0.0.0\n"))
        ok("decrypt", "--rsa-key", pkcs1 if n % 2 else priv, out, os.path.join(d, f"p{n}.cfg"))
        expect(read(os.path.join(d, f"p{n}.cfg")) == TEXT, f"round trip with {key}")
    fails(EXIT_USAGE, "give the private key", "decrypt", "--rsa-key", pub, os.path.join(d, "e0.cfg"),
          os.path.join(d, "x.cfg"))
    if CORPUS:
        fails(EXIT_WRONG_KEY, "wrong RSA key", "decrypt", "--rsa-key", priv, os.path.join(RSA, "y000000000065_2.cfg"),
              os.path.join(d, "x.cfg"))
    expect(not os.path.exists(os.path.join(d, "x.cfg")), "failed decryption wrote OUT")


# ---- broken inputs ----

@case("/cfgcrypt-tool/errors/wrong-key", needs=("corpus",))
def _(d):
    out = write(os.path.join(d, "out.cfg"), b"before\n")
    err = fails(EXIT_WRONG_KEY, "test.cfg: wrong AES key (the decrypted text is not a configuration file)",
                "decrypt", "--key", "0123456789abcdef", os.path.join(PAIR, "test.cfg"), out)
    expect("0123456789abcdef" not in err, "the key is in the message")
    expect(read(out) == b"before\n", "a failed decryption changed OUT")


@case("/cfgcrypt-tool/errors/truncated", needs=("corpus",))
def _(d):
    t = write(os.path.join(d, "t.cfg"), read(os.path.join(PAIR, "test.cfg")) + b"x")
    fails(EXIT_BAD_INPUT, "t.cfg: truncated ciphertext: 801 bytes is not a multiple of 16", "decrypt", "--key",
          PAIR_KEY, t, os.path.join(d, "o.cfg"))


@case("/cfgcrypt-tool/errors/garbage-body")
def _(d):
    g = write(os.path.join(d, "g.cfg"), random.Random(7).randbytes(800))
    fails(EXIT_WRONG_KEY, "g.cfg: wrong AES key", "decrypt", "--key", PAIR_KEY, g, os.path.join(d, "o.cfg"))


@case("/cfgcrypt-tool/errors/rsa-damaged", needs=("corpus",))
def _(d):
    pem = os.path.join(RSA, "yealink-default-rsa-private.pem")
    good = read(os.path.join(RSA, "y000000000065_2.cfg"))
    bad64 = write(os.path.join(d, "b.cfg"), good.replace(b"MbSkM3G+", b"MbSk*3G+"))
    fails(EXIT_BAD_INPUT, "b.cfg:6: bad base64 in the configuration data", "decrypt", "--rsa-key", pem, bad64,
          os.path.join(d, "o.cfg"))
    noend = write(os.path.join(d, "n.cfg"), good[:good.index(b"#!---END")])
    fails(EXIT_BAD_INPUT, "n.cfg: missing the END CONFIG DATA line", "decrypt", "--rsa-key", pem, noend,
          os.path.join(d, "o.cfg"))
    fails(EXIT_USAGE, "give --rsa-key", "decrypt", os.path.join(RSA, "y000000000065_2.cfg"), os.path.join(d, "o.cfg"))
    fails(EXIT_BAD_INPUT, "rsa-mode file, not legacy", "decrypt", "--mode", "legacy", "--rsa-key", pem,
          os.path.join(RSA, "y000000000065_2.cfg"), os.path.join(d, "o.cfg"))


@case("/cfgcrypt-tool/errors/huge-input")
def _(d):
    h = os.path.join(d, "h.cfg")
    with open(h, "wb") as f:
        f.truncate(16 * 1024 * 1024 + 32)
    fails(EXIT_BAD_INPUT, "h.cfg: 16777248 bytes of ciphertext is more than the 16777232 bytes allowed", "decrypt",
          "--key", PAIR_KEY, h, os.path.join(d, "o.cfg"))
    with open(h, "wb") as f:
        f.truncate(30 * 1024 * 1024)
    fails(EXIT_BAD_INPUT, "h.cfg: larger than the", "decrypt", "--key", PAIR_KEY, h, os.path.join(d, "o.cfg"))
    t = write(os.path.join(d, "t.cfg"), b"a = 1\n" * (16 * 1024 * 1024 // 6 + 1))
    fails(EXIT_BAD_INPUT, "t.cfg: larger than the 16777216 bytes allowed", "encrypt", "--key", PAIR_KEY, t,
          os.path.join(d, "o.cfg"))


@case("/cfgcrypt-tool/rsa/largest-text", needs=("openssl",))
def _(d):
    priv = os.path.join(d, "priv.pem")
    openssl("genrsa", "-out", priv, "2048")
    t = write(os.path.join(d, "t.cfg"), (b"x" * 63 + b"\n") * (16 * 1024 * 1024 // 64))
    ok("encrypt", "--mode", "rsa", "--rsa-key", priv, t, os.path.join(d, "e.cfg"))
    ok("decrypt", "--rsa-key", priv, os.path.join(d, "e.cfg"), os.path.join(d, "p.cfg"))
    expect(read(os.path.join(d, "p.cfg")) == read(t))


@case("/cfgcrypt-tool/errors/not-encrypted-or-already")
def _(d):
    src = write(os.path.join(d, "src.cfg"), TEXT)
    fails(EXIT_BAD_INPUT, "src.cfg: not encrypted", "decrypt", "--key", PAIR_KEY, src, os.path.join(d, "o.cfg"))
    ok("encrypt", "--key", PAIR_KEY, src, os.path.join(d, "e.cfg"))
    fails(EXIT_BAD_INPUT, "e.cfg: not text", "encrypt", "--key", PAIR_KEY, os.path.join(d, "e.cfg"),
          os.path.join(d, "ee.cfg"))
    latin1 = write(os.path.join(d, "latin1.cfg"), b"account.1.label = caf\xe9\n")
    fails(EXIT_BAD_INPUT, "not text", "encrypt", "--key", PAIR_KEY, latin1, os.path.join(d, "o.cfg"))


@case("/cfgcrypt-tool/errors/damaged-key-file")
def _(d):
    kf = write(os.path.join(d, "k_Security.enc"), b"\0" * 16)
    src = write(os.path.join(d, "src.cfg"), TEXT)
    fails(EXIT_BAD_INPUT, "k_Security.enc: not a key file", "encrypt", "--key-file", kf, src, os.path.join(d, "o.cfg"))
    short = write(os.path.join(d, "s_Security.enc"), b"\0" * 5)
    fails(EXIT_BAD_INPUT, "5 bytes, not 16 or 32", "encrypt", "--key-file", short, src, os.path.join(d, "o.cfg"))


@case("/cfgcrypt-tool/errors/usage")
def _(d):
    src = write(os.path.join(d, "src.cfg"), TEXT)
    enc = os.path.join(d, "e.cfg")
    ok("encrypt", "--key", PAIR_KEY, src, enc)
    fails(EXIT_USAGE, "Give encrypt or decrypt", )
    fails(EXIT_USAGE, "Unknown command", "frobnicate", src, enc)
    fails(EXIT_USAGE, "Unknown option --frob", "--frob", "encrypt", src, enc)
    fails(EXIT_USAGE, "16 or 32 characters", "encrypt", "--key", "short", src, enc)
    fails(EXIT_USAGE, "not both", "encrypt", "--key", PAIR_KEY, "--key-file", "x", src, enc)
    fails(EXIT_USAGE, "Unknown mode", "encrypt", "--mode", "des", src, enc)
    fails(EXIT_USAGE, "Unknown padding", "encrypt", "--padding", "zero", src, enc)
    fails(EXIT_USAGE, "needs --rsa-key", "encrypt", "--mode", "rsa", src, enc)
    fails(EXIT_USAGE, "there is no", "decrypt", enc, os.path.join(d, "o.cfg"))
    fails(EXIT_USAGE, "needs an argument", "encrypt", src, enc, "--key")
    rc, out, _ = run("--help")
    expect(rc == 0 and b"Exit status" in out)


# ---- interoperability with OpenSSL ----

@case("/cfgcrypt-tool/openssl/ours-to-openssl", needs=("openssl",))
def _(d):
    src = write(os.path.join(d, "src.cfg"), TEXT)
    for key, cipher in ((PAIR_KEY, "-aes-128-ecb"), (RSA_AES_KEY, "-aes-256-ecb")):
        enc = os.path.join(d, "e.cfg")
        ok("encrypt", "--key", key, src, enc)
        plain = openssl("enc", "-d", cipher, "-nopad", "-K", hexkey(key), "-in", enc)
        expect(plain == space_pad(TEXT), f"{cipher}: {plain!r}")
    ok("encrypt", "--key", PAIR_KEY, "--padding", "pkcs7", src, os.path.join(d, "p7.cfg"))
    expect(openssl("enc", "-d", "-aes-128-ecb", "-K", hexkey(PAIR_KEY), "-in", os.path.join(d, "p7.cfg")) == TEXT)
    # the key file, as lib.sh of traviscross/yealink-confenc reads it
    ok("encrypt", src, os.path.join(d, "new.cfg"))
    key = openssl("enc", "-d", "-aes-128-ecb", "-nopad", "-K", hexkey("EKs35XacP6eybA25"), "-in",
                  os.path.join(d, "new_Security.enc"))
    expect(openssl("enc", "-d", "-aes-128-ecb", "-nopad", "-K", key.hex(), "-in", os.path.join(d, "new.cfg")) ==
           space_pad(TEXT))


@case("/cfgcrypt-tool/openssl/openssl-to-ours", needs=("openssl",))
def _(d):
    padded = write(os.path.join(d, "padded.cfg"), space_pad(TEXT))
    for key, cipher in ((PAIR_KEY, "-aes-128-ecb"), (RSA_AES_KEY, "-aes-256-ecb")):
        enc = write(os.path.join(d, "o.cfg"), openssl("enc", cipher, "-nopad", "-K", hexkey(key), "-in", padded))
        plain, _ = ok("decrypt", "--key", key, enc, "-")
        expect(plain == space_pad(TEXT), f"{cipher}: {plain!r}")
    # OpenSSL's default PKCS#7 padding is removed
    src = write(os.path.join(d, "src.cfg"), TEXT)
    enc = write(os.path.join(d, "p7.cfg"), openssl("enc", "-aes-128-ecb", "-K", hexkey(PAIR_KEY), "-in", src))
    plain, _ = ok("decrypt", "--key", PAIR_KEY, enc, "-")
    expect(plain == TEXT, repr(plain))
    # a key file made by OpenSSL
    kf = write(os.path.join(d, "o_Security.enc"),
               openssl("enc", "-aes-128-ecb", "-nopad", "-K", hexkey("EKs35XacP6eybA25"), stdin=PAIR_KEY.encode()))
    enc = write(os.path.join(d, "o.cfg"), openssl("enc", "-aes-128-ecb", "-nopad", "-K", hexkey(PAIR_KEY), "-in",
                                                   padded))
    plain, _ = ok("decrypt", enc, "-")
    expect(plain == space_pad(TEXT))


@case("/cfgcrypt-tool/openssl/rsa-both-ways", needs=("openssl",))
def _(d):
    priv = os.path.join(d, "priv.pem")
    openssl("genrsa", "-out", priv, "2048")
    src = write(os.path.join(d, "src.cfg"), TEXT)
    # ours -> openssl
    enc = os.path.join(d, "e.cfg")
    ok("encrypt", "--mode", "rsa", "--rsa-key", priv, src, enc)
    lines = read(enc).decode().split("\n")
    expect(lines[3].startswith("#!key_ciphertext:") and lines[4] == "#!---BEGIN CONFIG DATA---", repr(lines))
    wrapped = write(os.path.join(d, "k.bin"), base64.b64decode(lines[3].split(":", 1)[1]))
    key = openssl("pkeyutl", "-decrypt", "-inkey", priv, "-pkeyopt", "rsa_padding_mode:pkcs1", "-in", wrapped)
    expect(len(key) == 32, repr(key))
    body = write(os.path.join(d, "b.bin"), base64.b64decode(lines[5]))
    plain = openssl("enc", "-d", "-aes-256-ecb", "-nopad", "-K", key.hex(), "-in", body)
    expect(plain.rstrip(b"\0") == TEXT, repr(plain))
    # openssl -> ours
    aes = "Zq3" * 10 + "xy"
    pub = write(os.path.join(d, "pub.pem"), openssl("rsa", "-in", priv, "-pubout"))
    wrapped = openssl("pkeyutl", "-encrypt", "-pubin", "-inkey", pub, "-pkeyopt", "rsa_padding_mode:pkcs1",
                      stdin=aes.encode())
    body = openssl("enc", "-aes-256-ecb", "-nopad", "-K", hexkey(aes), stdin=TEXT + b"\0" * (-len(TEXT) % 16))
    f = write(os.path.join(d, "o.cfg"), b"#!encrypt:1.0.0.0\r\n#!key_signatue:RSA_256\r\n#!conf_encryption:AES_256\r\n"
              b"#!key_ciphertext:" + base64.b64encode(wrapped) + b"\r\n#!---BEGIN CONFIG DATA---\r\n" +
              base64.b64encode(body) + b"\r\n#!---END CONFIG DATA---\r\n")
    plain, _ = ok("decrypt", "--rsa-key", priv, f, "-")
    expect(plain == TEXT, repr(plain))


def main():
    n, failed = 0, 0
    for name, fn, needs in cases:
        n += 1
        missing = [x for x in needs if (x == "openssl" and not OPENSSL) or
                   (x == "corpus" and not os.path.isdir(PAIR))]
        if missing:
            print(f"ok {n} - {name} # SKIP no {', '.join(missing)}")
            continue
        d = tempfile.mkdtemp(prefix="deskphone-cfgcrypt-")
        try:
            fn(d)
            print(f"ok {n} - {name}")
        except Exception as e:  # noqa: BLE001 - every failure is reported the same way
            failed += 1
            print(f"not ok {n} - {name}")
            for line in f"{type(e).__name__}: {e}".splitlines():
                print(f"# {line}")
        finally:
            shutil.rmtree(d, ignore_errors=True)
        sys.stdout.flush()
    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
