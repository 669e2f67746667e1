/* boxd's frame adapter: round trips, pieces, and resynchronising after garbage. */
#include <stdlib.h>

#include "tap.h"
#include "wire.h"

struct seen {
  int frames, errors;
  struct wire_frame last;
  uint8_t payload[64];
  char kinds[256];
};

static void on_frame(void *ctx, const struct wire_frame *f) {
  struct seen *s = ctx;
  s->frames++;
  s->last = *f;
  memcpy(s->payload, f->payload, f->length < 64 ? f->length : 64);
}

static void on_error(void *ctx, const char *kind) {
  struct seen *s = ctx;
  s->errors++;
  strncat(s->kinds, kind, sizeof s->kinds - strlen(s->kinds) - 2);
  strcat(s->kinds, " ");
}

int main(void) {
  struct buf b = {0};
  wire_encode(&b, W_CMD, 7, "ps\0", 3);
  CHECK(b.len == 19 && (uint8_t)b.data[0] == 0xB0 && (uint8_t)b.data[1] == 0x58 && b.data[2] == 1 && (uint8_t)b.data[3] == W_CMD,
        "header layout");
  struct seen s = {0};
  struct wire_handler h = {on_frame, on_error, &s};
  struct wire_decoder *d = wire_decoder_new();
  for (size_t i = 0; i < b.len; i++) wire_feed(d, b.data + i, 1, &h);
  CHECK(s.frames == 1 && s.errors == 0 && s.last.channel == 7 && s.last.length == 3 && !memcmp(s.payload, "ps", 3),
        "decodes byte by byte");

  /* Garbage, a frame with a broken CRC, then a good frame: errors, and the good one survives. */
  struct buf g = {0};
  buf_append(&g, "\x01\x02\xB0", 3);
  size_t bad_at = g.len;
  wire_encode(&g, W_INPUT, 1, "abc", 3);
  g.data[bad_at + 16] ^= 1;
  wire_encode(&g, W_HELLO, 0, NULL, 0);
  memset(&s, 0, sizeof s);
  wire_feed(d, g.data, g.len, &h);
  CHECK(s.frames == 1 && s.last.type == W_HELLO, "finds the valid frame after garbage (%d frames)", s.frames);
  CHECK(s.errors >= 2 && strstr(s.kinds, "bad-magic") && strstr(s.kinds, "bad-crc"), "reports the errors: %s", s.kinds);

  struct buf big = {0};
  uint8_t hdr[16] = {0xB0, 0x58, 1, W_INPUT, 1, 0, 0, 0};
  put_u32(hdr + 8, WIRE_MAX_PAYLOAD + 1);
  buf_append(&big, hdr, 16);
  wire_encode(&big, W_HELLO, 0, NULL, 0);
  memset(&s, 0, sizeof s);
  wire_feed(d, big.data, big.len, &h);
  CHECK(strstr(s.kinds, "too-long") && s.frames == 1, "too-long is reported and skipped");
  wire_decoder_free(d);
  buf_free(&b);
  buf_free(&g);
  buf_free(&big);
  return tap_done();
}
