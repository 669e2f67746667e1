/* Starting containers. A RUN is queued on its terminal and started in steps from the daemon's
 * loop, one start at a time; `run -d` starts in one go. While idle, one set of namespaces (with
 * its veth) is prepared for the next start. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "registry.h"
#include "terminal.h"

/* `CMD run -d` on link/channel, received at `received` (monotonic ns): create and start a
 * container from o (taken over) with no terminal: its output only goes to its log. Returns the
 * exit code with the answer (the container id, or "box: error") in out: 0, or Docker's 125 (the
 * runtime), 126 or 127 (the command); or -1 when its layers are being unpacked: it starts and
 * is answered (RESULT) once they are there. The start itself is taken in one go. */
int start_detached_request(struct run_opts *o, struct link *link, uint32_t channel, uint64_t received, struct buf *out);
/* A link closed: detached starts it waits for still start, unanswered. */
void starts_forget_link(const struct link *l);

/* Whether the next queued start may begin now (none under way for less than a second); if not,
 * *wait_ms says when to look again. */
bool may_begin_start(uint64_t now, int *wait_ms);
/* Whether a queued RUN could begin (its layers are unpacked, or failing it is due): the loop
 * then wakes up at once. One still waiting for its layers is not: their children's exit is. */
bool start_waiting(void);
/* Begin the oldest queued RUN whose layers are there, if it may begin now; fail any whose layers
 * could not be unpacked. */
void start_next_queued(void);
/* A start under way on this terminal: its child's report socket is c->start.p.report_rd. */
bool start_in_progress(const struct term *t);
/* That socket was readable: take the next step; STARTED once it runs, ERROR if it failed. */
void start_stepped(struct term *t);

/* While idle: prepare namespaces for the next start (unless off, there, or failed before).
 * Returns whether it did. */
bool prepare_namespaces(void);
/* Whether prepare_namespaces still has something to do (the loop wakes up for it). */
bool prepare_namespaces_wanted(void);
/* pid was reaped: true if it was the prepared namespaces' child (then they are gone). */
bool prepared_namespaces_died(pid_t pid, int status);
