/* AFL++ harness for wire.c's decoder and the payload parsers of what it decodes (load_frames.c:
 * LOAD, LOAD_DATA). The first input byte picks a piece size; the rest is fed in those pieces and,
 * separately, all at once. Aborts (a crash AFL records) if the two runs disagree, if a frame is over
 * the limit, if a decoded frame does not re-encode to a valid frame, or if a parser accepts a
 * payload and hands back something outside it (a name too long or with a control character).
 * Built by afl-cc for fuzzing, or by plain cc with sanitizers to replay a corpus: ./replay FILE... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "load_frames.h"
#include "wire.h"

struct log {
  uint32_t hash; /* FNV-1a over every frame and error, in order */
  size_t items;
};

static void mix(struct log *l, const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) l->hash = (l->hash ^ b[i]) * 16777619u;
}

/* Every decoded frame's payload also goes through the load parsers, whatever its type (boxd parses
 * by type, but a parser must be safe on any bytes). */
static void parse_load_payloads(const struct wire_frame *f) {
  char err[256] = "";
  struct load_request rq;
  if (load_parse_request(f->payload, f->length, &rq, err, sizeof err) == 0) {
    size_t n = strlen(rq.name);
    if (f->length < 8 || n > LOAD_NAME_MAX || n == 0 || rq.size != get_u64(f->payload)) abort();
    for (size_t i = 0; i < n; i++)
      if ((uint8_t)rq.name[i] < 0x20 || rq.name[i] == 0x7f) abort();
  } else if (!err[0]) {
    abort(); /* refused without saying why */
  }
  struct load_data d;
  err[0] = 0;
  if (load_parse_data(f->payload, f->length, &d, err, sizeof err) == 0) {
    if (f->length < 9 || d.bytes != f->payload + 8 || d.length != f->length - 8 || d.offset != get_u64(f->payload)) abort();
  } else if (f->length >= 9 || !err[0]) {
    abort();
  }
}

static void on_frame(void *ctx, const struct wire_frame *f) {
  struct log *l = ctx;
  if (f->length > WIRE_MAX_PAYLOAD) abort();
  parse_load_payloads(f);
  struct buf again = {0};
  wire_encode(&again, f->type, f->channel, f->payload, f->length);
  if (again.len != WIRE_HEADER + f->length || (uint8_t)again.data[0] != 0xB0) abort();
  buf_free(&again);
  mix(l, &f->type, 1);
  mix(l, &f->channel, 4);
  mix(l, &f->length, 4);
  mix(l, f->payload, f->length);
  l->items++;
}

static void on_error(void *ctx, const char *kind) {
  struct log *l = ctx;
  mix(l, kind, strlen(kind));
  l->items++;
}

static void run_one(const uint8_t *data, size_t len) {
  if (len < 1) return;
  size_t piece = 1 + data[0] % 64;
  data++, len--;
  struct log whole = {2166136261u, 0}, pieces = {2166136261u, 0};
  struct wire_handler hw = {on_frame, on_error, &whole}, hp = {on_frame, on_error, &pieces};
  struct wire_decoder *d = wire_decoder_new();
  wire_feed(d, data, len, &hw);
  wire_decoder_free(d);
  d = wire_decoder_new();
  for (size_t off = 0; off < len; off += piece) wire_feed(d, data + off, len - off < piece ? len - off : piece, &hp);
  wire_decoder_free(d);
  if (whole.hash != pieces.hash || whole.items != pieces.items) abort();
}

/* Fill wire.c's lazy CRC table first, so every run takes the same path. */
static void fuzz_setup(void) { wire_decoder_free(wire_decoder_new()); }

#include "fuzz_main.h"
