#define _GNU_SOURCE
#include "daemon.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "config.h"
#include "host_exec.h"

#define BOX_VERSION "box 0.1 (mux v1)"
#define LINK_HIGH_WATER (256 * 1024) /* stop reading ptys for a link whose output is this far behind */

struct daemon D;

/* ------------------------------------------------------------------ frames out */

void send_frame(struct link *l, uint8_t type, uint32_t channel, const void *payload, size_t len) {
  if (!l || l->closing) return;
  wire_encode(&l->out, type, channel, payload, len);
}

void send_error(struct link *l, uint32_t channel, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg;
  if (vasprintf(&msg, fmt, ap) < 0) abort();
  va_end(ap);
  size_t n = strlen(msg);
  /* Messages quote what the request said (a flag, a name): one longer than a frame says so. */
  static const char cut[] = "… (message cut at the frame limit)";
  if (n > WIRE_MAX_PAYLOAD - 4) {
    n = WIRE_MAX_PAYLOAD - 4 - (sizeof cut - 1);
    memcpy(msg + n, cut, sizeof cut - 1);
    n += sizeof cut - 1;
  }
  uint8_t *p = xcalloc(1, 4 + n);
  put_u32(p, (uint32_t)code);
  memcpy(p + 4, msg, n);
  log_msg("error on channel %u: %.200s", channel, msg);
  send_frame(l, W_ERROR, channel, p, 4 + n);
  free(p);
  free(msg);
}

void reply_result(struct link *link, uint32_t channel, int code, const void *text, size_t n) {
  uint8_t *p = xcalloc(1, 4 + n);
  put_u32(p, (uint32_t)code);
  memcpy(p + 4, text, n);
  send_frame(link, W_RESULT, channel, p, 4 + n);
  free(p);
}

void reply_verb(struct link *link, uint32_t channel, int code, const struct buf *out, const struct buf *notes) {
  if (!notes->len && out->len <= WIRE_MAX_PAYLOAD - 4) {
    reply_result(link, channel, code, out->data, out->len);
    return;
  }
  for (size_t at = 0; at < out->len; at += WIRE_MAX_PAYLOAD) {
    size_t n = out->len - at < WIRE_MAX_PAYLOAD ? out->len - at : WIRE_MAX_PAYLOAD;
    send_frame(link, W_OUTPUT, channel, out->data + at, n);
  }
  for (size_t at = 0;;) { /* notes longer than a frame: the last frame is the RESULT */
    size_t n = notes->len - at;
    if (n <= WIRE_MAX_PAYLOAD - 4) {
      reply_result(link, channel, code, notes->data + at, n);
      return;
    }
    send_frame(link, W_OUTPUT, channel, notes->data + at, WIRE_MAX_PAYLOAD);
    at += WIRE_MAX_PAYLOAD;
  }
}

/* ------------------------------------------------------------------ registry */

int container_slot(const struct container *c) {
  for (int i = 0; i < MAX_CONTAINERS; i++)
    if (D.containers[i] == c) return i;
  return -1;
}

struct container *container_find(const char *key) {
  for (int i = 0; i < MAX_CONTAINERS; i++) {
    struct container *c = D.containers[i];
    if (c && !strcmp(c->name, key)) return c;
  }
  size_t n = strlen(key);
  for (int i = 0; n >= 3 && i < MAX_CONTAINERS; i++) {
    struct container *c = D.containers[i];
    if (c && !strncmp(c->cid, key, n)) return c;
  }
  return NULL;
}

static struct term *term_find(struct link *l, uint32_t channel) {
  for (int i = 0; i < MAX_TERMS; i++) {
    struct term *t = D.terms[i];
    if (t && t->link == l && t->channel == channel) return t;
  }
  return NULL;
}

static struct term *term_of_pid(pid_t pid) {
  for (int i = 0; i < MAX_TERMS; i++)
    if (D.terms[i] && !D.terms[i]->exited && D.terms[i]->pid == pid) return D.terms[i];
  return NULL;
}

static struct term *term_of_container(const struct container *c) {
  for (int i = 0; i < MAX_TERMS; i++)
    if (D.terms[i] && !D.terms[i]->exited && D.terms[i]->c == c && !D.terms[i]->is_exec) return D.terms[i];
  return NULL;
}

static struct term *term_add(struct link *l, uint32_t channel, int master, pid_t pid, struct container *c, bool is_exec) {
  for (int i = 0; i < MAX_TERMS; i++) {
    if (D.terms[i]) continue;
    struct term *t = xcalloc(1, sizeof *t);
    *t = (struct term){.link = l, .channel = channel, .master = master, .pid = pid, .c = c, .is_exec = is_exec,
                       .credit = WIRE_INITIAL_CREDIT};
    D.terms[i] = t;
    return t;
  }
  return NULL;
}

static void term_free(struct term *t) {
  for (int i = 0; i < MAX_TERMS; i++)
    if (D.terms[i] == t) D.terms[i] = NULL;
  if (t->queued) {
    run_opts_free(t->queued);
    free(t->queued);
  }
  if (t->master >= 0) close(t->master);
  buf_free(&t->in);
  free(t);
}

/* ------------------------------------------------------------------ terminal output */

enum pump { PUMP_MORE, PUMP_DRAINED, PUMP_EOF };

/* Read what the pty has, within the credit: PUMP_MORE if it may have more (or the credit
 * ran out), PUMP_DRAINED when it had nothing left, PUMP_EOF at EOF/EIO (nobody holds the slave). */
static enum pump term_pump(struct term *t) {
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

static void term_flush_input(struct term *t) {
  while (t->in.len && t->master >= 0) {
    ssize_t n = write(t->master, t->in.data, t->in.len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buf_consume(&t->in, n);
  }
}

/* ------------------------------------------------------------------ containers */

static void make_cid(char cid[13]) {
  static const char hex[] = "0123456789abcdef";
  uint8_t r[6];
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || read_all(fd, r, sizeof r) != sizeof r) {
    uint64_t t = now_ns() ^ (uint64_t)getpid() << 32;
    memcpy(r, &t, sizeof r);
  }
  if (fd >= 0) close(fd);
  for (int i = 0; i < 6; i++) {
    cid[2 * i] = hex[r[i] >> 4];
    cid[2 * i + 1] = hex[r[i] & 15];
  }
  cid[12] = 0;
}

static char **container_env(const struct container *c) {
  int n = 0;
  for (char **e = c->image->env; e && *e; e++) n++;
  char **env = xcalloc(n + 4, sizeof *env);
  int k = 0;
  bool has_path = false;
  for (char **e = c->image->env; e && *e; e++) {
    has_path |= !strncmp(*e, "PATH=", 5);
    env[k++] = xstrdup(*e);
  }
  if (!has_path) env[k++] = xstrdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  env[k++] = xasprintf("HOSTNAME=%s", c->hostname);
  env[k++] = xstrdup("TERM=xterm");
  return env;
}

static void container_free(struct container *c) {
  int slot = container_slot(c);
  if (slot >= 0) {
    D.containers[slot] = NULL;
    D.stop_deadline[slot] = 0;
    D.remove_on_exit[slot] = false;
    memset(D.pending[slot], 0, sizeof D.pending[slot]);
  }
  free(c->name);
  free(c->hostname);
  run_opts_free(&c->opts);
  free_args(c->argv);
  free_args(c->env);
  buf_free(&c->log);
  free(c);
}

/* The smallest number no container (or the prepared namespaces) holds: it names the veth
 * and picks the address, so ids come back after `rm` and stay inside 10.88/16. */
static int free_id(void) {
  for (int id = 1;; id++) {
    bool used = D.have_warm && D.warm.id == id;
    for (int i = 0; i < MAX_CONTAINERS && !used; i++) used = D.containers[i] && D.containers[i]->id == id;
    if (!used) return id;
  }
}

/* A container record for `o` (taken over), registered but not started. */
static struct container *container_new(struct run_opts *o, uint64_t received, char *err, size_t errlen, int *exit_code) {
  *exit_code = 125;
  struct image *im = image_find(&D.images, o->image);
  if (!im) {
    set_err(err, errlen, 0, "Unable to find image '%s' (images: %d in %s)", o->image, D.images.n, cfg.oci);
    return NULL;
  }
  if (o->name && container_find(o->name) && !strcmp(container_find(o->name)->name, o->name)) {
    set_err(err, errlen, 0, "Conflict. The container name \"%s\" is already in use", o->name);
    return NULL;
  }
  int slot = -1;
  for (int i = 0; i < MAX_CONTAINERS && slot < 0; i++)
    if (!D.containers[i]) slot = i;
  if (slot < 0) {
    set_err(err, errlen, 0, "too many containers (%d)", MAX_CONTAINERS);
    return NULL;
  }
  struct container *c = xcalloc(1, sizeof *c);
  c->id = D.have_warm ? D.warm.id : free_id();
  make_cid(c->cid);
  c->opts = *o;
  memset(o, 0, sizeof *o);
  c->name = c->opts.name ? xstrdup(c->opts.name) : xasprintf("%s-%d", im->name, c->id);
  for (int k = 2; !c->opts.name && container_find(c->name); k++) {
    free(c->name);
    c->name = xasprintf("%s-%d-%d", im->name, c->id, k);
  }
  c->hostname = xstrdup(c->opts.hostname ? c->opts.hostname : c->cid);
  c->image = im;
  if (c->opts.argv && c->opts.argv[0]) {
    int n = 0;
    while (c->opts.argv[n]) n++;
    c->argv = xcalloc(n + 1, sizeof *c->argv);
    for (int i = 0; i < n; i++) c->argv[i] = xstrdup(c->opts.argv[i]);
  } else {
    int n = 0;
    while (im->cmd && im->cmd[n]) n++;
    c->argv = xcalloc(n + 2, sizeof *c->argv);
    for (int i = 0; i < n; i++) c->argv[i] = xstrdup(im->cmd[i]);
    if (n == 0) c->argv[0] = xstrdup("sh");
  }
  c->env = container_env(c);
  c->created = time(NULL);
  c->phases[PHASE_RECEIVED] = received;
  D.containers[slot] = c;
  return c;
}

/* The prepared namespaces, if any, for the start about to begin: taken whether it works or not. */
static struct prepared *take_warm(void) {
  struct prepared *warm = D.have_warm ? &D.warm : NULL;
  D.have_warm = false;
  return warm;
}

/* Tell the host a container runs: STARTED with its phases on its terminal's channel. */
static void announce_started(struct container *c, struct link *link, uint32_t channel) {
  D.warm_failed = false;
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

struct container *start_container(struct run_opts *o, struct link *link, uint32_t channel, uint64_t received,
                                  char *err, size_t errlen, int *exit_code) {
  struct container *c = container_new(o, received, err, errlen, exit_code);
  if (!c) return NULL;
  int master = -1;
  int rc = container_start(c, take_warm(), &master, err, errlen);
  if (rc < 0) {
    *exit_code = start_exit_code(rc);
    container_free(c);
    return NULL;
  }
  struct term *t = term_add(link, channel, master, c->pid, c, false);
  if (!t) {
    close(master);
    log_msg("%s: no terminal slot left, output is dropped", c->name);
  }
  announce_started(c, link, channel);
  return c;
}

/* The oldest RUN waiting to start, if any. */
static struct term *next_queued(void) {
  struct term *first = NULL;
  for (int i = 0; i < MAX_TERMS; i++) {
    struct term *t = D.terms[i];
    if (t && t->queued && (!first || t->received < first->received)) first = t;
  }
  return first;
}

/* A RUN on a terminal failed before its container ran: say why, free the terminal. */
static void term_start_failed(struct term *t, int code, const char *err) {
  send_error(t->link, t->channel, code == 125 ? ENOENT : code, "%s", err);
  if (t->queued) {
    run_opts_free(t->queued);
    free(t->queued);
    t->queued = NULL;
  }
  t->c = NULL;
  term_free(t);
}

/* Begin the start of a queued RUN: the rest happens in steps from the loop (start_stepped). */
static void start_queued(struct term *t) {
  char err[1024] = "";
  int code;
  struct container *c = container_new(t->queued, t->received, err, sizeof err, &code);
  free(t->queued);
  t->queued = NULL;
  if (!c) {
    term_start_failed(t, code, err);
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

/* The child of a starting container reported: take the next step; announce it once it runs. */
static void start_stepped(struct term *t) {
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

static bool term_starting(const struct term *t) {
  return t->c && t->c->state == STATE_CREATED && t->c->start.stage != START_DONE && t->c->start.p.report_rd >= 0;
}

/* One start at a time gets the (single, in the guest) CPU: the first of twelve requested together
 * reaches its prompt as fast as it would alone, the next begins as it execs, and every started
 * container's output flows meanwhile. A start still going after START_ALONE_NS (a child stuck in
 * a mount) no longer holds the queue. Returns whether the next may begin now; if not, *wait_ms
 * says when to look again. */
#define START_ALONE_NS (1000 * 1000000ull)
static bool may_begin_start(uint64_t now, int *wait_ms) {
  *wait_ms = -1;
  for (int i = 0; i < MAX_TERMS; i++) {
    struct term *t = D.terms[i];
    if (!t || !term_starting(t) || now - t->began >= START_ALONE_NS) continue;
    int ms = (int)((t->began + START_ALONE_NS - now) / 1000000) + 1;
    if (*wait_ms < 0 || ms < *wait_ms) *wait_ms = ms;
  }
  return *wait_ms < 0;
}

/* A container is going away: its terminals keep draining, but without it. */
static void terms_forget(const struct container *c) {
  for (int i = 0; i < MAX_TERMS; i++) {
    struct term *t = D.terms[i];
    if (!t || t->c != c) continue;
    if (c->state == STATE_CREATED) term_start_failed(t, 125, "the container was removed while it started");
    else t->c = NULL;
  }
}

void remove_container(struct container *c) {
  if (c->state == STATE_CREATED) container_start_abort(c);
  terms_forget(c);
  container_cleanup(c);
  container_free(c);
}

void request_stop(struct container *c, int grace_s, struct link *link, uint32_t channel, bool remove) {
  int slot = container_slot(c);
  if (remove) D.remove_on_exit[slot] = true;
  for (int i = 0; link && i < MAX_PENDING; i++) {
    if (D.pending[slot][i].link) continue;
    D.pending[slot][i] = (struct pending_reply){link, channel, remove ? 'r' : 's'};
    break;
  }
  if (grace_s <= 0) {
    kill(c->pid, SIGKILL);
  } else {
    kill(c->pid, SIGTERM);
    uint64_t deadline = now_ns() + (uint64_t)grace_s * 1000000000u;
    if (!D.stop_deadline[slot] || deadline < D.stop_deadline[slot]) D.stop_deadline[slot] = deadline;
  }
}

/* Tell the host how the terminal's process ended, and free it. */
static void term_send_exit(struct term *t) {
  uint8_t p[4];
  put_u32(p, (uint32_t)t->status);
  send_frame(t->link, W_EXIT, t->channel, p, 4);
  term_free(t);
}

/* A terminal's process is gone. EXIT goes out only after everything it wrote: while the host's
 * credit holds the rest back, the terminal stays (`exited`) and the loop keeps pumping it. */
static void term_finish(struct term *t, int status) {
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


static void container_exited(struct container *c, int status) {
  int slot = container_slot(c);
  c->state = STATE_EXITED;
  c->status = status;
  c->finished = time(NULL);
  D.stop_deadline[slot] = 0;
  term_finish(term_of_container(c), status);
  log_msg("%s exited, status 0x%x", c->name, status);
  struct pending_reply pend[MAX_PENDING];
  memcpy(pend, D.pending[slot], sizeof pend);
  memset(D.pending[slot], 0, sizeof D.pending[slot]);
  char *name = xstrdup(c->name);
  if (D.remove_on_exit[slot]) remove_container(c);
  for (int i = 0; i < MAX_PENDING; i++) {
    if (!pend[i].link) continue;
    autofree char *text = xasprintf("%s\n", name);
    reply_result(pend[i].link, pend[i].channel, 0, text, strlen(text));
  }
  free(name);
}

static void reap_children(void) {
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    struct container *c = NULL;
    for (int i = 0; i < MAX_CONTAINERS && !c; i++)
      if (D.containers[i] && D.containers[i]->pid == pid && D.containers[i]->state == STATE_RUNNING) c = D.containers[i];
    if (c) {
      container_exited(c, status);
      continue;
    }
    if (D.have_warm && pid == D.warm.pid) {
      log_msg("the prepared namespaces died (status 0x%x)", status);
      D.warm.pid = 0;
      namespaces_discard(&D.warm);
      D.have_warm = false;
      continue;
    }
    term_finish(term_of_pid(pid), status);
  }
}

/* ------------------------------------------------------------------ requests */

static void handle_run(struct link *l, const struct wire_frame *f, uint64_t received) {
  char err[1024] = "";
  if (f->channel == 0 || term_find(l, f->channel)) {
    send_error(l, f->channel, EBUSY, "channel %u is 0 or already in use", f->channel);
    return;
  }
  char **argv;
  int argc;
  if (split_args((const char *)f->payload, f->length, WIRE_MAX_PAYLOAD, &argv, &argc) < 0) {
    send_error(l, f->channel, EINVAL, "RUN payload must be NUL-terminated arguments");
    return;
  }
  struct run_opts o;
  if (parse_run(argc, argv, &o, err, sizeof err) < 0) {
    send_error(l, f->channel, EINVAL, "%s", err);
  } else {
    /* Queued: the loop starts it in steps, one start at a time (may_begin_start), serving every
     * terminal in between, so requests that come together never hold back each other's output. */
    struct term *t = term_add(l, f->channel, -1, 0, NULL, false);
    if (!t) {
      send_error(l, f->channel, EMFILE, "too many terminals (%d)", MAX_TERMS);
      run_opts_free(&o);
    } else {
      t->queued = xcalloc(1, sizeof *t->queued);
      *t->queued = o;
      t->received = received;
    }
  }
  free_args(argv);
}

static void handle_exec(struct link *l, const struct wire_frame *f) {
  char err[1024] = "";
  if (f->channel == 0 || term_find(l, f->channel)) {
    send_error(l, f->channel, EBUSY, "channel %u is 0 or already in use", f->channel);
    return;
  }
  char **argv = NULL;
  int argc = 0;
  if (f->length < 5 || split_args((const char *)f->payload + 4, f->length - 4, WIRE_MAX_PAYLOAD, &argv, &argc) < 0) {
    send_error(l, f->channel, EINVAL, "EXEC payload: u32 target terminal, then NUL-terminated arguments");
    return;
  }
  uint32_t target = get_u32(f->payload);
  struct container *c = NULL;
  bool tty = true;
  int first = 0;
  if (target) {
    struct term *t = term_find(l, target);
    c = t ? t->c : NULL;
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
}

/* HOST_EXEC: argv run in the host itself (host_exec.c); its output and exit come back as an
 * exec terminal's do (OUTPUT…, EXIT), on a pipe instead of a pty. */
static void handle_host_exec(struct link *l, const struct wire_frame *f) {
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

static void handle_frame(void *ctx, const struct wire_frame *f) {
  struct link *l = ctx;
  uint64_t received = now_ns();
  struct term *t = f->channel ? term_find(l, f->channel) : NULL;
  switch (f->type) {
  case W_HELLO: {
    uint8_t p[8 + sizeof BOX_VERSION - 1];
    put_u64(p, D.ready_ns);
    memcpy(p + 8, BOX_VERSION, sizeof BOX_VERSION - 1);
    send_frame(l, W_READY, 0, p, sizeof p);
    return;
  }
  case W_RUN:
    handle_run(l, f, received);
    return;
  case W_EXEC:
    handle_exec(l, f);
    return;
  case W_HOST_EXEC:
    handle_host_exec(l, f);
    return;
  case W_CMD: {
    char **argv;
    int argc;
    if (split_args((const char *)f->payload, f->length, WIRE_MAX_PAYLOAD, &argv, &argc) < 0) {
      send_error(l, f->channel, EINVAL, "CMD payload must be NUL-terminated arguments");
      return;
    }
    struct buf out = {0}, notes = {0};
    int code = verb_run(l, f->channel, argc, argv, &out, &notes);
    if (code >= 0) reply_verb(l, f->channel, code, &out, &notes);
    buf_free(&out);
    buf_free(&notes);
    free_args(argv);
    return;
  }
  case W_STATS:
    if (f->channel == 0) {
      for (int i = 0; i < MAX_TERMS; i++)
        if (D.terms[i] && D.terms[i]->link == l && !D.terms[i]->is_exec && D.terms[i]->c)
          send_stats(l, D.terms[i]->channel, D.terms[i]->c);
      return;
    }
    if (!t || !t->c) break;
    send_stats(l, f->channel, t->c);
    return;
  case W_INPUT:
  case W_RESIZE:
  case W_SIGNAL:
  case W_REMOVE:
  case W_CREDIT:
    break;
  default:
    send_error(l, f->channel, ENOTSUP, "unknown frame type 0x%02x", f->type);
    return;
  }
  /* The rest act on a terminal of this link. */
  if (!t && f->type == W_CREDIT && f->length == 4) return; /* credit racing an EXIT: nothing to give it to */
  if (!t) {
    send_error(l, f->channel, ENOENT, "no terminal %u (frame type 0x%02x)", f->channel, f->type);
    return;
  }
  switch (f->type) {
  case W_INPUT:
    if (t->in.len + f->length > 1 << 20) {
      send_error(l, f->channel, ENOBUFS, "terminal %u input backlog over 1 MiB, input dropped", f->channel);
      return;
    }
    buf_append(&t->in, f->payload, f->length);
    term_flush_input(t);
    return;
  case W_RESIZE: {
    if (f->length != 4) break;
    struct winsize ws = {.ws_col = f->payload[0] | f->payload[1] << 8, .ws_row = f->payload[2] | f->payload[3] << 8};
    if (t->master >= 0) ioctl(t->master, TIOCSWINSZ, &ws);
    else t->size = (struct winsize_req){ws.ws_col, ws.ws_row, true}; /* applied once the pty exists */
    return;
  }
  case W_SIGNAL:
    if (f->length != 1 || f->payload[0] == 0 || f->payload[0] >= 65) break;
    if (!t->exited && t->pid > 0) kill(t->pid, f->payload[0]);
    return;
  case W_REMOVE:
    if (t->queued) {
      term_start_failed(t, 125, "removed before it started");
    } else if (t->c && t->c->state == STATE_CREATED) {
      remove_container(t->c); /* aborts the start; the terminal gets its ERROR */
    } else if (!t->c) {
      return; /* exited and its container already removed: only its last output is left */
    } else if (t->is_exec) {
      if (!t->exited) kill(t->pid, SIGKILL);
    } else if (t->c->state == STATE_RUNNING) {
      request_stop(t->c, 0, NULL, 0, true);
    } else {
      remove_container(t->c);
    }
    return;
  case W_CREDIT:
    if (f->length != 4) break;
    uint64_t credit = (uint64_t)t->credit + get_u32(f->payload);
    t->credit = credit > UINT32_MAX ? UINT32_MAX : (uint32_t)credit;
    if (t->exited) term_finish(t, t->status); /* the rest of its output, then EXIT */
    return;
  }
  send_error(l, f->channel, EINVAL, "malformed payload for frame type 0x%02x (%u bytes)", f->type, f->length);
}

static void handle_decode_error(void *ctx, const char *kind) {
  struct link *l = ctx;
  send_error(l, 0, EPROTO, "frame decoder: %s", kind);
}

/* ------------------------------------------------------------------ links */

static struct link *link_add(int fd, bool is_port) {
  for (int i = 0; i < MAX_LINKS; i++) {
    if (D.links[i]) continue;
    struct link *l = xcalloc(1, sizeof *l);
    l->fd = fd;
    l->is_port = is_port;
    l->decoder = wire_decoder_new();
    D.links[i] = l;
    return l;
  }
  return NULL;
}

static void link_close(struct link *l) {
  for (int i = 0; i < MAX_TERMS; i++) {
    struct term *t = D.terms[i];
    if (!t || t->link != l) continue;
    if (t->is_exec && !t->exited) {
      /* An exec session dies with its client, like a shell losing its terminal. */
      kill(t->pid, SIGHUP);
    }
    t->link = NULL;
    if (t->exited) term_finish(t, t->status); /* nobody to wait for: the rest goes to the log */
  }
  for (int s = 0; s < MAX_CONTAINERS; s++)
    for (int i = 0; i < MAX_PENDING; i++)
      if (D.pending[s][i].link == l) D.pending[s][i].link = NULL;
  for (int i = 0; i < MAX_LINKS; i++)
    if (D.links[i] == l) D.links[i] = NULL;
  close(l->fd);
  wire_decoder_free(l->decoder);
  buf_free(&l->out);
  free(l);
}

static void link_flush(struct link *l) {
  while (l->out.len) {
    ssize_t n = write(l->fd, l->out.data, l->out.len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      if (!l->is_port) l->closing = true;
      l->out.len = 0;
      return;
    }
    buf_consume(&l->out, n);
  }
}

static void link_read(struct link *l) {
  uint8_t chunk[16384];
  ssize_t n = read(l->fd, chunk, sizeof chunk);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {
    if (!l->is_port) l->closing = true;
    else l->quiet_until = now_ns() + 1000000000u;
    return;
  }
  struct wire_handler h = {handle_frame, handle_decode_error, l};
  wire_feed(l->decoder, chunk, n, &h);
}

/* ------------------------------------------------------------------ setup */

static int open_virtio_port(const char *want) {
  DIR *d = opendir("/sys/class/virtio-ports");
  if (!d) return -1;
  int fd = -1;
  struct dirent *e;
  while (fd < 0 && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    autofree char *name_path = xasprintf("/sys/class/virtio-ports/%s/name", e->d_name);
    autofree char *name = read_file(name_path, NULL);
    if (!name) continue;
    name[strcspn(name, "\n")] = 0;
    if (strcmp(name, want)) continue;
    autofree char *dev = xasprintf("/dev/%s", e->d_name);
    if (access(dev, F_OK) < 0) {
      /* devtmpfs normally has it; if not, make the node from sysfs. */
      autofree char *dev_path = xasprintf("/sys/class/virtio-ports/%s/dev", e->d_name);
      autofree char *mm = read_file(dev_path, NULL);
      unsigned ma, mi;
      if (mm && sscanf(mm, "%u:%u", &ma, &mi) == 2) mknod(dev, S_IFCHR | 0600, makedev(ma, mi));
    }
    fd = open(dev, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    unsigned dev_no, port_no;
    if (fd < 0 && errno == ENXIO && sscanf(e->d_name, "vport%up%u", &dev_no, &port_no) == 2) {
      /* A host that announces its ports as consoles (v86 does) gets them driven by hvc:
       * port N is /dev/hvcN, a tty that must be raw to carry binary frames. */
      free(dev);
      dev = xasprintf("/dev/hvc%u", port_no);
      fd = open(dev, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
      struct termios t;
      if (fd >= 0 && tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(fd, TCSANOW, &t);
        tcflush(fd, TCIOFLUSH); /* bytes that came in cooked (the host repeats HELLO until READY) */
      }
    }
    if (fd < 0) log_msg("open %s: %s", dev, strerror(errno));
    else log_msg("serving the mux on %s (%s)", dev, want);
  }
  closedir(d);
  return fd;
}

static int listen_unix(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -errno;
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof a.sun_path) {
    close(fd);
    return -ENAMETOOLONG;
  }
  strcpy(a.sun_path, path);
  unlink(path);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 16) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  chmod(path, 0600);
  return fd;
}

static int setup(void) {
  char err[1024] = "";
  signal(SIGPIPE, SIG_IGN);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  D.signal_fd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  if (D.signal_fd < 0) {
    log_msg("signalfd: %s", strerror(errno));
    return -1;
  }
  const char *dirs[] = {"layers", "run", "mnt"};
  for (size_t i = 0; i < N_ELEMENTS(dirs); i++) {
    autofree char *p = xasprintf("%s/%s", cfg.state, dirs[i]);
    int rc = mkdir_p(p, 0755);
    if (rc < 0) log_msg("mkdir %s: %s", p, strerror(-rc));
  }
  if (cgroup_setup(err, sizeof err) < 0) log_msg("cgroup: %s", err);
  if (network_setup(err, sizeof err) < 0) log_msg("network: %s", err);
  if (oci_load(cfg.oci, &D.images, err, sizeof err) < 0) log_msg("images: %s", err);
  log_msg("%d images in %s", D.images.n, cfg.oci);
  D.listen_fd = listen_unix(cfg.sock);
  if (D.listen_fd < 0) log_msg("listening on %s: %s", cfg.sock, strerror(-D.listen_fd));
  if (*cfg.vport) {
    int port = open_virtio_port(cfg.vport);
    if (port >= 0) link_add(port, true);
    else log_msg("no virtio port named %s: serving %s only", cfg.vport, cfg.sock);
  }
  D.ready_ns = now_ns();
  /* Say so unasked too: the host may have sent HELLO before the port was open. */
  for (int i = 0; i < MAX_LINKS; i++)
    if (D.links[i] && D.links[i]->is_port) {
      struct wire_frame hello = {W_HELLO, 0, NULL, 0};
      handle_frame(D.links[i], &hello);
    }
  return D.listen_fd < 0 ? -1 : 0;
}

/* While nothing else happens, unpack layers ahead of the first `box run`. */
static bool unpack_one_layer(void) {
  int k = 0;
  for (int i = 0; i < D.images.n; i++)
    for (int j = 0; j < D.images.v[i].nlayers; j++, k++) {
      if (k < D.unpacked) continue;
      D.unpacked++;
      autofree char *dir = layer_dir(D.images.v[i].layers[j]);
      if (access(dir, F_OK) == 0) continue;
      char err[512];
      uint64_t t0 = now_ns();
      if (layer_ensure(D.images.v[i].layers[j], err, sizeof err) < 0) log_msg("pre-unpack: %s", err);
      else log_msg("layer %.12s ready (%.0f ms)", D.images.v[i].layers[j], (now_ns() - t0) / 1e6);
      return true;
    }
  return false;
}

/* While idle, keep one set of namespaces (with its veth) ready for the next start. */
static bool prepare_warm(void) {
  if (!cfg.warm || D.have_warm || D.warm_failed) return false;
  char err[512];
  uint64_t t0 = now_ns();
  if (namespaces_prepare(&D.warm, free_id(), true, err, sizeof err) < 0) {
    log_msg("preparing namespaces: %s (not retried until a start works)", err);
    D.warm_failed = true;
    return false;
  }
  D.have_warm = true;
  log_msg("namespaces ready for the next start (%.1f ms)", (now_ns() - t0) / 1e6);
  return true;
}

/* ------------------------------------------------------------------ the loop */

/* Tell whoever started us that we are listening: one line on the file descriptor named by
 * BOX_NOTIFY_FD (the host's init reads it from a FIFO instead of polling for the socket, which
 * cost one exec of `usleep` every 10 ms). The fd is closed and the variable dropped, so no
 * container inherits either. */
static void notify_ready(void) {
  const char *v = getenv("BOX_NOTIFY_FD");
  if (!v) return;
  char *end;
  long fd = strtol(v, &end, 10);
  unsetenv("BOX_NOTIFY_FD");
  if (*end || fd < 3 || fd > 1024) {
    log_msg("BOX_NOTIFY_FD=%s is not a file descriptor above 2: not notifying", v);
    return;
  }
  static const char line[] = "READY\n";
  if (write((int)fd, line, sizeof line - 1) < 0) log_msg("notifying readiness on fd %ld: %s", fd, strerror(errno));
  close((int)fd);
}

static void serve(struct pollfd *pfd, void **who, int n, int first_term);

int daemon_main(void) {
  config_load();
  if (setup() < 0) return 1;
  log_msg("boxd ready");
  notify_ready();
  bool idle_work = true;
  for (;;) {
    struct pollfd pfd[2 + MAX_LINKS + MAX_TERMS];
    void *who[2 + MAX_LINKS + MAX_TERMS];
    int n = 0;
    bool any_quiet = false;
    pfd[n] = (struct pollfd){.fd = D.signal_fd, .events = POLLIN};
    who[n++] = NULL;
    pfd[n] = (struct pollfd){.fd = D.listen_fd, .events = POLLIN};
    who[n++] = NULL;
    for (int i = 0; i < MAX_LINKS; i++) {
      struct link *l = D.links[i];
      if (!l) continue;
      bool quiet = l->quiet_until > now_ns();
      pfd[n] = (struct pollfd){.fd = quiet ? -1 : l->fd, .events = POLLIN | (l->out.len ? POLLOUT : 0)};
      who[n++] = l;
      if (quiet) any_quiet = true;
    }
    int first_term = n;
    bool queued = false;
    for (int i = 0; i < MAX_TERMS; i++) {
      struct term *t = D.terms[i];
      if (t && t->queued) queued = true;
      if (t && term_starting(t)) {
        pfd[n] = (struct pollfd){.fd = t->c->start.p.report_rd, .events = POLLIN};
        who[n++] = t;
        continue;
      }
      if (!t || t->master < 0) continue;
      short ev = t->in.len && !t->exited ? POLLOUT : 0;
      if (!t->link || (t->credit > 0 && t->link->out.len < LINK_HIGH_WATER)) ev |= POLLIN;
      /* Nothing to wait for (no credit): not polled, as a pty whose program has exited reports
       * POLLHUP whatever is asked, and the loop would spin until the host sends credit. */
      if (!ev) continue;
      pfd[n] = (struct pollfd){.fd = t->master, .events = ev};
      who[n++] = t;
    }
    uint64_t now = now_ns();
    int start_wait = -1;
    bool may_begin = queued && may_begin_start(now, &start_wait);
    int timeout = may_begin ? 0 : queued ? start_wait : idle_work || (cfg.warm && !D.have_warm && !D.warm_failed) ? 200 : any_quiet ? 1000 : -1;
    for (int i = 0; i < MAX_CONTAINERS; i++) {
      if (!D.stop_deadline[i]) continue;
      int ms = D.stop_deadline[i] <= now ? 0 : (int)((D.stop_deadline[i] - now) / 1000000 + 1);
      if (timeout < 0 || ms < timeout) timeout = ms;
    }
    int ready = poll(pfd, n, timeout);
    if (ready < 0 && errno != EINTR) {
      log_msg("poll: %s", strerror(errno));
      return 1;
    }
    now = now_ns();
    for (int i = 0; i < MAX_CONTAINERS; i++) {
      if (!D.stop_deadline[i] || D.stop_deadline[i] > now || !D.containers[i]) continue;
      kill(D.containers[i]->pid, SIGKILL);
      D.stop_deadline[i] = 0;
    }
    if (ready == 0 && !queued && idle_work) idle_work = unpack_one_layer();
    else if (ready == 0 && !queued) prepare_warm();
    if (ready > 0) serve(pfd, who, n, first_term);
    for (int i = 0; i < MAX_LINKS; i++) {
      struct link *l = D.links[i];
      if (!l) continue;
      if (l->out.len) link_flush(l);
      if (l->closing) link_close(l);
    }
    /* After everything ready was served and sent: begin one waiting start, if it may. */
    struct term *next = next_queued();
    if (next && may_begin_start(now_ns(), &start_wait)) start_queued(next);
  }
}

/* One turn's events: children, new clients, frames, start steps, pty input and output. */
static void serve(struct pollfd *pfd, void **who, int n, int first_term) {
  if (pfd[0].revents) {
    struct signalfd_siginfo si;
    while (read(D.signal_fd, &si, sizeof si) == sizeof si) {}
    reap_children();
  }
  if (pfd[1].revents & POLLIN) {
    int fd = accept4(D.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0 && !link_add(fd, false)) close(fd);
  }
  for (int i = 2; i < first_term; i++) {
    struct link *l = who[i];
    if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) link_read(l);
  }
  for (int i = first_term; i < n; i++) {
    struct term *t = who[i];
    /* A terminal may have been freed by a frame handled above. */
    bool alive = false;
    for (int k = 0; k < MAX_TERMS && !alive; k++) alive = D.terms[k] == t;
    if (!alive) continue;
    if (term_starting(t)) {
      if (pfd[i].fd == t->c->start.p.report_rd && pfd[i].revents) start_stepped(t);
      continue;
    }
    if (t->master < 0 || pfd[i].fd != t->master) continue;
    if (pfd[i].revents & POLLOUT) term_flush_input(t);
    if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
      enum pump r = term_pump(t);
      if (r == PUMP_EOF) {
        /* Every holder of the slave is gone; the exit status follows via SIGCHLD. */
        close(t->master);
        t->master = -1;
      }
      if (t->exited && r != PUMP_MORE) term_send_exit(t); /* drained: now the exit */
    }
  }
}
