/* Terminals: a container's (or a `box exec`'s) pty bound to a channel on a link. Output is read
 * within the host's credit and goes out as OUTPUT (and to the container's log); input waits in a
 * buffer until the pty takes it; EXIT goes out once the pty is drained. terminal.c owns the table. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "container.h"
#include "link.h"
#include "options.h"

#define MAX_TERMS 256

struct term {
  struct link *link;        /* NULL once detached: output only goes to the log */
  uint32_t channel;
  int master;               /* pty master, -1 after EOF */
  pid_t pid;
  struct container *c;      /* NULL once its container was removed */
  bool is_exec;
  uint32_t credit;          /* bytes the host can take on this channel */
  bool seen_output;
  bool exited;              /* its process is gone; EXIT follows once the pty is drained */
  int status;               /* wait status, once exited */
  struct buf in;            /* input the pty could not take yet */
  /* A RUN not started yet: its options, and when it came (queued in arrival order). While its
   * container starts (c->state == STATE_CREATED) master is -1 and pid 0; input waits in `in`. */
  struct run_opts *queued;
  uint64_t received;
  uint64_t began;           /* when its start was begun (monotonic ns) */
  struct winsize_req { uint16_t cols, rows; bool set; } size; /* a RESIZE before the pty exists */
};

/* Every terminal in turn: `for (int at = 0; (t = term_next(&at));)`. */
struct term *term_next(int *cursor);
bool term_alive(const struct term *t); /* still in the table (a frame may have freed it) */
struct term *term_find(const struct link *l, uint32_t channel);
struct term *term_of_pid(pid_t pid);                    /* a terminal's process, not yet exited */
struct term *term_of_container(const struct container *c); /* its PID 1's terminal */
/* A new terminal with WIRE_INITIAL_CREDIT; NULL when MAX_TERMS are in use. */
struct term *term_add(struct link *l, uint32_t channel, int master, pid_t pid, struct container *c, bool is_exec);
void term_free(struct term *t);

enum pump { PUMP_MORE, PUMP_DRAINED, PUMP_EOF };
/* Read what the pty has, within the credit: PUMP_MORE if it may have more (or the credit
 * ran out), PUMP_DRAINED when it had nothing left, PUMP_EOF at EOF/EIO (nobody holds the slave). */
enum pump term_pump(struct term *t);
void term_flush_input(struct term *t);
/* Its process is gone (wait status): EXIT once everything it wrote is out, credit permitting.
 * t may be NULL (nothing to do). */
void term_finish(struct term *t, int status);
/* Drained: EXIT with the status, and the terminal is freed. */
void term_send_exit(struct term *t);
/* A RUN on this terminal failed before its container ran: ERROR (code 125 is sent as ENOENT),
 * and the terminal is freed. */
void term_start_failed(struct term *t, int code, const char *err);
/* A container is going away: its terminals keep draining, but without it (one still starting fails). */
void terms_forget_container(const struct container *c);
/* A link closed: its terminals go on without it (exec sessions get SIGHUP, as from a lost terminal). */
void terms_forget_link(const struct link *l);
