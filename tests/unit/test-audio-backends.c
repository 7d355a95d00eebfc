/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hw/ audio backends and board files: the file backend writes a WAV a reader can
 * use at any time and reads WAV (mono, stereo) and raw files in a loop; wrong
 * formats are refused with a reason; the null backend; device names; boards. */
#include <stdlib.h>

#include "audio.h"
#include "board.h"
#include "tap.h"
#include "util.h"

static char dir[] = "/tmp/deskphone-audio-test-XXXXXX";

static char *path(const char *name) {
        return strjoin(dir, "/", name, NULL);
}

static void put16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
}

static void put32(uint8_t *p, uint32_t v) {
        put16(p, (uint16_t) v);
        put16(p + 2, (uint16_t) (v >> 16));
}

/* A WAV with an extra chunk before "data", as some tools write. */
static int write_wav(const char *p, unsigned rate, unsigned channels, unsigned bits, const int16_t *x, size_t frames) {
        size_t data = frames * channels * 2, size = 12 + 24 + 12 + 8 + data;
        _cleanup_(freep) uint8_t *b = calloc(1, size);
        if (!b)
                return -ENOMEM;
        memcpy(b, "RIFF", 4);
        put32(b + 4, (uint32_t) size - 8);
        memcpy(b + 8, "WAVEfmt ", 8);
        put32(b + 16, 16);
        put16(b + 20, 1);
        put16(b + 22, (uint16_t) channels);
        put32(b + 24, rate);
        put32(b + 28, rate * channels * 2);
        put16(b + 32, (uint16_t) (channels * 2));
        put16(b + 34, (uint16_t) bits);
        memcpy(b + 36, "LIST", 4);
        put32(b + 40, 3);               /* odd: padded to 4 */
        memcpy(b + 48, "data", 4);
        put32(b + 52, (uint32_t) data);
        for (size_t i = 0; i < frames * channels; i++)
                put16(b + 56 + 2 * i, (uint16_t) x[i]);
        return write_file_atomic(p, b, size, 0644);
}

static void test_names(void) {
        const char *dev;

        tap_begin("/audio/device-names");
        check(audio_ops_for("file:/tmp/x.wav", &dev) == &audio_file_ops && streq(dev, "/tmp/x.wav"));
        check(audio_ops_for("null", &dev) == &audio_null_ops);
        check(audio_ops_for("plughw:1,0", &dev) == &audio_alsa_ops && streq(dev, "plughw:1,0"));
        tap_end();
}

static void test_playback_then_capture(void) {
        _cleanup_(freep) char *p = path("out.wav");
        int16_t frame[160], back[160];
        AudioPcm *pcm;

        tap_begin("/audio/file/playback-wav-then-capture");
        check(audio_file_ops.open(p, AUDIO_PLAYBACK, 16000, 160, &pcm) == 0);
        check(!audio_file_ops.clocked(pcm));
        for (int k = 0; k < 150; k++) {
                for (int i = 0; i < 160; i++)
                        frame[i] = (int16_t) (k * 160 + i);
                check(audio_file_ops.write(pcm, frame, 160) == 0);
        }
        /* after 1 s of audio the header is up to date even before close */
        _cleanup_(freep) char *data = NULL;
        size_t size;
        check(read_full_file(p, &data, &size, 1 << 20) == 0 && size == 44 + 150 * 320);
        uint32_t riff = 0;
        memcpy(&riff, data + 40, 4);
        check(riff == 100 * 320, "data size %u in the header after 1 s", riff);
        audio_file_ops.close(pcm);

        check(audio_file_ops.open(p, AUDIO_CAPTURE, 16000, 160, &pcm) == 0);
        for (int k = 0; k < 150; k++) {
                check(audio_file_ops.read(pcm, back, 160) == 0);
                check(back[0] == (int16_t) (k * 160) && back[159] == (int16_t) (k * 160 + 159));
        }
        check(audio_file_ops.read(pcm, back, 160) == 0 && back[0] == 0 && back[1] == 1); /* loops */
        audio_file_ops.close(pcm);
        tap_end();
}

static void test_capture_formats(void) {
        _cleanup_(freep) char *stereo = path("stereo.wav"), *rate = path("8k.wav"), *raw = path("in.raw"),
                                *bits = path("8bit.wav"), *junk = path("junk.wav"), *empty = path("empty.raw");
        int16_t x[8] = { 100, 300, -100, -300, 7, 9, 0, 0 }, y[4];
        AudioPcm *pcm;

        tap_begin("/audio/file/capture-formats");
        check(write_wav(stereo, 16000, 2, 16, x, 4) == 0);
        check(audio_file_ops.open(stereo, AUDIO_CAPTURE, 16000, 160, &pcm) == 0);
        check(audio_file_ops.read(pcm, y, 4) == 0);
        check(y[0] == 200 && y[1] == -200 && y[2] == 8 && y[3] == 0, "%d %d %d %d", y[0], y[1], y[2], y[3]);
        audio_file_ops.close(pcm);

        check(write_wav(rate, 8000, 1, 16, x, 8) == 0);
        check(audio_file_ops.open(rate, AUDIO_CAPTURE, 16000, 160, &pcm) == -EINVAL);
        check(write_wav(bits, 16000, 1, 8, x, 8) == 0);
        check(audio_file_ops.open(bits, AUDIO_CAPTURE, 16000, 160, &pcm) == -EINVAL);
        check(write_file_atomic(junk, "RIFF\x10\0\0\0WAVEjunk\xff\xff\xff\x7f", 20, 0644) == 0);
        check(audio_file_ops.open(junk, AUDIO_CAPTURE, 16000, 160, &pcm) == -EBADMSG);

        check(write_file_atomic(raw, "\x01\x00\xff\xff", 4, 0644) == 0);
        check(audio_file_ops.open(raw, AUDIO_CAPTURE, 16000, 160, &pcm) == 0);
        check(audio_file_ops.read(pcm, y, 3) == 0 && y[0] == 1 && y[1] == -1 && y[2] == 1);
        audio_file_ops.close(pcm);

        check(write_file_atomic(empty, "", 0, 0644) == 0);
        check(audio_file_ops.open(empty, AUDIO_CAPTURE, 16000, 160, &pcm) == 0);
        check(audio_file_ops.read(pcm, y, 4) == 0 && y[0] == 0 && y[3] == 0);
        audio_file_ops.close(pcm);

        check(audio_file_ops.open("relative.wav", AUDIO_CAPTURE, 16000, 160, &pcm) == -EINVAL);
        check(audio_file_ops.open("/nonexistent/x.wav", AUDIO_CAPTURE, 16000, 160, &pcm) == -ENOENT);
        tap_end();
}

static void test_null(void) {
        int16_t y[4] = { 1, 2, 3, 4 };
        AudioPcm *pcm;

        tap_begin("/audio/null");
        check(audio_null_ops.open("null", AUDIO_CAPTURE, 16000, 160, &pcm) == 0);
        check(audio_null_ops.read(pcm, y, 4) == 0 && y[0] == 0 && y[3] == 0 && !audio_null_ops.clocked(pcm));
        audio_null_ops.close(pcm);
        tap_end();
}

static void test_boards(void) {
        _cleanup_(freep) char *hw = path("hw"), *b1 = path("hw/phone"), *b1cfg = path("hw/phone/board.cfg");
        Board *b;

        tap_begin("/board/desktop");
        check(board_load("desktop", &b) == 0);
        check(streq(b->name, "desktop") && b->default_route == AUDIO_ROUTE_HANDSET);
        check(b->routes[AUDIO_ROUTE_SPEAKER].present && streq(b->routes[AUDIO_ROUTE_SPEAKER].playback, "default"));
        board_free(b);
        tap_end();

        tap_begin("/board/from-file");
        check(mkdir_p(b1, 0755) == 0);
        const char *text = "#!version:1.0.0.1\naudio.handset.playback = hw:0,0\naudio.handset.capture = hw:0,1\n"
                           "audio.speaker.playback = hw:1,0\naudio.speaker.capture = hw:1,1\n"
                           "audio.headset.playback = hw:2,0\naudio.route = speaker\n";
        check(write_file_atomic(b1cfg, text, strlen(text), 0644) == 0);
        setenv("DESKPHONE_HW_DIR", hw, 1);
        check(board_load("phone", &b) == 0);
        check(b->default_route == AUDIO_ROUTE_SPEAKER && !b->routes[AUDIO_ROUTE_HEADSET].present);
        check(streq(b->routes[AUDIO_ROUTE_HANDSET].capture, "hw:0,1"));
        board_free(b);
        check(board_load("no-such-board", &b) == -ENOENT);
        check(board_load("../etc", &b) == -EINVAL);
        unsetenv("DESKPHONE_HW_DIR");
        check(audio_route_from_string("headset") == AUDIO_ROUTE_HEADSET && audio_route_from_string("car") < 0);
        tap_end();
}

int main(void) {
        if (!mkdtemp(dir))
                return EXIT_FAILURE;
        test_names();
        test_playback_then_capture();
        test_capture_formats();
        test_null();
        test_boards();
        (void) rm_rf(dir);
        return tap_finish();
}
