/* Replies at, below and above the frame's limit (issue 11, item 4): a verb's answer of any
 * length arrives whole and in order, NULs included; an ERROR message too long for a frame says
 * it was cut. Decoded back with the same codec the CLI uses. */
#include <stdlib.h>
#include <string.h>

#include "link.h"
#include "tap.h"
#include "wire.h"

struct got {
  int frames, outputs, results, errors, bad;
  struct buf text; /* OUTPUT payloads, then the RESULT text */
  int code;
  uint32_t last_len;
};

static void on_frame(void *ctx, const struct wire_frame *f) {
  struct got *g = ctx;
  g->frames++;
  g->last_len = f->length;
  if (f->type == W_OUTPUT) {
    g->outputs++;
    buf_append(&g->text, f->payload, f->length);
  } else if (f->type == W_RESULT) {
    g->results++;
    g->code = (int)get_u32(f->payload);
    buf_append(&g->text, f->payload + 4, f->length - 4);
  } else if (f->type == W_ERROR) {
    g->errors++;
    buf_append(&g->text, f->payload + 4, f->length - 4);
  }
}

static void on_error(void *ctx, const char *kind UNUSED) { ((struct got *)ctx)->bad++; }

static struct got decode(struct link *l) {
  struct got g = {0};
  struct wire_decoder *d = wire_decoder_new();
  struct wire_handler h = {on_frame, on_error, &g};
  wire_feed(d, l->out.data, l->out.len, &h);
  wire_decoder_free(d);
  l->out.len = 0;
  return g;
}

int main(void) {
  struct link l = {.fd = -1};
  size_t sizes[] = {0, 1, WIRE_MAX_PAYLOAD - 5, WIRE_MAX_PAYLOAD - 4, WIRE_MAX_PAYLOAD - 3, WIRE_MAX_PAYLOAD,
                    WIRE_MAX_PAYLOAD + 1, 3 * WIRE_MAX_PAYLOAD + 7};
  for (size_t i = 0; i < N_ELEMENTS(sizes); i++) {
    size_t n = sizes[i];
    struct buf out = {0}, notes = {0};
    for (size_t k = 0; k < n; k++) {
      char c = (char)(k % 251); /* NULs and every other byte value */
      buf_append(&out, &c, 1);
    }
    reply_verb(&l, 7, 3, &out, &notes);
    struct got g = decode(&l);
    bool one = n <= WIRE_MAX_PAYLOAD - 4;
    CHECK(g.bad == 0 && g.results == 1 && g.code == 3 && g.text.len == n && (n == 0 || !memcmp(g.text.data, out.data, n)),
          "a reply of %zu bytes arrives whole and in order (%d frames)", n, g.frames);
    CHECK(one ? g.outputs == 0 : g.outputs == (int)((n + WIRE_MAX_PAYLOAD - 1) / WIRE_MAX_PAYLOAD),
          "%zu bytes: %s", n, one ? "one RESULT" : "OUTPUT frames, then RESULT");
    buf_free(&g.text);
    buf_free(&out);
  }

  /* Notes (stderr) force the streamed form: stdout as OUTPUT, the notes as RESULT text. */
  struct buf out = {0}, notes = {0};
  buf_append(&out, "log", 3);
  buf_printf(&notes, "dropped");
  reply_verb(&l, 7, 0, &out, &notes);
  struct got g = decode(&l);
  CHECK(g.outputs == 1 && g.results == 1 && g.text.len == 10 && !memcmp(g.text.data, "logdropped", 10),
        "notes: OUTPUT with the stdout, RESULT with the notes");
  buf_free(&g.text);
  buf_free(&out);
  buf_free(&notes);

  /* ERROR messages quote the request: at the limit they fit, above it they say they were cut. */
  size_t lens[] = {WIRE_MAX_PAYLOAD - 4, WIRE_MAX_PAYLOAD - 3, 200000};
  for (size_t i = 0; i < N_ELEMENTS(lens); i++) {
    char *msg = malloc(lens[i] + 1);
    memset(msg, 'x', lens[i]);
    msg[lens[i]] = 0;
    send_error(&l, 9, 22, "%s", msg);
    g = decode(&l);
    bool fits = lens[i] <= WIRE_MAX_PAYLOAD - 4;
    buf_append(&g.text, "", 1);
    CHECK(g.bad == 0 && g.errors == 1 && g.last_len <= WIRE_MAX_PAYLOAD &&
              (fits ? g.text.len - 1 == lens[i] : strstr(g.text.data, "(message cut at the frame limit)") != NULL),
          "an ERROR message of %zu bytes: %s", lens[i], fits ? "whole" : "cut, and says so");
    buf_free(&g.text);
    free(msg);
  }
  buf_free(&l.out);
  return tap_done();
}
