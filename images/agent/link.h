/* A link: a byte stream carrying frames (the virtio-console port, or a CLI's socket), and the
 * frames boxd sends on it. Frames are queued in `out`; the daemon's loop writes them. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"
#include "wire.h"

struct link {
  int fd;
  bool is_port;          /* the virtio-console port: never closed by boxd */
  bool closing;          /* its peer hung up: closed at the end of the loop's turn */
  uint64_t quiet_until;  /* the port hung up or failed: not polled until then (monotonic ns; no busy loop) */
  struct wire_decoder *decoder;
  struct buf out;        /* encoded frames not yet written */
};

/* Queue one frame on l (nothing if l is NULL or closing). */
void send_frame(struct link *l, uint8_t type, uint32_t channel, const void *payload, size_t len);
/* ERROR: u32 code (an errno value, or Docker's exit code for a start) and the message, cut at
 * the frame limit with a note saying so. Also logged. */
void send_error(struct link *l, uint32_t channel, int code, const char *fmt, ...) PRINTF(4, 5);
/* RESULT: u32 exit code and len bytes of text (text may be NULL when len is 0). */
void reply_result(struct link *link, uint32_t channel, int code, const void *text, size_t len);
/* A verb's answer: one RESULT with `out` when it fits and there are no notes; else `out` as
 * OUTPUT frames on the request channel, then RESULT with the notes (stderr) (PROTOCOL.md). */
void reply_verb(struct link *link, uint32_t channel, int code, const struct buf *out, const struct buf *notes);
