/* AFL++ harness for wire.c's decoder. The first input byte picks a piece size; the rest is fed in
 * those pieces and, separately, all at once. Aborts (a crash AFL records) if the two runs disagree,
 * if a frame is over the limit, or if a decoded frame does not re-encode to a valid frame.
 * Built by afl-cc for fuzzing, or by plain cc with sanitizers to replay a corpus: ./replay FILE... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wire.h"

struct log {
  uint32_t hash; /* FNV-1a over every frame and error, in order */
  size_t items;
};

static void mix(struct log *l, const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) l->hash = (l->hash ^ b[i]) * 16777619u;
}

static void on_frame(void *ctx, const struct wire_frame *f) {
  struct log *l = ctx;
  if (f->length > WIRE_MAX_PAYLOAD) abort();
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
