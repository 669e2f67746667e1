#define _GNU_SOURCE
#include "starts.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "config.h"

static struct prepared warm; /* namespaces made while idle, for the next start */
static bool have_warm;
static bool warm_failed;     /* stop retrying until a start works again */

/* The id for the next container: the prepared namespaces' (their veth is named after it). */
static int next_id(void) { return have_warm ? warm.id : container_free_id(); }

/* The prepared namespaces, if any, for the start about to begin: taken whether it works or not. */
static struct prepared *take_warm(void) {
  struct prepared *p = have_warm ? &warm : NULL;
  have_warm = false;
  return p;
}

/* Tell the host a container runs: STARTED with its phases on its terminal's channel. */
static void announce_started(struct container *c, struct link *link, uint32_t channel) {
  warm_failed = false;
  uint8_t p[8 + 8 * PHASE_COUNT];
  put_u32(p, (uint32_t)c->pid);
  put_u32(p + 4, PHASE_COUNT);
  for (int i = 0; i < PHASE_COUNT; i++) put_u64(p + 8 + 8 * i, c->phases[i]);
  send_frame(link, W_STARTED, channel, p, sizeof p);
  char split[256];
  int at = 0;
  for (int i = 1; i < PHASE_COUNT && at < (int)sizeof split; i++)
    at += snprintf(split + at, sizeof split - at, " %s %.1f", phase_names[i], (c->phases[i] - c->phases[i - 1]) / 1e6);
  log_msg("started %s (%s) pid %d in %.1f ms:%s", c->name, c->cid, (int)c->pid,
          (c->phases[PHASE_EXEC] - c->phases[PHASE_RECEIVED]) / 1e6, split);
}

struct container *start_detached(struct run_opts *o, char *err, size_t errlen, int *exit_code) {
  *exit_code = 125;
  struct container *c = container_create(o, now_ns(), next_id(), err, errlen);
  if (!c) return NULL;
  int master = -1;
  int rc = container_start_blocking(c, take_warm(), &master, err, errlen);
  if (rc < 0) {
    *exit_code = start_exit_code(rc);
    container_free(c);
    return NULL;
  }
  if (!term_add(NULL, 0, master, c->pid, c, false)) {
    close(master);
    log_msg("%s: no terminal slot left, output is dropped", c->name);
  }
  announce_started(c, NULL, 0);
  return c;
}

bool start_in_progress(const struct term *t) {
  return t->c && t->c->state == STATE_CREATED && t->c->start.stage != START_DONE && t->c->start.p.report_rd >= 0;
}

/* One start at a time gets the (single, in the guest) CPU: the first of twelve requested together
 * reaches its prompt as fast as it would alone, the next begins as it execs, and every started
 * container's output flows meanwhile. A start still going after START_ALONE_NS (a child stuck in
 * a mount) no longer holds the queue. */
#define START_ALONE_NS (1000 * 1000000ull)
bool may_begin_start(uint64_t now, int *wait_ms) {
  *wait_ms = -1;
  struct term *t;
  for (int at = 0; (t = term_next(&at));) {
    if (!start_in_progress(t) || now - t->began >= START_ALONE_NS) continue;
    int ms = (int)((t->began + START_ALONE_NS - now) / 1000000) + 1;
    if (*wait_ms < 0 || ms < *wait_ms) *wait_ms = ms;
  }
  return *wait_ms < 0;
}

/* The oldest RUN waiting to start, if any. */
static struct term *oldest_queued(void) {
  struct term *first = NULL, *t;
  for (int at = 0; (t = term_next(&at));)
    if (t->queued && (!first || t->received < first->received)) first = t;
  return first;
}

/* Begin the start of a queued RUN: the rest happens in steps from the loop (start_stepped). */
static void begin_queued(struct term *t) {
  char err[1024] = "";
  struct container *c = container_create(t->queued, t->received, next_id(), err, sizeof err);
  run_opts_free(t->queued); /* what container_create did not take (all of it, if it failed) */
  free(t->queued);
  t->queued = NULL;
  if (!c) {
    term_start_failed(t, 125, err);
    return;
  }
  t->began = now_ns();
  int rc = container_start_begin(c, take_warm(), err, sizeof err);
  if (rc < 0) {
    container_free(c);
    term_start_failed(t, start_exit_code(rc), err);
    return;
  }
  t->c = c;
}

void start_next_queued(void) {
  int wait_ms;
  struct term *next = oldest_queued();
  if (next && may_begin_start(now_ns(), &wait_ms)) begin_queued(next);
}

void start_stepped(struct term *t) {
  char err[1024] = "";
  struct container *c = t->c;
  int master = -1;
  int rc = container_start_step(c, &master, err, sizeof err);
  if (rc == 0) return;
  if (rc < 0) {
    container_free(c);
    term_start_failed(t, start_exit_code(rc), err);
    return;
  }
  t->master = master;
  t->pid = c->pid;
  if (t->size.set) {
    struct winsize ws = {.ws_col = t->size.cols, .ws_row = t->size.rows};
    ioctl(master, TIOCSWINSZ, &ws);
  }
  announce_started(c, t->link, t->channel);
  term_flush_input(t);
}

bool prepare_namespaces_wanted(void) { return cfg.warm && !have_warm && !warm_failed; }

bool prepare_namespaces(void) {
  if (!prepare_namespaces_wanted()) return false;
  char err[512];
  uint64_t t0 = now_ns();
  if (namespaces_prepare(&warm, container_free_id(), true, err, sizeof err) < 0) {
    log_msg("preparing namespaces: %s (not retried until a start works)", err);
    warm_failed = true;
    return false;
  }
  have_warm = true;
  log_msg("namespaces ready for the next start (%.1f ms)", (now_ns() - t0) / 1e6);
  return true;
}

bool prepared_namespaces_died(pid_t pid, int status) {
  if (!have_warm || pid != warm.pid) return false;
  log_msg("the prepared namespaces died (status 0x%x)", status);
  warm.pid = 0;
  namespaces_discard(&warm);
  have_warm = false;
  return true;
}
