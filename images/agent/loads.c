#define _GNU_SOURCE
#include "loads.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "build.h"
#include "load_frames.h"
#include "registry.h"
#include "util.h"

#define LOAD_ACK_EVERY (64 * 1024) /* LOAD_ACK after this many bytes taken (and at the end) */
#define LOAD_SAID_MAX (16 * 1024)  /* what the child prints that is kept for the answer */

struct load {
  struct link *link; /* NULL once its link closed: nothing is answered */
  uint32_t channel;
  char name[LOAD_NAME_MAX + 1];
  pid_t pid;
  bool exited;
  int status;
  int to_child;      /* its stdin; -1 once every byte is in, or the stream failed */
  int from_child;    /* its stdout and stderr; -1 at EOF */
  uint64_t size;     /* announced by LOAD */
  uint64_t received; /* LOAD_DATA bytes so far, in order */
  uint64_t taken;    /* of them, written into the child's stdin (or dropped once it stopped reading) */
  uint64_t acked;    /* `taken` as the last LOAD_ACK said */
  struct buf pending; /* received, not yet taken */
  struct buf said;    /* what the child printed (at most LOAD_SAID_MAX) */
  int fail_code;      /* the stream failed (errno): ERROR with `why` instead of the child's RESULT */
  char why[512];
};

static struct load *loads[MAX_LOADS];
/* The load of each entry loads_pollfds gave, for loads_serve. */
static struct load *polled[2 * MAX_LOADS];

static struct load *load_find(const struct link *l, uint32_t channel) {
  for (int i = 0; i < MAX_LOADS; i++)
    if (loads[i] && loads[i]->link == l && loads[i]->channel == channel) return loads[i];
  return NULL;
}

static bool load_alive(const struct load *ld) {
  for (int i = 0; i < MAX_LOADS; i++)
    if (ld && loads[i] == ld) return true;
  return false;
}

int loads_active(void) {
  int n = 0;
  for (int i = 0; i < MAX_LOADS; i++) n += !!loads[i];
  return n;
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void load_free(struct load *ld) {
  for (int i = 0; i < MAX_LOADS; i++)
    if (loads[i] == ld) loads[i] = NULL;
  close_fd(&ld->to_child);
  close_fd(&ld->from_child);
  buf_free(&ld->pending);
  buf_free(&ld->said);
  free(ld);
}

/* The child: `box load` reading the archive from stdin, printing on the pipe. It closes every
 * other descriptor (it does not exec), or another load's child would hold that load's stdin open
 * and it would never see its end. */
static pid_t spawn(const char *name, int *to_child, int *from_child, char *err, size_t errlen) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) < 0) return set_err(err, errlen, errno, "pipe");
  if (pipe2(out, O_CLOEXEC) < 0) {
    int e = errno;
    close(in[0]);
    close(in[1]);
    return set_err(err, errlen, e, "pipe");
  }
  fflush(NULL); /* nothing buffered in boxd is printed twice */
  pid_t pid = fork();
  if (pid == 0) {
    reset_signals();
    if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(out[1], 2) < 0) _exit(126);
    close_range(3, ~0U, 0);
    _exit(archive_load(0, name, false));
  }
  int e = errno;
  close(in[0]);
  close(out[1]);
  if (pid < 0) {
    close(in[1]);
    close(out[0]);
    return set_err(err, errlen, e, "fork");
  }
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  *to_child = in[1];
  *from_child = out[0];
  return pid;
}

static void send_ack(struct load *ld) {
  uint8_t p[8];
  put_u64(p, ld->taken);
  send_frame(ld->link, W_LOAD_ACK, ld->channel, p, sizeof p);
  ld->acked = ld->taken;
}

/* Write what the child's stdin takes now of `len` bytes at `p`; returns how many it took
 * (counted as taken). A child that stopped reading (EPIPE) has its stdin closed. */
static size_t write_some(struct load *ld, const uint8_t *p, size_t len) {
  size_t done = 0;
  while (ld->to_child >= 0 && done < len) {
    ssize_t n = write(ld->to_child, p + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n < 0) {
      close_fd(&ld->to_child); /* EPIPE */
      break;
    }
    done += (size_t)n;
  }
  ld->taken += done;
  return done;
}

/* Write what is pending into the child's stdin; close it once every byte is in (its EOF ends the
 * archive); acknowledge what it took. A child that stopped reading (it found the archive bad)
 * gets no more: the bytes are dropped, its answer says why. */
static void pump_in(struct load *ld) {
  if (ld->pending.len) buf_consume(&ld->pending, write_some(ld, (const uint8_t *)ld->pending.data, ld->pending.len));
  if (ld->to_child < 0) {
    ld->taken += ld->pending.len;
    ld->pending.len = 0;
  }
  if (ld->taken == ld->size) close_fd(&ld->to_child);
  if (ld->taken - ld->acked >= LOAD_ACK_EVERY || (ld->taken == ld->size && ld->acked != ld->size)) send_ack(ld);
}

/* The stream went wrong: the child's stdin closes mid-archive, so it stops ("archive truncated"),
 * removes what it staged and exits; the answer is then ERROR with `why`. Once every byte is in,
 * the load is the child's to finish and a failure is only logged. */
static void PRINTF(3, 4) load_fail(struct load *ld, int code, const char *fmt, ...) {
  char why[sizeof ld->why];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  if (ld->fail_code || ld->received == ld->size) {
    log_msg("load on channel %u: %s (ignored: %s)", ld->channel, why, ld->fail_code ? "it failed already" : "every byte is in");
    return;
  }
  ld->fail_code = code;
  memcpy(ld->why, why, sizeof why);
  buf_free(&ld->pending);
  close_fd(&ld->to_child);
}

/* The child exited and everything it printed is read: answer. Its exit and words are the answer
 * (RESULT, as `box load` exits and prints), unless the stream failed first (ERROR). A child that
 * loaded everything wins over a stream that failed after the archive's end. */
static void maybe_finish(struct load *ld) {
  if (!ld->exited || ld->from_child >= 0) return;
  int code = WIFEXITED(ld->status) ? WEXITSTATUS(ld->status) : 128 + (WIFSIGNALED(ld->status) ? WTERMSIG(ld->status) : 0);
  if (code == 0) {
    registry_refresh_images();
    reply_result(ld->link, ld->channel, 0, ld->said.data, ld->said.len);
  } else if (ld->fail_code) {
    send_error(ld->link, ld->channel, ld->fail_code, "box load: %s: %s: nothing was loaded", ld->name, ld->why);
  } else {
    if (!ld->said.len) buf_printf(&ld->said, "box load: %s: the loader ended with code %d: nothing was loaded\n", ld->name, code);
    reply_result(ld->link, ld->channel, code, ld->said.data, ld->said.len);
  }
  load_free(ld);
}

static void read_output(struct load *ld) {
  char chunk[4096];
  for (;;) {
    ssize_t n = read(ld->from_child, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      close_fd(&ld->from_child);
      return;
    }
    size_t keep = ld->said.len < LOAD_SAID_MAX ? LOAD_SAID_MAX - ld->said.len : 0;
    buf_append(&ld->said, chunk, (size_t)n < keep ? (size_t)n : keep);
  }
}

void load_begin(struct link *l, const struct wire_frame *f) {
  char err[512] = "";
  struct load_request rq;
  if (f->channel == 0 || load_find(l, f->channel)) {
    send_error(l, f->channel, EBUSY, "channel %u is 0 or already in use", f->channel);
    return;
  }
  if (load_parse_request(f->payload, f->length, &rq, err, sizeof err) < 0) {
    send_error(l, f->channel, EINVAL, "%s", err);
    return;
  }
  int slot = -1;
  for (int i = 0; i < MAX_LOADS && slot < 0; i++)
    if (!loads[i]) slot = i;
  if (slot < 0) {
    send_error(l, f->channel, EMFILE, "box load: %s: %d loads under way already, try again when one is done", rq.name, MAX_LOADS);
    return;
  }
  struct load *ld = xcalloc(1, sizeof *ld);
  ld->link = l;
  ld->channel = f->channel;
  ld->size = rq.size;
  memcpy(ld->name, rq.name, sizeof ld->name);
  pid_t pid = spawn(ld->name, &ld->to_child, &ld->from_child, err, sizeof err);
  if (pid < 0) {
    send_error(l, f->channel, -pid, "box load: %s: %s", ld->name, err);
    free(ld);
    return;
  }
  ld->pid = pid;
  loads[slot] = ld;
  pump_in(ld); /* an empty archive: its end at once */
}

void load_data(struct link *l, const struct wire_frame *f) {
  char err[512] = "";
  struct load *ld = load_find(l, f->channel);
  struct load_data d;
  if (!ld || ld->fail_code) return;
  if (load_parse_data(f->payload, f->length, &d, err, sizeof err) < 0) load_fail(ld, EINVAL, "%s", err);
  else if (d.offset != ld->received)
    load_fail(ld, EPROTO, "LOAD_DATA for byte %" PRIu64 " while byte %" PRIu64 " was next (a frame lost or out of order)", d.offset, ld->received);
  else if (d.length > ld->size - ld->received)
    load_fail(ld, EPROTO, "LOAD_DATA past the %" PRIu64 " bytes LOAD announced", ld->size);
  else if (ld->received + d.length - ld->acked > LOAD_WINDOW)
    load_fail(ld, ENOBUFS, "LOAD_DATA more than %d bytes past the last LOAD_ACK", LOAD_WINDOW);
  else {
    ld->received += d.length;
    /* Straight into the child's stdin while nothing waits before these bytes: only what the pipe
     * does not take is copied aside (and moved up on every later partial write). */
    size_t off = ld->pending.len ? 0 : write_some(ld, d.bytes, d.length);
    buf_append(&ld->pending, d.bytes + off, d.length - off);
    pump_in(ld);
  }
}

void load_abort(struct link *l, const struct wire_frame *f) {
  struct load *ld = load_find(l, f->channel);
  if (ld) load_fail(ld, ECANCELED, "aborted by the host after %" PRIu64 " of %" PRIu64 " bytes", ld->received, ld->size);
}

int loads_pollfds(struct pollfd *pfd) {
  int n = 0;
  for (int i = 0; i < MAX_LOADS; i++) {
    struct load *ld = loads[i];
    if (!ld) continue;
    if (ld->to_child >= 0 && ld->pending.len) {
      pfd[n] = (struct pollfd){.fd = ld->to_child, .events = POLLOUT};
      polled[n++] = ld;
    }
    if (ld->from_child >= 0) {
      pfd[n] = (struct pollfd){.fd = ld->from_child, .events = POLLIN};
      polled[n++] = ld;
    }
  }
  return n;
}

void loads_serve(const struct pollfd *pfd, int n) {
  for (int i = 0; i < n; i++) {
    struct load *ld = polled[i];
    /* A frame handled this turn may have ended it, or its descriptor. */
    if (!load_alive(ld) || !pfd[i].revents) continue;
    if (pfd[i].fd == ld->to_child) pump_in(ld);
    else if (pfd[i].fd == ld->from_child) read_output(ld);
    maybe_finish(ld);
  }
}

bool load_reaped(pid_t pid, int status) {
  for (int i = 0; i < MAX_LOADS; i++) {
    struct load *ld = loads[i];
    if (!ld || ld->pid != pid) continue;
    ld->exited = true;
    ld->status = status;
    /* Its output may still sit in the pipe (or the loop may not poll it again): read it now. */
    if (ld->from_child >= 0) read_output(ld);
    maybe_finish(ld);
    return true;
  }
  return false;
}

void loads_forget_link(const struct link *l) {
  for (int i = 0; i < MAX_LOADS; i++) {
    struct load *ld = loads[i];
    if (!ld || ld->link != l) continue;
    load_fail(ld, ECONNRESET, "its link closed");
    ld->link = NULL;
  }
}
