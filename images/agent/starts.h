/* Starting containers. A RUN is queued on its terminal and started in steps from the daemon's
 * loop, one start at a time; `run -d` starts in one go. While idle, one set of namespaces (with
 * its veth) is prepared for the next start. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "registry.h"
#include "terminal.h"

/* `run -d`: create and start a container from o (taken over) with no link: its output only goes
 * to its log. NULL on failure, err set and *exit_code Docker's: 125 (the runtime), 126 or 127
 * (the command). Blocks until it runs. */
struct container *start_detached(struct run_opts *o, char *err, size_t errlen, int *exit_code);

/* Whether the next queued start may begin now (none under way for less than a second); if not,
 * *wait_ms says when to look again. */
bool may_begin_start(uint64_t now, int *wait_ms);
/* Begin the oldest queued RUN, if it may begin now. */
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
