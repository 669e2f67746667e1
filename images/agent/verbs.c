/* The text verbs. Output follows docker's columns where docker has the verb. */
#define _GNU_SOURCE
#include "verbs.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "config.h"
#include "build.h"
#include "registry.h"
#include "starts.h"
#include "store.h"
#include "volumes.h"

static void human_age(char *out, size_t n, time_t since) {
  long s = (long)(time(NULL) - since);
  if (s < 1) snprintf(out, n, "Less than a second");
  else if (s < 60) snprintf(out, n, "%ld second%s", s, s == 1 ? "" : "s");
  else if (s < 3600) snprintf(out, n, "%ld minute%s", s / 60, s / 60 == 1 ? "" : "s");
  else snprintf(out, n, "%ld hour%s", s / 3600, s / 3600 == 1 ? "" : "s");
}

static void human_bytes(char *out, size_t n, double b) {
  const char *units[] = {"B", "kB", "MB", "GB"};
  int u = 0;
  while (b >= 1000 && u < 3) b /= 1000, u++;
  snprintf(out, n, u ? "%.3g%s" : "%.0f%s", b, units[u]);
}

static void human_mib(char *out, size_t n, double b) {
  if (b < 1024 * 1024) snprintf(out, n, "%.1fKiB", b / 1024);
  else snprintf(out, n, "%.2fMiB", b / (1024 * 1024));
}

static int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

static void status_text(const struct container *c, char *out, size_t n) {
  char age[40];
  if (c->state == STATE_RUNNING) {
    human_age(age, sizeof age, c->created);
    snprintf(out, n, "Up %s", age);
  } else if (c->state == STATE_EXITED) {
    human_age(age, sizeof age, c->finished);
    snprintf(out, n, "Exited (%d) %s ago", exit_code(c->status), age);
  } else {
    snprintf(out, n, "Created");
  }
}

static void command_text(const struct container *c, char *out, size_t n) {
  struct buf b = {0};
  buf_append(&b, "\"", 1);
  for (char **a = c->argv; *a; a++) buf_printf(&b, "%s%s", a == c->argv ? "" : " ", *a);
  if (b.len > 20) {
    b.len = 19;
    buf_append(&b, "…", strlen("…"));
  }
  buf_append(&b, "\"", 1);
  snprintf(out, n, "%s", b.data);
  buf_free(&b);
}

static int verb_ps(const struct verb_args *a, struct buf *out) {
  bool all = flag_on(a, O_ALL), quiet = flag_on(a, O_QUIET);
  if (a->noperands) {
    buf_printf(out, "\"box ps\" accepts no arguments\n");
    return 125;
  }
  if (!quiet) buf_printf(out, "%-14s %-10s %-22s %-8s %-26s %-14s %-22s %s\n", "CONTAINER ID", "IMAGE", "COMMAND", "PID", "STATUS", "IP", "PORTS", "NAMES");
  struct container *c;
  for (int at = 0; (c = container_next(&at));) {
    if (!all && c->state != STATE_RUNNING) continue;
    if (quiet) {
      buf_printf(out, "%s\n", c->cid);
      continue;
    }
    char cmd[64], st[96], ip[32] = "-", ports[256] = "";
    command_text(c, cmd, sizeof cmd);
    status_text(c, st, sizeof st);
    if (c->ip) inet_ntop(AF_INET, &c->ip, ip, sizeof ip);
    if (c->proxy) format_port_bindings(c->opts.ports, c->opts.nports, ports, sizeof ports); /* Docker: only while running */
    buf_printf(out, "%-14s %-10s %-22s %-8d %-26s %-14s %-22s %s\n", c->cid, c->image->name, cmd, (int)c->pid, st, ip, ports, c->name);
  }
  return 0;
}

/* `box port CONTAINER`: its published ports, as `docker port` prints them. */
/* The one CONTAINER operand of a verb: the container, or NULL with the answer in out and *code
 * (125 for a wrong operand count with the usage line, 1 for no such container, as Docker). */
static struct container *one_container(const struct verb_args *a, const char *usage, struct buf *out, int *code) {
  if (a->noperands != 1) {
    buf_printf(out, "%s\n", usage);
    *code = 125;
    return NULL;
  }
  struct container *c = container_find(a->operands[0]);
  if (!c) {
    buf_printf(out, "Error: No such container: %s\n", a->operands[0]);
    *code = 1;
  }
  return c;
}

static int verb_port(const struct verb_args *a, struct buf *out) {
  int code;
  struct container *c = one_container(a, "\"box port\" requires exactly 1 argument: box port CONTAINER", out, &code);
  if (!c) return code;
  for (int i = 0; c->proxy && i < c->opts.nports; i++) {
    char hip[INET_ADDRSTRLEN] = "0.0.0.0";
    if (c->opts.ports[i].host_ip) inet_ntop(AF_INET, &c->opts.ports[i].host_ip, hip, sizeof hip);
    buf_printf(out, "%u/tcp -> %s:%u\n", c->opts.ports[i].container_port, hip, c->opts.ports[i].host_port);
  }
  return 0;
}

static int verb_images(struct buf *out) {
  registry_refresh_images();
  /* SHARED SIZE: bytes of its layers another named image uses too (docker system df -v). */
  buf_printf(out, "%-12s %-8s %-14s %-8s %-10s %s\n", "REPOSITORY", "TAG", "IMAGE ID", "LAYERS", "SIZE", "SHARED SIZE");
  const struct image_list *images = registry_images();
  for (int i = 0; i < images->n; i++) {
    const struct image *im = &images->v[i];
    if (!*im->name) continue; /* a build step's image (docker images hides these too) */
    char size[32], shared[32];
    human_bytes(size, sizeof size, (double)im->size);
    human_bytes(shared, sizeof shared, (double)image_shared_bytes(images, im));
    const char *id = im->digest && strlen(im->digest) > 19 ? im->digest + 7 : "?";
    buf_printf(out, "%-12s %-8s %-14.12s %-8d %-10s %s\n", im->name, "latest", id, im->nlayers, size, shared);
  }
  return 0;
}

static int verb_stats(const struct verb_args *a, struct buf *out) {
  buf_printf(out, "%-14s %-16s %-10s %-22s %-8s %s\n", "CONTAINER ID", "NAME", "CPU TIME", "MEM USAGE / LIMIT", "PIDS", "OOM KILLS");
  struct container *c;
  for (int at = 0; (c = container_next(&at));) {
    if (c->state != STATE_RUNNING) continue;
    bool wanted = a->noperands == 0;
    for (int k = 0; k < a->noperands && !wanted; k++) wanted = container_find(a->operands[k]) == c;
    if (!wanted) continue;
    struct cgroup_stats st;
    cgroup_read_stats(c->name, &st);
    char mem[32], lim[32], usage[80], cpu[32];
    human_mib(mem, sizeof mem, (double)st.memory_current);
    if (st.memory_max) human_mib(lim, sizeof lim, (double)st.memory_max);
    else snprintf(lim, sizeof lim, "none");
    snprintf(usage, sizeof usage, "%s / %s", mem, lim);
    snprintf(cpu, sizeof cpu, "%.3fs", st.cpu_usage_usec / 1e6);
    buf_printf(out, "%-14s %-16s %-10s %-22s %-8u %llu\n", c->cid, c->name, cpu, usage, st.pids_current,
               (unsigned long long)st.oom_kills);
  }
  return 0;
}

static void json_strings(struct buf *b, char **v) {
  buf_append(b, "[", 1);
  for (char **a = v; a && *a; a++) {
    if (a != v) buf_append(b, ", ", 2);
    buf_json_string(b, *a);
  }
  buf_append(b, "]", 1);
}

static void inspect_one(struct buf *b, struct container *c) {
  struct cgroup_stats st;
  cgroup_read_stats(c->name, &st);
  char ip[32] = "", created[32];
  if (c->ip) inet_ntop(AF_INET, &c->ip, ip, sizeof ip);
  strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime(&c->created));
  const char *status = c->state == STATE_RUNNING ? "running" : c->state == STATE_EXITED ? "exited" : "created";
  buf_printf(b, "  {\n    \"Id\": \"%s\",\n    \"Name\": ", c->cid);
  buf_json_string(b, c->name);
  buf_printf(b, ",\n    \"Created\": \"%s\",\n    \"Image\": ", created);
  buf_json_string(b, c->image->name);
  buf_printf(b, ",\n    \"ImageDigest\": ");
  buf_json_string(b, c->image->digest);
  buf_printf(b, ",\n    \"Cmd\": ");
  json_strings(b, c->argv);
  buf_printf(b, ",\n    \"Env\": ");
  json_strings(b, c->env);
  buf_printf(b, ",\n    \"State\": {\"Status\": \"%s\", \"Running\": %s, \"Pid\": %d, \"ExitCode\": %d, \"OOMKilled\": %s},\n",
             status, c->state == STATE_RUNNING ? "true" : "false", c->state == STATE_RUNNING ? (int)c->pid : 0,
             c->state == STATE_EXITED ? exit_code(c->status) : 0, st.oom_kills ? "true" : "false");
  buf_printf(b, "    \"Config\": {\"Hostname\": ");
  buf_json_string(b, c->hostname);
  buf_printf(b, ", \"Tty\": %s, \"WorkingDir\": ", c->opts.tty ? "true" : "false");
  buf_json_string(b, c->workdir ? c->workdir : "");
  buf_printf(b, "},\n");
  buf_printf(b, "    \"HostConfig\": {\"Memory\": %lld, \"PidsLimit\": %lld, \"NanoCpus\": %lld, \"Privileged\": %s, \"AutoRemove\": %s},\n",
             (long long)c->opts.memory, (long long)c->opts.pids, (long long)(c->opts.cpus * 1e9),
             c->opts.privileged ? "true" : "false", c->remove_on_exit ? "true" : "false");
  buf_printf(b, "    \"Mounts\": ");
  mounts_json(b, c->opts.mounts, c->opts.nmounts);
  buf_printf(b, ",\n");
  autofree char *upper = container_upper(c);
  buf_printf(b, "    \"GraphDriver\": {\"Name\": \"overlay\", \"Data\": {\"LowerDir\": \"");
  for (int i = c->image->nlayers - 1; i >= 0; i--) {
    autofree char *dir = layer_dir(c->image->layers[i]);
    buf_printf(b, "%s%s", dir, i ? ":" : "");
  }
  buf_printf(b, "\", \"UpperDir\": ");
  buf_json_string(b, upper);
  char gateway[INET_ADDRSTRLEN] = "";
  struct in_addr bridge_addr = {htonl(cfg.bridge_ip)};
  if (c->ip) inet_ntop(AF_INET, &bridge_addr, gateway, sizeof gateway);
  buf_printf(b, "}},\n    \"NetworkSettings\": {\"Bridge\": \"%s\", \"IPAddress\": \"%s\", \"IPPrefixLen\": %d, \"Gateway\": \"%s\", \"HostVeth\": \"%s\", \"Ports\": {",
             c->ip ? cfg.bridge : "", ip, c->ip ? 16 : 0, gateway, c->veth);
  /* Docker's shape: "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}], while published. */
  for (int i = 0; c->proxy && i < c->opts.nports; i++) {
    char hip[INET_ADDRSTRLEN] = "0.0.0.0";
    if (c->opts.ports[i].host_ip) inet_ntop(AF_INET, &c->opts.ports[i].host_ip, hip, sizeof hip);
    buf_printf(b, "%s\"%u/tcp\": [{\"HostIp\": \"%s\", \"HostPort\": \"%u\"}]", i ? ", " : "", c->opts.ports[i].container_port, hip,
               c->opts.ports[i].host_port);
  }
  buf_printf(b, "}},\n");
  buf_printf(b, "    \"Cgroup\": ");
  autofree char *cg = cgroup_path(c->name);
  buf_json_string(b, cg);
  buf_printf(b, ",\n    \"StartPhasesNs\": {");
  for (int i = 0; i < PHASE_COUNT; i++)
    buf_printf(b, "%s\"%s\": %llu", i ? ", " : "", phase_names[i], (unsigned long long)c->phases[i]);
  buf_printf(b, ", \"first_output\": %llu},\n", (unsigned long long)c->first_output_ns);
  /* Made while idle before the request: these are when, the phases above when they were taken. */
  buf_printf(b, "    \"PrewarmedNs\": {\"namespaces\": %llu, \"network\": %llu, \"cgroup\": %llu, \"root\": %llu}\n  }",
             (unsigned long long)c->prewarmed[0], (unsigned long long)c->prewarmed[1], (unsigned long long)c->prewarmed[2],
             (unsigned long long)c->prewarmed[3]);
}

static int verb_inspect(const struct verb_args *va, struct buf *out) {
  int argc = va->noperands + 1;
  if (argc < 2) {
    buf_printf(out, "\"box inspect\" requires at least 1 argument\n");
    return 125;
  }
  struct buf b = {0};
  buf_append(&b, "[\n", 2);
  int found = 0, code = 0;
  for (int i = 1; i < argc; i++) {
    struct container *c = container_find(va->operands[i - 1]);
    if (!c) {
      code = 1;
      continue;
    }
    if (found++) buf_append(&b, ",\n", 2);
    inspect_one(&b, c);
  }
  buf_append(&b, "\n]\n", 3);
  buf_append(out, b.data, b.len);
  for (int i = 1; i < argc; i++)
    if (!container_find(va->operands[i - 1])) buf_printf(out, "Error: No such container: %s\n", va->operands[i - 1]);
  buf_free(&b);
  return code;
}

/* ------------------------------------------------------------------ diff */

struct diff_walk {
  const struct container *c;
  char **lines;
  int n, cap;
};

static bool in_lower(const struct container *c, const char *rel) {
  for (int i = 0; i < c->image->nlayers; i++) {
    autofree char *p = xasprintf("%s/layers/%s%s", cfg.state, c->image->layers[i], rel);
    struct stat st;
    if (lstat(p, &st) == 0) return true;
  }
  return false;
}

static void diff_add(struct diff_walk *w, char kind, const char *rel) {
  if (w->n == w->cap) {
    w->cap = w->cap ? w->cap * 2 : 64;
    w->lines = realloc(w->lines, w->cap * sizeof *w->lines);
    if (!w->lines) abort();
  }
  w->lines[w->n++] = xasprintf("%c %s", kind, rel);
}

static void diff_dir(struct diff_walk *w, const char *upper, const char *rel) {
  autofree char *path = xasprintf("%s%s", upper, rel);
  DIR *d = opendir(path);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    autofree char *sub = xasprintf("%s/%s", rel, e->d_name);
    autofree char *full = xasprintf("%s%s", upper, sub);
    struct stat st;
    if (lstat(full, &st) < 0) continue;
    bool lower = in_lower(w->c, sub);
    /* Mount points boxd made in an image without them, like docker's init layer. */
    if (!lower && (!strcmp(sub, "/proc") || !strcmp(sub, "/dev") || !strcmp(sub, "/sys"))) continue;
    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
      diff_add(w, 'D', sub);
      continue;
    }
    diff_add(w, lower ? 'C' : 'A', sub);
    if (S_ISDIR(st.st_mode)) diff_dir(w, upper, sub);
  }
  closedir(d);
}

static int cmp_lines(const void *a, const void *b) {
  return strcmp(*(char *const *)a + 2, *(char *const *)b + 2);
}

static int verb_diff(const struct verb_args *va, struct buf *out) {
  int code;
  struct container *c = one_container(va, "usage: box diff CONTAINER", out, &code);
  if (!c) return code;
  autofree char *upper = container_upper(c);
  struct diff_walk w = {.c = c};
  diff_dir(&w, upper, "");
  qsort(w.lines, w.n, sizeof *w.lines, cmp_lines);
  for (int i = 0; i < w.n; i++) {
    buf_printf(out, "%s\n", w.lines[i]);
    free(w.lines[i]);
  }
  free(w.lines);
  return 0;
}

/* ------------------------------------------------------------------ lifecycle verbs */

static const char *volume_user(const char *name) { return container_using_volume(name, NULL); }

static int verb_logs(const struct verb_args *va, struct buf *out, struct buf *notes) {
  int argc = va->noperands + 1;
  struct container *c = argc == 2 ? container_find(va->operands[0]) : NULL;
  if (!c) {
    buf_printf(out, argc == 2 ? "Error: No such container: %s\n" : "usage: box logs CONTAINER\n", argc == 2 ? va->operands[0] : "");
    return 1;
  }
  /* The newest bytes are kept; that older ones are gone is said on stderr, never silently. */
  if (c->log_dropped)
    buf_printf(notes, "box: logs of %s: the first %llu bytes are no longer kept (boxd keeps the last %d)\n", c->name,
               (unsigned long long)c->log_dropped, LOG_KEEP);
  buf_append(out, c->log.data, c->log.len);
  return 0;
}

static int verb_stop_rm(struct link *link, uint32_t channel, const struct verb_args *a, struct buf *out, bool rm) {
  int grace = 10;
  bool force = flag_on(a, O_FORCE);
  if (a->value[O_TIME]) {
    char *end;
    errno = 0;
    long t = strtol(a->value[O_TIME], &end, 10);
    if (errno || *end || end == a->value[O_TIME] || t < -1 || t > 3600) {
      buf_printf(out, "invalid argument \"%s\" for \"-t, --timeout\" flag: seconds, -1 to wait for ever, at most 3600\n", a->value[O_TIME]);
      return 125;
    }
    grace = t < 0 ? 3600 : (int)t;
  }
  if (a->noperands != 1) {
    buf_printf(out, "usage: box %s [OPTIONS] CONTAINER (one per request)\n", rm ? "rm" : "stop");
    return 125;
  }
  int i = 0;
  char **argv = a->operands;
  struct container *c = container_find(argv[i]);
  if (!c) {
    buf_printf(out, "Error: No such container: %s\n", argv[i]);
    return 1;
  }
  if (c->state != STATE_RUNNING) {
    buf_printf(out, "%s\n", argv[i]);
    if (rm) container_remove(c);
    return 0;
  }
  if (rm && !force) {
    buf_printf(out, "Error: cannot remove container \"%s\": container is running: stop the container before removing or force remove\n", c->name);
    return 1;
  }
  container_stop(c, rm ? 0 : grace, link, channel, rm);
  return -1; /* replied when it has exited */
}

static int verb_run_detached(struct link *link, uint32_t channel, int argc, char **argv, struct buf *out) {
  char err[1024] = "";
  struct run_opts o;
  if (parse_run(argc, argv, &o, err, sizeof err) < 0) {
    buf_printf(out, "box: %s\n", err);
    return 125;
  }
  o.detach = true;
  return start_detached_request(&o, link, channel, now_ns(), out); /* -1: answered once its layers are there */
}

int answer_verb(struct link *link, uint32_t channel, int argc, char **argv, struct buf *out, struct buf *notes) {
  const char *v = argv[0];
  if (!strcmp(v, "run")) return verb_run_detached(link, channel, argc - 1, argv + 1, out);
  char err[1024];
  struct verb_args a;
  if (parse_verb(v, argc - 1, argv + 1, &a, err, sizeof err) < 0) {
    if (strstr(err, "is not a box command")) {
      buf_printf(out, "box: '%s' is not a box command (run, ps, exec, stop, rm, images, stats, inspect, logs, diff, port, volume)\n", v);
      return 127;
    }
    buf_printf(out, "box %s: %s\n", v, err);
    return 125;
  }
  int code = 127;
  if (!strcmp(v, "ps")) code = verb_ps(&a, out);
  else if (!strcmp(v, "images")) code = verb_images(out);
  else if (!strcmp(v, "stats")) code = verb_stats(&a, out);
  else if (!strcmp(v, "inspect")) code = verb_inspect(&a, out);
  else if (!strcmp(v, "logs")) code = verb_logs(&a, out, notes);
  else if (!strcmp(v, "diff")) code = verb_diff(&a, out);
  else if (!strcmp(v, "port")) code = verb_port(&a, out);
  else if (!strcmp(v, "volume"))
    code = volume_verb(a.operands, a.noperands, (struct volume_flags){flag_on(&a, O_QUIET), flag_on(&a, O_FORCE), flag_on(&a, O_ALL)},
                       volume_user, out);
  else if (!strcmp(v, "save")) {
    registry_refresh_images();
    code = save_verb(registry_images(), &a, out, notes);
  }
  else if (!strcmp(v, "stop")) code = verb_stop_rm(link, channel, &a, out, false);
  else if (!strcmp(v, "rm")) code = verb_stop_rm(link, channel, &a, out, true);
  else if (!strcmp(v, "version")) {
    buf_printf(out, "boxd: box 0.1, mux protocol v1\n");
    code = 0;
  } else buf_printf(out, "box: '%s' cannot be asked for this way\n", v); /* exec: a frame of its own */
  verb_args_free(&a);
  return code;
}
