#define _GNU_SOURCE
#include "terminal.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

static struct term *terms[MAX_TERMS];

struct term *term_next(int *cursor) {
  for (; *cursor < MAX_TERMS; (*cursor)++)
    if (terms[*cursor]) return terms[(*cursor)++];
  return NULL;
}

bool term_alive(const struct term *t) {
  for (int i = 0; i < MAX_TERMS; i++)
    if (terms[i] == t) return true;
  return false;
}

struct term *term_find(const struct link *l, uint32_t channel) {
  for (int i = 0; i < MAX_TERMS; i++) {
    struct term *t = terms[i];
    if (t && t->link == l && t->channel == channel) return t;
  }
  return NULL;
}

struct term *term_of_pid(pid_t pid) {
  for (int i = 0; i < MAX_TERMS; i++)
    if (terms[i] && !terms[i]->exited && terms[i]->pid == pid) return terms[i];
  return NULL;
}

struct term *term_of_container(const struct container *c) {
  for (int i = 0; i < MAX_TERMS; i++)
    if (terms[i] && !terms[i]->exited && terms[i]->c == c && !terms[i]->is_exec) return terms[i];
  return NULL;
}

struct term *term_add(struct link *l, uint32_t channel, int master, pid_t pid, struct container *c, bool is_exec) {
  for (int i = 0; i < MAX_TERMS; i++) {
    if (terms[i]) continue;
    struct term *t = xcalloc(1, sizeof *t);
    *t = (struct term){.link = l, .channel = channel, .master = master, .pid = pid, .c = c, .is_exec = is_exec,
                       .credit = WIRE_INITIAL_CREDIT};
    terms[i] = t;
    return t;
  }
  return NULL;
}

void term_free(struct term *t) {
  for (int i = 0; i < MAX_TERMS; i++)
    if (terms[i] == t) terms[i] = NULL;
  if (t->queued) {
    run_opts_free(t->queued);
    free(t->queued);
  }
  if (t->master >= 0) close(t->master);
  buf_free(&t->in);
  free(t);
}

enum pump term_pump(struct term *t) {
  uint8_t chunk[4096];
  for (int rounds = 0; rounds < 4; rounds++) {
    size_t want = sizeof chunk;
    if (t->link && t->credit < want) want = t->credit;
    if (want == 0) return PUMP_MORE;
    ssize_t n = read(t->master, chunk, want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return PUMP_DRAINED;
    if (n <= 0) return PUMP_EOF;
    if (!t->seen_output) {
      t->seen_output = true;
      uint64_t when = now_ns();
      if (t->c && !t->is_exec) t->c->first_output_ns = when;
      uint8_t p[8];
      put_u64(p, when);
      send_frame(t->link, W_FIRST_OUTPUT, t->channel, p, 8);
    }
    if (t->c && !t->is_exec) log_append(t->c, chunk, n);
    if (t->link) {
      send_frame(t->link, W_OUTPUT, t->channel, chunk, n);
      t->credit -= n;
    }
  }
  return PUMP_MORE;
}

void term_flush_input(struct term *t) {
  while (t->in.len && t->master >= 0) {
    ssize_t n = write(t->master, t->in.data, t->in.len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buf_consume(&t->in, n);
  }
}

void term_send_exit(struct term *t) {
  uint8_t p[4];
  put_u32(p, (uint32_t)t->status);
  send_frame(t->link, W_EXIT, t->channel, p, 4);
  term_free(t);
}

/* EXIT goes out only after everything the process wrote: while the host's credit holds the rest
 * back, the terminal stays (`exited`) and the loop keeps pumping it. */
void term_finish(struct term *t, int status) {
  if (!t) return;
  t->exited = true;
  t->status = status;
  if (t->master >= 0) {
    enum pump r = term_pump(t);
    while (r == PUMP_MORE && (!t->link || t->credit > 0)) r = term_pump(t);
    if (r == PUMP_MORE) return; /* waiting for credit */
  }
  term_send_exit(t);
}

void term_start_failed(struct term *t, int code, const char *err) {
  send_error(t->link, t->channel, code == 125 ? ENOENT : code, "%s", err);
  if (t->queued) {
    run_opts_free(t->queued);
    free(t->queued);
    t->queued = NULL;
  }
  t->c = NULL;
  term_free(t);
}

void terms_forget_container(const struct container *c) {
  for (int i = 0; i < MAX_TERMS; i++) {
    struct term *t = terms[i];
    if (!t || t->c != c) continue;
    if (c->state == STATE_CREATED) term_start_failed(t, 125, "the container was removed while it started");
    else t->c = NULL;
  }
}

void terms_forget_link(const struct link *l) {
  for (int i = 0; i < MAX_TERMS; i++) {
    struct term *t = terms[i];
    if (!t || t->link != l) continue;
    if (t->is_exec && !t->exited) kill(t->pid, SIGHUP);
    t->link = NULL;
    if (t->exited) term_finish(t, t->status); /* nobody to wait for: the rest goes to the log */
  }
}
