#define _GNU_SOURCE
#include "registry.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "publish.h"
#include "store.h"
#include "terminal.h"

static struct container *containers[MAX_CONTAINERS];
static struct image_list images;

int registry_load_images(const char *dir, char *err, size_t errlen) { return oci_load(dir, &images, err, errlen); }

const struct image_list *registry_images(void) { return &images; }

struct container *container_next(int *cursor) {
  for (; *cursor < MAX_CONTAINERS; (*cursor)++)
    if (containers[*cursor]) return containers[(*cursor)++];
  return NULL;
}

struct container *container_find(const char *key) {
  for (int i = 0; i < MAX_CONTAINERS; i++) {
    struct container *c = containers[i];
    if (c && !strcmp(c->name, key)) return c;
  }
  size_t n = strlen(key);
  for (int i = 0; n >= 3 && i < MAX_CONTAINERS; i++) {
    struct container *c = containers[i];
    if (c && !strncmp(c->cid, key, n)) return c;
  }
  return NULL;
}

struct container *container_running_pid(pid_t pid) {
  for (int i = 0; i < MAX_CONTAINERS; i++)
    if (containers[i] && containers[i]->pid == pid && containers[i]->state == STATE_RUNNING) return containers[i];
  return NULL;
}

struct container *container_starting_pid(pid_t pid) {
  for (int i = 0; i < MAX_CONTAINERS; i++)
    if (containers[i] && containers[i]->state == STATE_CREATED && containers[i]->start.p.pid == pid) return containers[i];
  return NULL;
}

void registry_refresh_images(void) { store_refresh(cfg.oci, &images, containers, MAX_CONTAINERS); }

int container_free_id(void) {
  for (int id = 1;; id++) {
    bool used = false;
    for (int i = 0; i < MAX_CONTAINERS && !used; i++) used = containers[i] && containers[i]->id == id;
    if (!used) return id;
  }
}

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

/* Set NAME=VALUE in env (n entries, room for one more): replaced where NAME is, else added. */
static void env_set(char **env, int *n, char *entry) {
  size_t name = strcspn(entry, "=");
  for (int i = 0; i < *n; i++)
    if (!strncmp(env[i], entry, name + 1)) {
      free(env[i]);
      env[i] = entry;
      return;
    }
  env[(*n)++] = entry;
}

/* The image's environment with docker's defaults (PATH if the image has none, HOSTNAME, TERM),
 * then the request's -e K=V, each replacing the same name. */
static char **container_env(const struct container *c) {
  int n = 0, extra = 0;
  for (char **e = c->image->env; e && *e; e++) n++;
  for (char **e = c->opts.env; e && *e; e++) extra++;
  char **env = xcalloc(n + extra + 4, sizeof *env);
  int k = 0;
  bool has_path = false;
  for (char **e = c->image->env; e && *e; e++) {
    has_path |= !strncmp(*e, "PATH=", 5);
    env[k++] = xstrdup(*e);
  }
  if (!has_path) env[k++] = xstrdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  env[k++] = xasprintf("HOSTNAME=%s", c->hostname);
  env[k++] = xstrdup("TERM=xterm");
  for (char **e = c->opts.env; e && *e; e++) env_set(env, &k, xstrdup(*e));
  return env;
}

/* The command run, as docker builds it: --entrypoint (if given, "" for none) and the request's
 * arguments; else the request's arguments; else the image's (Entrypoint + Cmd); else sh. */
static char **container_argv(const char *entrypoint, char **requested, char **image_cmd) {
  int n = 0, k = 0;
  char **from = requested && requested[0] ? requested : entrypoint ? NULL : image_cmd;
  while (from && from[n]) n++;
  char **argv = xcalloc(n + 2, sizeof *argv);
  if (entrypoint && *entrypoint) argv[k++] = xstrdup(entrypoint);
  for (int i = 0; i < n; i++) argv[k++] = xstrdup(from[i]);
  if (k == 0 && !entrypoint) argv[k++] = xstrdup("sh");
  return argv;
}

struct container *container_create(struct run_opts *o, uint64_t received, int id, char *err, size_t errlen) {
  registry_refresh_images(); /* images `box build`/`box load` added */
  struct image *im = image_find(&images, o->image);
  if (!im) {
    set_err(err, errlen, 0, "Unable to find image '%s' (images: %d in %s)", o->image, images.n, cfg.oci);
    return NULL;
  }
  if (o->entrypoint && !*o->entrypoint && !(o->argv && o->argv[0])) {
    set_err(err, errlen, 0, "No command specified");
    return NULL;
  }
  /* A build's RUN step writes through to its layer (run_opts.build_step): no image VOLUMEs. */
  if (!o->build_step && mounts_add_image_volumes(&o->mounts, &o->nmounts, im->volumes, err, errlen) < 0) return NULL;
  if (o->name && container_find(o->name) && !strcmp(container_find(o->name)->name, o->name)) {
    set_err(err, errlen, 0, "Conflict. The container name \"%s\" is already in use", o->name);
    return NULL;
  }
  int slot = -1;
  for (int i = 0; i < MAX_CONTAINERS && slot < 0; i++)
    if (!containers[i]) slot = i;
  if (slot < 0) {
    set_err(err, errlen, 0, "too many containers (%d)", MAX_CONTAINERS);
    return NULL;
  }
  struct container *c = xcalloc(1, sizeof *c);
  c->id = id;
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
  c->argv = container_argv(c->opts.entrypoint, c->opts.argv, im->cmd);
  c->env = container_env(c);
  c->workdir = c->opts.workdir ? c->opts.workdir : im->workdir;
  c->remove_on_exit = c->opts.remove;
  c->created = time(NULL);
  c->phases[PHASE_RECEIVED] = received;
  containers[slot] = c;
  return c;
}

void container_free(struct container *c) {
  for (int i = 0; i < MAX_CONTAINERS; i++)
    if (containers[i] == c) containers[i] = NULL;
  free(c->name);
  free(c->hostname);
  run_opts_free(&c->opts);
  free_args(c->argv);
  free_args(c->env);
  buf_free(&c->log);
  free(c);
}

const char *container_using_volume(const char *name, const struct container *except) {
  for (int i = 0; i < MAX_CONTAINERS; i++) {
    const struct container *c = containers[i];
    for (int k = 0; c && c != except && k < c->opts.nmounts; k++)
      if (c->opts.mounts[k].type == MOUNT_VOLUME && c->opts.mounts[k].source && !strcmp(c->opts.mounts[k].source, name)) return c->cid;
  }
  return NULL;
}

void container_remove(struct container *c) {
  if (c->state == STATE_CREATED) container_start_abort(c);
  terms_forget_container(c);
  container_cleanup(c);
  /* Docker's --rm takes the container's anonymous volumes along; named ones stay. */
  for (int k = 0; c->opts.remove && k < c->opts.nmounts; k++)
    if (c->opts.mounts[k].anonymous && !container_using_volume(c->opts.mounts[k].source, c) && volume_remove(c->opts.mounts[k].source) < 0)
      log_msg("%s: anonymous volume %s not removed", c->name, c->opts.mounts[k].source);
  container_free(c);
}

void container_stop(struct container *c, int grace_s, struct link *link, uint32_t channel, bool remove) {
  if (remove) c->remove_on_exit = true;
  for (int i = 0; link && i < MAX_PENDING; i++) {
    if (c->pending[i].link) continue;
    c->pending[i] = (struct pending_reply){link, channel};
    break;
  }
  if (grace_s <= 0) {
    kill(c->pid, SIGKILL);
  } else {
    kill(c->pid, SIGTERM);
    uint64_t deadline = now_ns() + (uint64_t)grace_s * 1000000000u;
    if (!c->stop_deadline || deadline < c->stop_deadline) c->stop_deadline = deadline;
  }
}

void container_exited(struct container *c, int status) {
  c->state = STATE_EXITED;
  c->status = status;
  c->finished = time(NULL);
  c->stop_deadline = 0;
  unpublish_ports(c->proxy); /* as Docker: a stopped container's ports are free again */
  c->proxy = 0;
  term_finish(term_of_container(c), status);
  log_msg("%s exited, status 0x%x", c->name, status);
  struct pending_reply pending[MAX_PENDING];
  memcpy(pending, c->pending, sizeof pending);
  memset(c->pending, 0, sizeof c->pending);
  char *name = xstrdup(c->name);
  if (c->remove_on_exit) container_remove(c);
  for (int i = 0; i < MAX_PENDING; i++) {
    if (!pending[i].link) continue;
    autofree char *text = xasprintf("%s\n", name);
    reply_result(pending[i].link, pending[i].channel, 0, text, strlen(text));
  }
  free(name);
}

int stop_deadline_wait_ms(uint64_t now) {
  int wait = -1;
  for (int i = 0; i < MAX_CONTAINERS; i++) {
    struct container *c = containers[i];
    if (!c || !c->stop_deadline) continue;
    int ms = c->stop_deadline <= now ? 0 : (int)((c->stop_deadline - now) / 1000000 + 1);
    if (wait < 0 || ms < wait) wait = ms;
  }
  return wait;
}

void stop_deadlines_enforce(uint64_t now) {
  for (int i = 0; i < MAX_CONTAINERS; i++) {
    struct container *c = containers[i];
    if (!c || !c->stop_deadline || c->stop_deadline > now) continue;
    kill(c->pid, SIGKILL);
    c->stop_deadline = 0;
  }
}

void containers_forget_link(const struct link *l) {
  for (int s = 0; s < MAX_CONTAINERS; s++)
    for (int i = 0; containers[s] && i < MAX_PENDING; i++)
      if (containers[s]->pending[i].link == l) containers[s]->pending[i].link = NULL;
}
