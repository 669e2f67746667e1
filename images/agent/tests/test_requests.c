/* boxd's frame table (requests.c), driven as the host's mux drives it, without root: which frame
 * types it takes, which need a terminal, which payload lengths it refuses, and the answers of the
 * verbs and starts that need no container (issue 12 item 4). Decoded with the CLI's codec. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "link.h"
#include "requests.h"
#include "starts.h"
#include "tap.h"

/* What one request got back: the frames' count, and the last one's type, channel, code and text. */
struct answer {
  int frames, bad;
  uint8_t type;
  uint32_t channel;
  int code;
  char text[512];
};

static void on_frame(void *ctx, const struct wire_frame *f) {
  struct answer *a = ctx;
  a->frames++;
  a->type = f->type;
  a->channel = f->channel;
  size_t skip = f->type == W_ERROR || f->type == W_RESULT ? 4 : f->type == W_READY ? 8 : 0;
  a->code = skip == 4 ? (int)get_u32(f->payload) : 0;
  size_t n = f->length - skip < sizeof a->text - 1 ? f->length - skip : sizeof a->text - 1;
  memcpy(a->text, f->payload + skip, n);
  a->text[n] = 0;
}

static void on_error(void *ctx, const char *kind UNUSED) { ((struct answer *)ctx)->bad++; }

static struct link host = {.fd = -1};

static struct answer answers(void) {
  struct answer a = {0};
  struct wire_decoder *d = wire_decoder_new();
  struct wire_handler h = {on_frame, on_error, &a};
  wire_feed(d, host.out.data, host.out.len, &h);
  wire_decoder_free(d);
  host.out.len = 0;
  return a;
}

static struct answer ask(uint8_t type, uint32_t channel, const void *payload, uint32_t length) {
  struct wire_frame f = {type, channel, payload, length};
  handle_frame(&host, &f);
  return answers();
}

#define ARGS(s) s, sizeof s /* NUL-terminated arguments, the last NUL included */

int main(void) {
  config_load();
  requests_ready(42);
  struct answer a = ask(W_HELLO, 0, NULL, 0);
  CHECK(a.frames == 1 && a.type == W_READY && !strcmp(a.text, "box 0.1 (mux v1)"), "HELLO → READY with the version");
  a = ask(0x7f, 1, NULL, 0);
  CHECK(a.type == W_ERROR && a.code == ENOTSUP && strstr(a.text, "unknown frame type 0x7f"), "an unknown type → ENOTSUP");

  /* Frames acting on a terminal, on a channel that has none. */
  a = ask(W_INPUT, 5, "ls\n", 3);
  CHECK(a.type == W_ERROR && a.code == ENOENT && strstr(a.text, "no terminal 5"), "INPUT without a terminal → ENOENT");
  a = ask(W_CREDIT, 5, "\0\0\1\0", 4);
  CHECK(a.frames == 0, "CREDIT for a terminal gone (racing its EXIT) is dropped quietly");
  a = ask(W_CREDIT, 5, "\0\0\1", 3);
  CHECK(a.type == W_ERROR && a.code == ENOENT, "a malformed CREDIT without a terminal still → ENOENT");

  /* A RUN is queued on its terminal: the frames for it are taken, wrong lengths refused. */
  a = ask(W_RUN, 3, ARGS("nosuchimage"));
  CHECK(a.frames == 0, "RUN is queued without an answer yet");
  a = ask(W_RUN, 3, ARGS("nosuchimage"));
  CHECK(a.type == W_ERROR && a.code == EBUSY && a.channel == 3, "RUN on a channel in use → EBUSY");
  a = ask(W_RUN, 0, ARGS("nosuchimage"));
  CHECK(a.type == W_ERROR && a.code == EBUSY, "RUN on channel 0 → EBUSY");
  a = ask(W_RUN, 6, "busybox", 7);
  CHECK(a.type == W_ERROR && a.code == EINVAL && strstr(a.text, "NUL-terminated"), "RUN without the final NUL → EINVAL");
  a = ask(W_RESIZE, 3, "\x50\0\x18\0", 4);
  CHECK(a.frames == 0, "RESIZE (4 bytes) before the pty exists is kept for it");
  a = ask(W_RESIZE, 3, "\x50\0\x18", 3);
  CHECK(a.type == W_ERROR && a.code == EINVAL && strstr(a.text, "malformed payload for frame type 0x12 (3 bytes)"),
        "RESIZE of 3 bytes → EINVAL malformed");
  a = ask(W_SIGNAL, 3, "\x0f\x00", 2);
  CHECK(a.type == W_ERROR && a.code == EINVAL, "SIGNAL of 2 bytes → EINVAL");
  a = ask(W_SIGNAL, 3, "\x41", 1);
  CHECK(a.type == W_ERROR && a.code == EINVAL, "SIGNAL 65 → EINVAL");
  a = ask(W_SIGNAL, 3, "\x00", 1);
  CHECK(a.type == W_ERROR && a.code == EINVAL, "SIGNAL 0 → EINVAL");
  a = ask(W_SIGNAL, 3, "\x0f", 1);
  CHECK(a.frames == 0, "SIGNAL 15 to a RUN not started: nothing to signal yet, no error");
  a = ask(W_CREDIT, 3, "\0\0\1\0", 4);
  CHECK(a.frames == 0, "CREDIT for a queued terminal is taken");
  a = ask(W_INPUT, 3, "echo hi\n", 8);
  CHECK(a.frames == 0, "INPUT before the container runs waits for its pty");

  /* The queued RUN starts: no such image, the terminal gets its ERROR and is gone. */
  start_next_queued();
  a = answers();
  CHECK(a.type == W_ERROR && a.channel == 3 && a.code == ENOENT && strstr(a.text, "Unable to find image 'nosuchimage'"),
        "the queued start fails naming the image (Docker's 125 → ENOENT): %s", a.text);
  a = ask(W_INPUT, 3, "x", 1);
  CHECK(a.type == W_ERROR && a.code == ENOENT, "its terminal is freed");

  /* REMOVE of a RUN still queued. */
  ask(W_RUN, 8, ARGS("nosuchimage"));
  a = ask(W_REMOVE, 8, NULL, 0);
  CHECK(a.type == W_ERROR && a.channel == 8 && strstr(a.text, "removed before it started"), "REMOVE of a queued RUN");
  start_next_queued();
  CHECK(answers().frames == 0, "nothing left to start");

  /* CMD: the text verbs that need no container. */
  a = ask(W_CMD, 9, ARGS("version"));
  CHECK(a.type == W_RESULT && a.code == 0 && !strcmp(a.text, "boxd: box 0.1, mux protocol v1\n"), "CMD version");
  a = ask(W_CMD, 9, ARGS("ps"));
  CHECK(a.type == W_RESULT && a.code == 0 && !strncmp(a.text, "CONTAINER ID", 12) && !strchr(a.text, '\n')[1], "CMD ps: the header only");
  a = ask(W_CMD, 9, ARGS("stop\0nosuch"));
  CHECK(a.type == W_RESULT && a.code == 1 && !strcmp(a.text, "Error: No such container: nosuch\n"), "CMD stop of no container → 1");
  a = ask(W_CMD, 9, ARGS("run\0-d\0nosuchimage"));
  CHECK(a.type == W_RESULT && a.code == 125 && strstr(a.text, "box: Unable to find image 'nosuchimage'"), "CMD run -d of no image → 125");
  a = ask(W_CMD, 9, ARGS("frobnicate"));
  CHECK(a.type == W_RESULT && a.code == 127 && strstr(a.text, "is not a box command"), "CMD of no verb → 127");
  a = ask(W_CMD, 9, "ps", 2);
  CHECK(a.type == W_ERROR && a.code == EINVAL, "CMD without the final NUL → EINVAL");

  /* EXEC */
  a = ask(W_EXEC, 10, "\0\0\0", 3);
  CHECK(a.type == W_ERROR && a.code == EINVAL && strstr(a.text, "EXEC payload"), "EXEC shorter than its target → EINVAL");
  a = ask(W_EXEC, 10, ARGS("\0\0\0\0nosuch\0sh"));
  CHECK(a.type == W_ERROR && a.code == ENOENT && strstr(a.text, "No such container: nosuch"), "EXEC in no container → ENOENT");
  a = ask(W_EXEC, 10, ARGS("\7\0\0\0sh"));
  CHECK(a.type == W_ERROR && a.code == ENOENT && strstr(a.text, "no container on terminal 7"), "EXEC on no terminal → ENOENT");

  /* STATS on channel 0 with no container terminals: nothing. */
  CHECK(ask(W_STATS, 0, NULL, 0).frames == 0, "STATS for all: none running, no reply");

  /* Bytes that are no frame: the decoder's error comes back as EPROTO. */
  struct wire_decoder *d = wire_decoder_new();
  struct wire_handler h = {handle_frame, handle_decode_error, &host};
  wire_feed(d, "garbage!garbage!garbage!", 24, &h);
  wire_decoder_free(d);
  a = answers();
  CHECK(a.frames >= 1 && a.type == W_ERROR && a.code == EPROTO && strstr(a.text, "frame decoder"), "garbage → EPROTO");

  buf_free(&host.out);
  return tap_done();
}
