#define _GNU_SOURCE
#include "link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void send_frame(struct link *l, uint8_t type, uint32_t channel, const void *payload, size_t len) {
  if (!l || l->closing) return;
  wire_encode(&l->out, type, channel, payload, len);
}

void send_error(struct link *l, uint32_t channel, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg;
  if (vasprintf(&msg, fmt, ap) < 0) abort();
  va_end(ap);
  size_t n = strlen(msg);
  /* Messages quote what the request said (a flag, a name): one longer than a frame says so. */
  static const char cut[] = "… (message cut at the frame limit)";
  if (n > WIRE_MAX_PAYLOAD - 4) {
    n = WIRE_MAX_PAYLOAD - 4 - (sizeof cut - 1);
    memcpy(msg + n, cut, sizeof cut - 1);
    n += sizeof cut - 1;
  }
  uint8_t *p = xcalloc(1, 4 + n);
  put_u32(p, (uint32_t)code);
  memcpy(p + 4, msg, n);
  log_msg("error on channel %u: %.200s", channel, msg);
  send_frame(l, W_ERROR, channel, p, 4 + n);
  free(p);
  free(msg);
}

void reply_result(struct link *link, uint32_t channel, int code, const void *text, size_t n) {
  uint8_t *p = xcalloc(1, 4 + n);
  put_u32(p, (uint32_t)code);
  if (n) memcpy(p + 4, text, n); /* an empty buf's data is NULL, which memcpy may not be given */
  send_frame(link, W_RESULT, channel, p, 4 + n);
  free(p);
}

void reply_verb(struct link *link, uint32_t channel, int code, const struct buf *out, const struct buf *notes) {
  if (!notes->len && out->len <= WIRE_MAX_PAYLOAD - 4) {
    reply_result(link, channel, code, out->data, out->len);
    return;
  }
  for (size_t at = 0; at < out->len; at += WIRE_MAX_PAYLOAD) {
    size_t n = out->len - at < WIRE_MAX_PAYLOAD ? out->len - at : WIRE_MAX_PAYLOAD;
    send_frame(link, W_OUTPUT, channel, out->data + at, n);
  }
  for (size_t at = 0;;) { /* notes longer than a frame: the last frame is the RESULT */
    size_t n = notes->len - at;
    if (n <= WIRE_MAX_PAYLOAD - 4) {
      reply_result(link, channel, code, notes->data + at, n);
      return;
    }
    send_frame(link, W_OUTPUT, channel, notes->data + at, WIRE_MAX_PAYLOAD);
    at += WIRE_MAX_PAYLOAD;
  }
}
