#define _GNU_SOURCE
#include "starts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "config.h"
#include "prefetch.h"
#include "unpacks.h"

static struct prepared warm; /* namespaces made while idle, for the next start */
static bool have_warm;
static bool warm_failed;     /* stop retrying until a start works again */
/* The image of the last container started: the next start is prepared for it (its root and
 * cgroup, container.h). Before any start, cfg.warm_image. */
static char *last_image;

/* The id for the next container: the prepared namespaces' (their veth is named after it). */
static int next_id(void) { return have_warm ? warm.id : container_free_id(); }

/* The prepared namespaces, if any, for the start about to begin: taken whether it works or not. */
static struct prepared *take_warm(void) {
  struct prepared *p = have_warm ? &warm : NULL;
  have_warm = false;
  return p;
}

/* Whether the layers of a start requested at `received` are unpacked: 1 yes (or its image is unknown: container_create
 * says so), 0 while children unpack them (begun now if need be), < 0 when one failed (err set).
 * A start never unpacks in the loop: it waits here, and every other start, terminal and
 * frame goes on meanwhile. */
static int layers_ready(const char *image_ref, uint64_t received, char *err, size_t errlen) {
  const struct image *im = image_find(registry_images(), image_ref);
  int ready = 1;
  for (int i = 0; im && i < im->nlayers; i++) {
    int rc = unpack_layer(im->layers[i], received, err, errlen);
    if (rc < 0) return rc;
    if (rc == 0) ready = 0;
  }
  return ready;
}

/* Tell the host a container runs: STARTED with its phases on its terminal's channel. */
static void announce_started(struct container *c, struct link *link, uint32_t channel) {
  warm_failed = false;
  if (!last_image || strcmp(last_image, c->image->name)) {
    free(last_image);
    last_image = xstrdup(c->image->name);
  }
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

static struct container *start_detached(struct run_opts *o, char *err, size_t errlen, int *exit_code) {
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

/* `run -d`s waiting for their layers: answered (container id or error) once started or failed. */
#define MAX_DEFERRED 16
static struct deferred_run {
  bool used;
  struct run_opts o;
  struct link *link; /* NULL once it closed: the container still starts */
  uint32_t channel;
  uint64_t received;
} deferred[MAX_DEFERRED];

/* Start o (taken over) detached: the answer (its id, or the error) in out, Docker's exit code returned. */
static int answer_detached(struct run_opts *o, struct buf *out) {
  char err[1024] = "";
  int code;
  struct container *c = start_detached(o, err, sizeof err, &code);
  if (!c) {
    run_opts_free(o);
    buf_printf(out, "box: %s\n", err);
    return code;
  }
  buf_printf(out, "%s\n", c->cid);
  return 0;
}

int start_detached_request(struct run_opts *o, struct link *link, uint32_t channel, uint64_t received, struct buf *out) {
  char err[1024] = "";
  registry_refresh_images(); /* images `box build`/`box load` added */
  int rc = layers_ready(o->image, received, err, sizeof err);
  if (rc < 0) {
    run_opts_free(o);
    buf_printf(out, "box: %s\n", err);
    return 125;
  }
  if (rc > 0) return answer_detached(o, out);
  for (int i = 0; i < MAX_DEFERRED; i++) {
    if (deferred[i].used) continue;
    deferred[i] = (struct deferred_run){true, *o, link, channel, received};
    return -1;
  }
  run_opts_free(o);
  buf_printf(out, "box: %d detached starts already wait for their layers\n", MAX_DEFERRED);
  return 125;
}

void starts_forget_link(const struct link *l) {
  for (int i = 0; i < MAX_DEFERRED; i++)
    if (deferred[i].link == l) deferred[i].link = NULL;
}

/* Deferred `run -d`s whose layers are there (or failed): started and answered now. */
static void start_deferred(void) {
  for (int i = 0; i < MAX_DEFERRED; i++) {
    struct deferred_run *d = &deferred[i];
    char err[1024] = "";
    int rc = d->used ? layers_ready(d->o.image, d->received, err, sizeof err) : 0;
    if (rc == 0) continue;
    struct buf out = {0}, notes = {0};
    int code = 125;
    if (rc < 0) {
      run_opts_free(&d->o);
      buf_printf(&out, "box: %s\n", err);
    } else {
      code = answer_detached(&d->o, &out);
    }
    reply_verb(d->link, d->channel, code, &out, &notes);
    buf_free(&out);
    *d = (struct deferred_run){0};
  }
}

bool start_in_progress(const struct term *t) {
  return t->c && t->c->state == STATE_CREATED && t->c->start.stage != START_DONE && t->c->start.p.report_rd >= 0;
}

/* One start at a time gets the (single, in the guest) CPU: the first of twelve requested together
 * reaches its prompt as fast as it would alone, the next begins once it printed its first output
 * (its program's own start, after exec, is the start's last part: another start would share the
 * CPU with it and hold its prompt back), and every started container's output flows meanwhile. A
 * start still going after START_ALONE_NS (a child stuck in a mount), or a program silent for
 * FIRST_OUTPUT_WAIT_NS after its exec, no longer holds the queue. */
#define START_ALONE_NS (1000 * 1000000ull)
#define FIRST_OUTPUT_WAIT_NS (50 * 1000000ull)
bool may_begin_start(uint64_t now, int *wait_ms) {
  *wait_ms = -1;
  struct term *t;
  for (int at = 0; (t = term_next(&at));) {
    uint64_t until = 0;
    if (start_in_progress(t)) until = t->began + START_ALONE_NS;
    else if (t->c && !t->is_exec && !t->seen_output && t->c->state == STATE_RUNNING)
      until = t->c->phases[PHASE_EXEC] + FIRST_OUTPUT_WAIT_NS;
    if (now >= until) continue;
    int ms = (int)((until - now) / 1000000) + 1;
    if (*wait_ms < 0 || ms < *wait_ms) *wait_ms = ms;
  }
  return *wait_ms < 0;
}

/* The oldest RUN waiting to start whose layers are there, if any; one whose layers could not be
 * unpacked fails now. */
static struct term *oldest_queued(void) {
  struct term *first = NULL, *t;
  for (int at = 0; (t = term_next(&at));) {
    if (!t->queued) continue;
    char err[512] = "";
    int rc = layers_ready(t->queued->image, t->received, err, sizeof err);
    if (rc < 0) term_start_failed(t, 125, err); /* frees t: term_next's cursor is past it */
    else if (rc > 0 && (!first || t->received < first->received)) first = t;
  }
  return first;
}

bool start_waiting(void) {
  for (int i = 0; i < MAX_DEFERRED; i++) {
    char err[512];
    if (deferred[i].used && layers_ready(deferred[i].o.image, deferred[i].received, err, sizeof err) != 0) return true;
  }
  struct term *t;
  for (int at = 0; (t = term_next(&at));) {
    char err[512];
    if (t->queued && layers_ready(t->queued->image, t->received, err, sizeof err) != 0) return true;
  }
  return false;
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
  start_deferred();
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
  prepared_leftovers_remove();
  if (!prepare_namespaces_wanted()) return false;
  char err[512];
  uint64_t t0 = now_ns();
  const struct image *im = image_find(registry_images(), last_image ? last_image : cfg.warm_image);
  if (namespaces_prepare(&warm, container_free_id(), true, im, err, sizeof err) < 0) {
    log_msg("preparing namespaces: %s (not retried until a start works)", err);
    warm_failed = true;
    return false;
  }
  have_warm = true;
  log_msg("namespaces ready for the next start (%.1f ms)%s%s%s%s", (now_ns() - t0) / 1e6, warm.name[0] ? ", for " : "",
          warm.name, warm.cgroup_ns ? " with its cgroup" : "", warm.root_ns ? " and root" : "");
  /* Its files too, in a child: a first start of an image otherwise reads them from the store's
   * disk on its critical path (prefetch.h). Once per layer. */
  pid_t pf = prefetch_start(im);
  if (pf < 0) log_msg("prefetching %s: fork: %s", im->name, strerror((int)-pf));
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
