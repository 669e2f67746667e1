/* The C codec of the box mux (src/core/mux/PROTOCOL.md), used by boxd and the CLI; it must pass
 * the shared vectors (tests/test_vectors.c) and is fuzzed with AFL++ (fuzz/). */
#include "wire.h"

#include <stdlib.h>
#include <string.h>

static uint32_t crc_table[256];

static void crc_init(void) {
  if (crc_table[1]) return;
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    crc_table[i] = c;
  }
}

static uint32_t crc_update(uint32_t crc, const uint8_t *p, size_t n) {
  crc = ~crc;
  while (n--) crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return ~crc;
}

struct wire_decoder {
  uint8_t *buf;
  size_t len;
  int skipping; /* after an error that left no 0xB0 buffered: drop input up to the next 0xB0 */
};

struct wire_decoder *wire_decoder_new(void) {
  crc_init();
  struct wire_decoder *d = xcalloc(1, sizeof *d);
  d->buf = malloc(WIRE_HEADER + WIRE_MAX_PAYLOAD);
  if (!d->buf) abort();
  return d;
}

void wire_decoder_free(struct wire_decoder *d) {
  if (!d) return;
  free(d->buf);
  free(d);
}

void wire_feed(struct wire_decoder *d, const void *data, size_t len, const struct wire_handler *h) {
  const uint8_t *in = data;
  while (len > 0 || d->len >= WIRE_HEADER) {
    if (d->skipping) {
      const uint8_t *m = memchr(in, 0xB0, len);
      if (!m) break;
      len -= m - in;
      in = m;
      d->skipping = 0;
    }
    size_t room = WIRE_HEADER + WIRE_MAX_PAYLOAD - d->len, take = len < room ? len : room;
    memcpy(d->buf + d->len, in, take);
    d->len += take;
    in += take;
    len -= take;
    for (;;) {
      if (d->len < 4) break;
      const char *bad = NULL;
      uint32_t plen = get_u32(d->buf + 8);
      if (d->buf[0] != 0xB0 || d->buf[1] != 0x58) bad = "bad-magic";
      else if (d->buf[2] != 1) bad = "bad-version";
      else if (d->len >= 12 && plen > WIRE_MAX_PAYLOAD) bad = "too-long";
      if (!bad) {
        if (d->len < WIRE_HEADER || d->len < WIRE_HEADER + plen) break;
        uint32_t crc = crc_update(0, d->buf, 12);
        crc = crc_update(crc, d->buf + WIRE_HEADER, plen);
        if (crc != get_u32(d->buf + 12)) {
          bad = "bad-crc";
        } else {
          struct wire_frame f = {d->buf[3], get_u32(d->buf + 4), d->buf + WIRE_HEADER, plen};
          h->frame(h->ctx, &f);
          memmove(d->buf, d->buf + WIRE_HEADER + plen, d->len - WIRE_HEADER - plen);
          d->len -= WIRE_HEADER + plen;
          continue;
        }
      }
      h->error(h->ctx, bad);
      /* Drop one byte, then skip to the next possible magic. */
      size_t skip = 1;
      while (skip < d->len && d->buf[skip] != 0xB0) skip++;
      memmove(d->buf, d->buf + skip, d->len - skip);
      d->len -= skip;
      if (d->len == 0) d->skipping = 1;
    }
    if (len == 0) break;
  }
}

void wire_encode(struct buf *out, uint8_t type, uint32_t channel, const void *payload, size_t len) {
  crc_init();
  uint8_t h[WIRE_HEADER] = {0xB0, 0x58, 1, type};
  put_u32(h + 4, channel);
  put_u32(h + 8, (uint32_t)len);
  uint32_t crc = crc_update(0, h, 12);
  crc = crc_update(crc, payload, len);
  put_u32(h + 12, crc);
  buf_append(out, h, sizeof h);
  buf_append(out, payload, len);
}
