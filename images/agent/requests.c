#define _GNU_SOURCE
#include "requests.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "cgroup.h"
#include "host_exec.h"
#include "loads.h"
#include "registry.h"
#include "starts.h"
#include "terminal.h"
#include "verbs.h"

#define BOX_VERSION "box 0.1 (mux v1)"
#define MAX_INPUT_BACKLOG (1 << 20) /* a terminal's input the pty has not taken yet */

static uint64_t ready_since;

void requests_ready(uint64_t ready_ns) { ready_since = ready_ns; }

/* A handler: 0 when the frame was handled (errors it found sent), -EINVAL when its payload is
 * malformed (the caller says so). t is the frame's terminal on this link, or NULL. */
typedef int frame_handler(struct link *l, const struct wire_frame *f, struct term *t, uint64_t received);

static int handle_hello(struct link *l, const struct wire_frame *f UNUSED, struct term *t UNUSED, uint64_t received UNUSED) {
  uint8_t p[8 + sizeof BOX_VERSION - 1];
  put_u64(p, ready_since);
  memcpy(p + 8, BOX_VERSION, sizeof BOX_VERSION - 1);
  send_frame(l, W_READY, 0, p, sizeof p);
  return 0;
}

/* RUN: queued on a new terminal; the loop starts it in steps, one start at a time
 * (may_begin_start), serving every terminal in between, so requests that come together never
 * hold back each other's output. */
static int handle_run(struct link *l, const struct wire_frame *f, struct term *t, uint64_t received) {
  char err[1024] = "";
  if (f->channel == 0 || t) {
    send_error(l, f->channel, EBUSY, "channel %u is 0 or already in use", f->channel);
    return 0;
  }
  char **argv;
  int argc;
  if (split_args((const char *)f->payload, f->length, WIRE_MAX_PAYLOAD, &argv, &argc) < 0) {
    send_error(l, f->channel, EINVAL, "RUN payload must be NUL-terminated arguments");
    return 0;
  }
  struct run_opts o;
  if (parse_run(argc, argv, &o, err, sizeof err) < 0) {
    send_error(l, f->channel, EINVAL, "%s", err);
  } else if (!(t = term_add(l, f->channel, -1, 0, NULL, false))) {
    send_error(l, f->channel, EMFILE, "too many terminals (%d)", MAX_TERMS);
    run_opts_free(&o);
  } else {
    /* An image `box build`/`box load` just added is known before the start is queued (a stat of
     * index.json when nothing changed): else the queue would take its layers as ready and the
     * start would unpack them in the loop. */
    registry_refresh_images();
    t->queued = xcalloc(1, sizeof *t->queued);
    *t->queued = o;
    t->received = received;
  }
  free_args(argv);
  return 0;
}

/* EXEC: u32 target terminal (its container), or 0 and `[OPTIONS] CONTAINER` before the command. */
static int handle_exec(struct link *l, const struct wire_frame *f, struct term *t, uint64_t received UNUSED) {
  char err[1024] = "";
  if (f->channel == 0 || t) {
    send_error(l, f->channel, EBUSY, "channel %u is 0 or already in use", f->channel);
    return 0;
  }
  char **argv = NULL;
  int argc = 0;
  if (f->length < 5 || split_args((const char *)f->payload + 4, f->length - 4, WIRE_MAX_PAYLOAD, &argv, &argc) < 0) {
    send_error(l, f->channel, EINVAL, "EXEC payload: u32 target terminal, then NUL-terminated arguments");
    return 0;
  }
  uint32_t target = get_u32(f->payload);
  struct container *c = NULL;
  bool tty = true;
  int first = 0;
  if (target) {
    struct term *on = term_find(l, target);
    c = on ? on->c : NULL;
    if (!c) {
      send_error(l, f->channel, ENOENT, "no container on terminal %u", target);
      goto out;
    }
  } else {
    /* From the CLI: [OPTIONS] CONTAINER CMD…, the options parsed as the CLI parses them. */
    struct verb_args a;
    if (parse_verb("exec", argc, argv, &a, err, sizeof err) < 0) {
      send_error(l, f->channel, EINVAL, "%s", err);
      goto out;
    }
    tty = flag_on(&a, O_TTY);
    /* The operands point into argv: the first is the container, the command follows it. */
    first = argc;
    for (int i = 0; a.noperands && i < argc; i++)
      if (argv[i] == a.operands[0]) first = i;
    verb_args_free(&a);
    if (first >= argc || !(c = container_find(argv[first]))) {
      send_error(l, f->channel, ENOENT, "No such container: %s", first < argc ? argv[first] : "(none)");
      goto out;
    }
    first++;
  }
  if (first >= argc) {
    send_error(l, f->channel, EINVAL, "exec needs a command");
    goto out;
  }
  int master;
  pid_t pid;
  int rc = container_exec(c, argv + first, tty, &master, &pid, err, sizeof err);
  if (rc < 0) {
    send_error(l, f->channel, start_exit_code(rc) == 125 ? EINVAL : start_exit_code(rc), "%s", err);
    goto out;
  }
  if (!term_add(l, f->channel, master, pid, c, true)) {
    close(master);
    kill(pid, SIGKILL);
    send_error(l, f->channel, EMFILE, "too many terminals");
    goto out;
  }
  uint64_t t0 = now_ns();
  uint8_t p[8 + 8];
  put_u32(p, (uint32_t)pid);
  put_u32(p + 4, 1);
  put_u64(p + 8, t0);
  send_frame(l, W_STARTED, f->channel, p, sizeof p);
out:
  free_args(argv);
  return 0;
}

/* CMD: a text verb, answered with RESULT (answer_verb). */
static int handle_cmd(struct link *l, const struct wire_frame *f, struct term *t UNUSED, uint64_t received UNUSED) {
  char **argv;
  int argc;
  if (split_args((const char *)f->payload, f->length, WIRE_MAX_PAYLOAD, &argv, &argc) < 0) {
    send_error(l, f->channel, EINVAL, "CMD payload must be NUL-terminated arguments");
    return 0;
  }
  struct buf out = {0}, notes = {0};
  int code = answer_verb(l, f->channel, argc, argv, &out, &notes);
  if (code >= 0) reply_verb(l, f->channel, code, &out, &notes);
  buf_free(&out);
  buf_free(&notes);
  free_args(argv);
  return 0;
}

static void send_stats(struct link *l, uint32_t channel, struct container *c) {
  struct cgroup_stats st;
  cgroup_read_stats(c->name, &st);
  uint8_t p[8 + 8 + 4 + 4];
  put_u64(p, st.memory_current);
  put_u64(p + 8, st.cpu_usage_usec);
  put_u32(p + 16, st.pids_current);
  put_u32(p + 20, c->state == STATE_RUNNING ? (uint32_t)c->pid : 0);
  send_frame(l, W_STATS_REPLY, channel, p, sizeof p);
}

static void no_terminal(struct link *l, const struct wire_frame *f) {
  send_error(l, f->channel, ENOENT, "no terminal %u (frame type 0x%02x)", f->channel, f->type);
}

/* STATS: on channel 0, one STATS_REPLY per container terminal of this link; else that terminal's. */
static int handle_stats(struct link *l, const struct wire_frame *f, struct term *t, uint64_t received UNUSED) {
  if (f->channel == 0) {
    struct term *each;
    for (int at = 0; (each = term_next(&at));)
      if (each->link == l && !each->is_exec && each->c) send_stats(l, each->channel, each->c);
    return 0;
  }
  if (!t) {
    no_terminal(l, f);
    return 0;
  }
  if (!t->c) return -EINVAL;
  send_stats(l, f->channel, t->c);
  return 0;
}

static int handle_input(struct link *l, const struct wire_frame *f, struct term *t, uint64_t received UNUSED) {
  if (t->in.len + f->length > MAX_INPUT_BACKLOG) {
    send_error(l, f->channel, ENOBUFS, "terminal %u input backlog over 1 MiB, input dropped", f->channel);
    return 0;
  }
  buf_append(&t->in, f->payload, f->length);
  term_flush_input(t);
  return 0;
}

/* RESIZE: u16 columns, u16 rows. */
static int handle_resize(struct link *l UNUSED, const struct wire_frame *f, struct term *t, uint64_t received UNUSED) {
  struct winsize ws = {.ws_col = f->payload[0] | f->payload[1] << 8, .ws_row = f->payload[2] | f->payload[3] << 8};
  if (t->master >= 0) ioctl(t->master, TIOCSWINSZ, &ws);
  else t->size = (struct winsize_req){ws.ws_col, ws.ws_row, true}; /* applied once the pty exists */
  return 0;
}

/* SIGNAL: u8 signal number, 1 to 64. */
static int handle_signal(struct link *l UNUSED, const struct wire_frame *f, struct term *t, uint64_t received UNUSED) {
  if (f->payload[0] == 0 || f->payload[0] >= 65) return -EINVAL;
  if (!t->exited && t->pid > 0) kill(t->pid, f->payload[0]);
  return 0;
}

/* REMOVE: whatever the terminal runs goes, at whichever stage it is. */
static int handle_remove(struct link *l UNUSED, const struct wire_frame *f UNUSED, struct term *t, uint64_t received UNUSED) {
  if (t->queued) {
    term_start_failed(t, 125, "removed before it started");
  } else if (t->c && t->c->state == STATE_CREATED) {
    container_remove(t->c); /* aborts the start; the terminal gets its ERROR */
  } else if (!t->c) {
    return 0; /* exited and its container already removed: only its last output is left */
  } else if (t->is_exec) {
    if (!t->exited) kill(t->pid, SIGKILL);
  } else if (t->c->state == STATE_RUNNING) {
    container_stop(t->c, 0, NULL, 0, true);
  } else {
    container_remove(t->c);
  }
  return 0;
}

/* CREDIT: u32 more bytes the host can take on this channel. */
static int handle_credit(struct link *l UNUSED, const struct wire_frame *f, struct term *t, uint64_t received UNUSED) {
  uint64_t credit = (uint64_t)t->credit + get_u32(f->payload);
  t->credit = credit > UINT32_MAX ? UINT32_MAX : (uint32_t)credit;
  if (t->exited) term_finish(t, t->status); /* the rest of its output, then EXIT */
  return 0;
}

/* HOST_EXEC: argv run in the host itself (host_exec.c), for a lesson's check; its output and exit
 * come back as an exec terminal's do (OUTPUT…, EXIT), on a pipe instead of a pty. */
static int handle_host_exec(struct link *l, const struct wire_frame *f, struct term *t UNUSED, uint64_t received UNUSED) {
  char err[1024] = "", **argv = NULL;
  int argc = 0, out;
  pid_t pid;
  if (f->channel == 0 || term_find(l, f->channel)) {
    send_error(l, f->channel, EBUSY, "channel %u is 0 or already in use", f->channel);
  } else if (split_args((const char *)f->payload, f->length, WIRE_MAX_PAYLOAD, &argv, &argc) < 0 || argc < 1) {
    send_error(l, f->channel, EINVAL, "HOST_EXEC payload: NUL-terminated arguments, at least one");
  } else if (host_exec(argv, &out, &pid, err, sizeof err) < 0) {
    send_error(l, f->channel, EINVAL, "%s", err);
  } else if (!term_add(l, f->channel, out, pid, NULL, true)) {
    close(out);
    kill(pid, SIGKILL);
    send_error(l, f->channel, EMFILE, "too many terminals");
  } else {
    uint8_t p[8 + 8];
    put_u32(p, (uint32_t)pid);
    put_u32(p + 4, 1);
    put_u64(p + 8, now_ns());
    send_frame(l, W_STARTED, f->channel, p, sizeof p);
  }
  free_args(argv);
  return 0;
}

/* LOAD, LOAD_DATA, LOAD_ABORT: a streamed `box load` (loads.c answers each itself). */
static int handle_load(struct link *l, const struct wire_frame *f, struct term *t UNUSED, uint64_t received UNUSED) {
  load_begin(l, f);
  return 0;
}

static int handle_load_data(struct link *l, const struct wire_frame *f, struct term *t UNUSED, uint64_t received UNUSED) {
  load_data(l, f);
  return 0;
}

static int handle_load_abort(struct link *l, const struct wire_frame *f, struct term *t UNUSED, uint64_t received UNUSED) {
  load_abort(l, f);
  return 0;
}

#define ANY_LENGTH 0, WIRE_MAX_PAYLOAD

/* The frames boxd takes (PROTOCOL.md). A frame for a terminal this link does not have gets
 * ENOENT, a payload of the wrong length EINVAL, an unknown type ENOTSUP. */
static const struct frame_rule {
  uint8_t type;
  bool needs_terminal; /* acts on the terminal of its channel on this link */
  bool late_ok;        /* may race its terminal's EXIT: dropped quietly once it is gone */
  uint32_t min_length, max_length;
  frame_handler *handle;
} frame_rules[] = {
    {W_HELLO, false, false, ANY_LENGTH, handle_hello},
    {W_RUN, false, false, ANY_LENGTH, handle_run},
    {W_EXEC, false, false, ANY_LENGTH, handle_exec},
    {W_HOST_EXEC, false, false, ANY_LENGTH, handle_host_exec},
    {W_CMD, false, false, ANY_LENGTH, handle_cmd},
    {W_STATS, false, false, ANY_LENGTH, handle_stats},
    {W_INPUT, true, false, ANY_LENGTH, handle_input},
    {W_RESIZE, true, false, 4, 4, handle_resize},
    {W_SIGNAL, true, false, 1, 1, handle_signal},
    {W_REMOVE, true, false, ANY_LENGTH, handle_remove},
    {W_CREDIT, true, true, 4, 4, handle_credit},
    {W_LOAD, false, false, ANY_LENGTH, handle_load},
    {W_LOAD_DATA, false, false, ANY_LENGTH, handle_load_data},
    {W_LOAD_ABORT, false, false, 0, 0, handle_load_abort},
};

void handle_frame(void *ctx, const struct wire_frame *f) {
  struct link *l = ctx;
  uint64_t received = now_ns();
  const struct frame_rule *rule = NULL;
  for (size_t i = 0; i < N_ELEMENTS(frame_rules) && !rule; i++)
    if (frame_rules[i].type == f->type) rule = &frame_rules[i];
  if (!rule) {
    send_error(l, f->channel, ENOTSUP, "unknown frame type 0x%02x", f->type);
    return;
  }
  bool length_ok = f->length >= rule->min_length && f->length <= rule->max_length;
  struct term *t = f->channel ? term_find(l, f->channel) : NULL;
  if (rule->needs_terminal && !t) {
    if (!(rule->late_ok && length_ok)) no_terminal(l, f);
    return;
  }
  if (!length_ok || rule->handle(l, f, t, received) < 0)
    send_error(l, f->channel, EINVAL, "malformed payload for frame type 0x%02x (%u bytes)", f->type, f->length);
}

void handle_decode_error(void *ctx, const char *kind) {
  struct link *l = ctx;
  send_error(l, 0, EPROTO, "frame decoder: %s", kind);
}
