/* Streamed loads (PROTOCOL.md, LOAD): an OCI archive sent over the mux in LOAD_DATA frames, fed to a
 * child that runs `box load` on it (archive_load), acknowledged with LOAD_ACK as the child takes the
 * bytes (the host's window and progress), answered with RESULT as `box load` would exit and print,
 * or ERROR when the stream itself went wrong (a frame out of order, too many bytes, LOAD_ABORT).
 * Nothing runs long in boxd's loop: the child checks digests and writes the store. loads.c owns
 * the table; the loop polls its pipes (loads_pollfds, loads_serve) and hands it its children. */
#pragma once
#include <poll.h>
#include <stdbool.h>
#include <sys/types.h>

#include "link.h"
#include "wire.h"

/* Loads at once, over all links. */
#define MAX_LOADS 4

/* The frames (requests.c's table routes them here); each answers with ERROR itself. LOAD_DATA
 * and LOAD_ABORT for a channel with no load are dropped quietly: the load ended, its answer is
 * sent or on its way, and the host may have had bytes in flight. */
void load_begin(struct link *l, const struct wire_frame *f);
void load_data(struct link *l, const struct wire_frame *f);
void load_abort(struct link *l, const struct wire_frame *f);

/* Add the pipes of every load to pfd (at most 2 * MAX_LOADS entries); returns how many. */
int loads_pollfds(struct pollfd *pfd);
/* After poll: feed the children and read what they print, for the n entries loads_pollfds gave. */
void loads_serve(const struct pollfd *pfd, int n);
/* A child was reaped: true if it was a load's (its answer goes out once its output is read). */
bool load_reaped(pid_t pid, int status);
/* A link closed: its loads are aborted (their children clean up), nothing is answered. */
void loads_forget_link(const struct link *l);
/* Loads under way (tests). */
int loads_active(void);
