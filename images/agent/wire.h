/* Frames on a byte stream (PROTOCOL.md), as boxd and the CLI use them: a streaming
 * decoder that calls back per frame or error, and an encoder appending to a buffer. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum wire_type {
  W_HELLO = 0x01, W_RUN = 0x10, W_INPUT = 0x11, W_RESIZE = 0x12, W_SIGNAL = 0x13, W_REMOVE = 0x14,
  W_STATS = 0x15, W_CREDIT = 0x16, W_EXEC = 0x17, W_CMD = 0x18, W_HOST_EXEC = 0x19,
  W_LOAD = 0x1a, W_LOAD_DATA = 0x1b, W_LOAD_ABORT = 0x1c,
  W_READY = 0x80, W_OUTPUT = 0x81, W_EXIT = 0x82, W_STATS_REPLY = 0x83, W_STARTED = 0x84, W_ERROR = 0x85,
  W_FIRST_OUTPUT = 0x86, W_RESULT = 0x87, W_LOAD_ACK = 0x88,
};

#define WIRE_HEADER 16
#define WIRE_MAX_PAYLOAD 65536
#define WIRE_INITIAL_CREDIT 65536

struct wire_frame {
  uint8_t type;
  uint32_t channel;
  const uint8_t *payload;
  uint32_t length;
};

struct wire_handler {
  void (*frame)(void *ctx, const struct wire_frame *f);
  void (*error)(void *ctx, const char *kind);
  void *ctx;
};

struct wire_decoder;
struct wire_decoder *wire_decoder_new(void);
void wire_decoder_free(struct wire_decoder *d);
void wire_feed(struct wire_decoder *d, const void *data, size_t len, const struct wire_handler *h);

void wire_encode(struct buf *out, uint8_t type, uint32_t channel, const void *payload, size_t len);

static inline void put_u32(uint8_t *p, uint32_t v) {
  p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}
static inline void put_u64(uint8_t *p, uint64_t v) {
  put_u32(p, (uint32_t)v);
  put_u32(p + 4, (uint32_t)(v >> 32));
}
static inline uint32_t get_u32(const uint8_t *p) {
  return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t get_u64(const uint8_t *p) { return get_u32(p) | (uint64_t)get_u32(p + 4) << 32; }
