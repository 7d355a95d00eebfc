/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * deskphone-cfgcrypt: encrypt and decrypt configuration files the way Yealink's
 * Configuration Encryption Tool does (legacy AES and RSA mode), so that an
 * administrator can prepare files for deskphone and Yealink phones alike.
 */

#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "cfgcrypt.h"
#include "util.h"

#define EUSAGE EDOM
#define MODE_PLAIN_OUT 0600     /* decrypted files hold passwords */
#define MODE_KEY_FILE 0600      /* a key file is as good as the key */
#define MODE_ENCRYPTED_OUT 0644 /* meant for a provisioning server */

enum {
        EXIT_STATUS_OK = 0,
        EXIT_STATUS_FAILED = 1,
        EXIT_STATUS_USAGE = 2,
        EXIT_STATUS_WRONG_KEY = 3,
        EXIT_STATUS_BAD_INPUT = 4,
};

typedef enum Verb {
        VERB_ENCRYPT,
        VERB_DECRYPT,
} Verb;

typedef struct Args {
        Verb verb;
        int mode; /* CfgcryptFormat, or -1: default (encrypt) or detect (decrypt) */
        const char *key;
        const char *key_file;
        const char *rsa_key;
        int padding; /* CfgcryptPadding, or -1: Yealink's for the mode */
        bool show_key;
        const char *in;
        const char *out;
} Args;

_printf_(2, 3) static int tool_error(int r, const char *format, ...) {
        va_list ap;

        fputs("deskphone-cfgcrypt: ", stderr);
        errno = r < 0 ? -r : r;
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
        return r;
}

#define usage_error(...) tool_error(-EUSAGE, __VA_ARGS__)

/* "name:line: reason" or "name: reason". */
static int crypt_error(int r, const char *name, const CfgcryptError *e) {
        if (r == -ENOMEM)
                return tool_error(r, "Out of memory");
        if (e->line > 0)
                return tool_error(r, "%s:%u: %s", name, e->line, e->reason);
        return tool_error(r, "%s: %s", name, e->reason);
}

static int exit_status(int r) {
        if (r >= 0)
                return EXIT_STATUS_OK;
        switch (-r) {
        case EUSAGE:
        case EINVAL:
        case ENOKEY:
                return EXIT_STATUS_USAGE;
        case EKEYREJECTED:
                return EXIT_STATUS_WRONG_KEY;
        case EBADMSG:
        case EFBIG:
        case EILSEQ:
        case EOPNOTSUPP:
        case EMEDIUMTYPE:
                return EXIT_STATUS_BAD_INPUT;
        default:
                return EXIT_STATUS_FAILED;
        }
}

static void help(void) {
        printf("deskphone-cfgcrypt [OPTIONS...] encrypt IN OUT\n"
               "deskphone-cfgcrypt [OPTIONS...] decrypt IN OUT\n\n"
               "Encrypt or decrypt a configuration file as Yealink's Configuration Encryption\n"
               "Tool does. IN or OUT may be - for standard input or output.\n\n"
               "Options:\n"
               "  -h --help              Show this help\n"
               "     --version           Show the version\n"
               "     --mode MODE         legacy (AES, default) or rsa; decrypt detects it\n"
               "     --key KEY           The AES key: 16 or 32 characters\n"
               "     --key-file FILE     Take the AES key from a NAME_Security.enc key file\n"
               "     --rsa-key PEM       RSA key: to decrypt, the private key; to encrypt, a\n"
               "                         public key, certificate or private key\n"
               "     --padding PAD       Encrypt: space (legacy default), nul (rsa default), pkcs7\n"
               "     --show-key          Print the AES key used on standard output\n\n"
               "Encrypting in legacy mode with neither --key nor --key-file makes a random key\n"
               "and writes it as OUT's key file, NAME_Security.enc beside OUT. Decrypting a\n"
               "legacy file with neither looks for IN's key file beside IN.\n\n"
               "Exit status: 0 success, 1 failure, 2 usage error or missing key, 3 wrong key,\n"
               "4 damaged, truncated, unencrypted or unsupported input.\n"
               "See deskphone-cfgcrypt(1).\n");
}

static int parse_mode(const char *s, int *ret) {
        if (streq(s, "legacy"))
                *ret = CFGCRYPT_FORMAT_LEGACY;
        else if (streq(s, "rsa"))
                *ret = CFGCRYPT_FORMAT_RSA;
        else
                return usage_error("Unknown mode '%s': give legacy or rsa.", s);
        return 0;
}

static int parse_padding(const char *s, int *ret) {
        CfgcryptPadding p;

        if (cfgcrypt_padding_from_string(s, &p) < 0)
                return usage_error("Unknown padding '%s': give space, nul or pkcs7.", s);
        *ret = (int) p;
        return 0;
}

static int parse_positional(Args *a, int argc, char *argv[]) {
        if (argc - optind != 3)
                return usage_error("Give encrypt or decrypt, IN and OUT. See deskphone-cfgcrypt --help.");
        if (streq(argv[optind], "encrypt"))
                a->verb = VERB_ENCRYPT;
        else if (streq(argv[optind], "decrypt"))
                a->verb = VERB_DECRYPT;
        else
                return usage_error("Unknown command '%s': give encrypt or decrypt.", argv[optind]);
        a->in = argv[optind + 1];
        a->out = argv[optind + 2];
        if (!*a->in || !*a->out)
                return usage_error("IN and OUT must not be empty.");
        if (!!a->key + !!a->key_file > 1)
                return usage_error("Give --key or --key-file, not both.");
        if (a->key && !cfgcrypt_key_is_valid(a->key))
                return usage_error("The key must be 16 or 32 characters of 0-9 A-Z a-z "
                                   "# $ %% * + , - . : = ? @ [ ] ^ _ { } ~.");
        return 1;
}

/* Returns 1 to go on, 0 when done (--help, --version), or a negative errno. */
static int parse_argv(Args *a, int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_MODE, ARG_KEY, ARG_KEY_FILE, ARG_RSA_KEY, ARG_PADDING, ARG_SHOW_KEY };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "mode", required_argument, NULL, ARG_MODE },
                { "key", required_argument, NULL, ARG_KEY },
                { "key-file", required_argument, NULL, ARG_KEY_FILE },
                { "rsa-key", required_argument, NULL, ARG_RSA_KEY },
                { "padding", required_argument, NULL, ARG_PADDING },
                { "show-key", no_argument, NULL, ARG_SHOW_KEY },
                {}
        };
        int c, r = 0;

        opterr = 0;
        while (r >= 0 && (c = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("deskphone-cfgcrypt %s\n", DESKPHONE_VERSION);
                        return 0;
                case ARG_MODE:
                        r = parse_mode(optarg, &a->mode);
                        break;
                case ARG_KEY:
                        a->key = optarg;
                        break;
                case ARG_KEY_FILE:
                        a->key_file = optarg;
                        break;
                case ARG_RSA_KEY:
                        a->rsa_key = optarg;
                        break;
                case ARG_PADDING:
                        r = parse_padding(optarg, &a->padding);
                        break;
                case ARG_SHOW_KEY:
                        a->show_key = true;
                        break;
                case ':':
                        return usage_error("Option %s needs an argument.", argv[optind - 1]);
                default:
                        if (optopt)
                                return usage_error("Unknown option -%c. See deskphone-cfgcrypt --help.", optopt);
                        return usage_error("Unknown option %s. See deskphone-cfgcrypt --help.", argv[optind - 1]);
                }
        if (r < 0)
                return r;
        return parse_positional(a, argc, argv);
}

/* Reads at most max bytes (-EFBIG beyond). */
static int read_input(const char *path, size_t max, char **ret, size_t *ret_size) {
        int r = read_full_file(streq(path, "-") ? "/dev/stdin" : path, ret, ret_size, max + 1);
        if (r == -EFBIG)
                return tool_error(r, "%s: larger than the %zu bytes allowed", path, max);
        if (r < 0)
                return tool_error(r, "%s: cannot read: %m", path);
        return 0;
}

static int write_output(const char *path, const void *data, size_t size, mode_t mode) {
        int r;

        if (streq(path, "-"))
                r = loop_write(STDOUT_FILENO, data, size);
        else
                r = write_file_atomic(path, data, size, mode);
        if (r < 0)
                return tool_error(r, "%s: cannot write: %m", path);
        return 0;
}

static int load_key_file(const char *path, char **ret) {
        _cleanup_(freep) char *data = NULL;
        CfgcryptError e = {};
        size_t size;
        int r;

        r = read_input(path, CFGCRYPT_KEY_MAX, &data, &size);
        if (r == -EFBIG)
                return -EBADMSG;
        if (r < 0)
                return r;
        r = cfgcrypt_key_file_read(data, size, ret, &e);
        if (r < 0)
                return crypt_error(r, path, &e);
        return 0;
}

static int load_rsa_key(const char *path, CfgcryptRsaKey **ret) {
        _cleanup_(erase_and_freep) char *pem = NULL;
        CfgcryptError e = {};
        size_t size;
        int r;

        r = read_input(path, 64 * 1024, &pem, &size);
        if (r < 0)
                return r;
        r = cfgcrypt_rsa_key_from_pem(pem, size, ret, &e);
        if (r < 0)
                return crypt_error(r, path, &e);
        return 0;
}

static int show_key(const Args *a, const char *key) {
        if (!a->show_key)
                return 0;
        printf("%s\n", key);
        return fflush(stdout) == 0 ? 0 : tool_error(-EIO, "Cannot write the key to standard output.");
}

/* The AES key for legacy encryption: given, from a key file, or made (then *ret_made). */
static int encrypt_key(const Args *a, char **ret, bool *ret_made) {
        int r;

        *ret_made = false;
        if (a->key) {
                *ret = strdup(a->key);
                return *ret ? 0 : -ENOMEM;
        }
        if (a->key_file)
                return load_key_file(a->key_file, ret);
        if (streq(a->out, "-"))
                return usage_error("A made key goes to OUT's key file, and standard output has none: "
                                   "give --key or --key-file.");
        r = cfgcrypt_key_generate(16, ret);
        if (r < 0)
                return tool_error(r, "Cannot make a random key: %m");
        *ret_made = true;
        return 0;
}

static int write_key_file(const char *out, const char *key) {
        _cleanup_(freep) char *name = NULL;
        _cleanup_(freep) void *data = NULL;
        size_t size;
        int r;

        r = cfgcrypt_key_file_name(out, &name);
        if (r < 0)
                return tool_error(r, "%s: cannot name its key file: %m", out);
        r = cfgcrypt_key_file_make(key, &data, &size);
        if (r < 0)
                return tool_error(r, "Cannot make the key file: %m");
        r = write_output(name, data, size, MODE_KEY_FILE);
        if (r < 0)
                return r;
        fprintf(stderr, "Wrote the key to %s.\n", name);
        return 0;
}

static int encrypt_legacy(const Args *a, const char *text, size_t size) {
        _cleanup_(erase_and_freep) char *key = NULL;
        _cleanup_(freep) void *out = NULL;
        size_t out_size;
        bool made;
        int r;

        if (a->rsa_key)
                return usage_error("--rsa-key is for --mode rsa.");
        r = encrypt_key(a, &key, &made);
        if (r < 0)
                return r;
        CfgcryptPadding padding = a->padding >= 0 ? (CfgcryptPadding) a->padding : CFGCRYPT_PADDING_SPACE;
        r = cfgcrypt_legacy_encrypt(key, padding, text, size, &out, &out_size);
        if (r < 0)
                return tool_error(r, "%s: cannot encrypt: %m", a->in);
        if (made) {
                r = write_key_file(a->out, key);
                if (r < 0)
                        return r;
        }
        r = write_output(a->out, out, out_size, MODE_ENCRYPTED_OUT);
        if (r < 0)
                return r;
        return show_key(a, key);
}

static int encrypt_rsa(const Args *a, const char *text, size_t size) {
        _cleanup_(cfgcrypt_rsa_key_freep) CfgcryptRsaKey *k = NULL;
        _cleanup_(erase_and_freep) char *key = NULL;
        _cleanup_(freep) char *out = NULL;
        size_t out_size;
        int r;

        if (!a->rsa_key)
                return usage_error("RSA mode needs --rsa-key PEM (a public key, certificate or private key).");
        if (a->key_file)
                return usage_error("--key-file is for legacy mode; RSA mode carries the key in the file.");
        r = load_rsa_key(a->rsa_key, &k);
        if (r < 0)
                return r;
        if (a->key)
                key = strdup(a->key);
        else
                r = cfgcrypt_key_generate(32, &key);
        if (r < 0 || !key)
                return tool_error(r < 0 ? r : -ENOMEM, "Cannot make a random key: %m");
        CfgcryptPadding padding = a->padding >= 0 ? (CfgcryptPadding) a->padding : CFGCRYPT_PADDING_NUL;
        r = cfgcrypt_rsa_encrypt(k, key, padding, text, size, &out, &out_size);
        if (r < 0)
                return tool_error(r, "%s: cannot encrypt with %s: %m", a->in, a->rsa_key);
        r = write_output(a->out, out, out_size, MODE_ENCRYPTED_OUT);
        if (r < 0)
                return r;
        return show_key(a, key);
}

static int verb_encrypt(const Args *a, const char *data, size_t size) {
        if (a->show_key && streq(a->out, "-"))
                return usage_error("--show-key prints on standard output, which is OUT: give a file.");
        switch (cfgcrypt_detect(data, size)) {
        case CFGCRYPT_FORMAT_PLAIN:
                break;
        case CFGCRYPT_FORMAT_RSA:
                return tool_error(-EMEDIUMTYPE, "%s: already encrypted (RSA mode)", a->in);
        case CFGCRYPT_FORMAT_LEGACY:
                return tool_error(-EMEDIUMTYPE,
                             "%s: not text (UTF-8 without control characters); already encrypted?", a->in);
        case _CFGCRYPT_FORMAT_MAX:
                abort();
        }
        if (a->mode == CFGCRYPT_FORMAT_RSA)
                return encrypt_rsa(a, data, size);
        return encrypt_legacy(a, data, size);
}

/* The AES key for a legacy file: given, from --key-file, or from IN's key file. */
static int decrypt_key(const Args *a, char **ret) {
        _cleanup_(freep) char *name = NULL;

        if (a->key) {
                *ret = strdup(a->key);
                return *ret ? 0 : -ENOMEM;
        }
        if (a->key_file)
                return load_key_file(a->key_file, ret);
        if (!streq(a->in, "-") && cfgcrypt_key_file_name(a->in, &name) >= 0 && access(name, F_OK) == 0)
                return load_key_file(name, ret);
        if (name)
                return tool_error(-ENOKEY, "%s is AES-encrypted: give --key or --key-file (there is no %s).", a->in,
                             name);
        return tool_error(-ENOKEY, "%s is AES-encrypted: give --key or --key-file.", a->in);
}

static int decrypt_legacy(const Args *a, const char *data, size_t size, char **ret, size_t *ret_size) {
        _cleanup_(erase_and_freep) char *key = NULL;
        CfgcryptError e = {};
        int r;

        if (a->rsa_key)
                return usage_error("%s is a legacy (AES) file: --rsa-key does not apply.", a->in);
        r = decrypt_key(a, &key);
        if (r < 0)
                return r;
        r = cfgcrypt_legacy_decrypt(key, data, size, ret, ret_size, &e);
        if (r < 0)
                return crypt_error(r, a->in, &e);
        return show_key(a, key);
}

static int decrypt_rsa(const Args *a, const char *data, size_t size, char **ret, size_t *ret_size) {
        _cleanup_(cfgcrypt_rsa_key_freep) CfgcryptRsaKey *k = NULL;
        _cleanup_(erase_and_freep) char *key = NULL;
        CfgcryptError e = {};
        int r;

        if (a->key || a->key_file)
                return usage_error("%s is an RSA-mode file: it carries its AES key; give --rsa-key.", a->in);
        if (!a->rsa_key)
                return tool_error(-ENOKEY, "%s is RSA-encrypted: give --rsa-key with the RSA private key.", a->in);
        r = load_rsa_key(a->rsa_key, &k);
        if (r < 0)
                return r;
        if (!cfgcrypt_rsa_key_is_private(k))
                return tool_error(-ENOKEY, "%s: a public key cannot decrypt; give the private key.", a->rsa_key);
        r = cfgcrypt_rsa_decrypt(k, data, size, ret, ret_size, &key, &e);
        if (r < 0)
                return crypt_error(r, a->in, &e);
        return show_key(a, key);
}

static int verb_decrypt(const Args *a, const char *data, size_t size) {
        _cleanup_(erase_and_freep) char *text = NULL;
        size_t text_size = 0;
        int r;

        if (a->show_key && streq(a->out, "-"))
                return usage_error("--show-key prints on standard output, which is OUT: give a file.");
        CfgcryptFormat f = cfgcrypt_detect(data, size);
        if (f == CFGCRYPT_FORMAT_PLAIN)
                return tool_error(-EMEDIUMTYPE, "%s: not encrypted (it is already plain text)", a->in);
        if (a->mode >= 0 && a->mode != (int) f)
                return tool_error(-EMEDIUMTYPE, "%s: this is a %s-mode file, not %s", a->in, cfgcrypt_format_to_string(f),
                             cfgcrypt_format_to_string((CfgcryptFormat) a->mode));
        if (f == CFGCRYPT_FORMAT_RSA)
                r = decrypt_rsa(a, data, size, &text, &text_size);
        else
                r = decrypt_legacy(a, data, size, &text, &text_size);
        if (r < 0)
                return r;
        return write_output(a->out, text, text_size, MODE_PLAIN_OUT);
}

static int run(const Args *a) {
        _cleanup_(erase_and_freep) char *data = NULL;
        size_t size;
        int r;

        r = read_input(a->in, a->verb == VERB_ENCRYPT ? CFGCRYPT_TEXT_MAX : CFGCRYPT_FILE_MAX, &data, &size);
        if (r < 0)
                return r;
        switch (a->verb) {
        case VERB_ENCRYPT:
                return verb_encrypt(a, data, size);
        case VERB_DECRYPT:
                return verb_decrypt(a, data, size);
        }
        abort();
}

int main(int argc, char *argv[]) {
        Args a = { .mode = -1, .padding = -1 };
        int r;

        r = parse_argv(&a, argc, argv);
        if (r <= 0)
                return exit_status(r);
        r = run(&a);
        return exit_status(r);
}
