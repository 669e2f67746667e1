/* Frames from a link (the host's mux or a CLI) → the requests they carry, as a table: which
 * frame types boxd takes, whether each acts on a terminal, what payload length it needs, and
 * its handler. Replies and errors go back on the same link. */
#pragma once
#include <stdint.h>

#include "wire.h"

/* boxd is ready since ready_ns (monotonic): READY, the answer to HELLO, says so. */
void requests_ready(uint64_t ready_ns);
/* A wire_handler's callbacks; ctx is the struct link the frame came on. */
void handle_frame(void *link, const struct wire_frame *f);
void handle_decode_error(void *link, const char *kind);
