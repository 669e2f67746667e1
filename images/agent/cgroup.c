#include "cgroup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

char *cgroup_path(const char *name) { return xasprintf("%s/box/%s", cfg.cgroup, name); }

static int enable_controllers(const char *dir) {
  autofree char *path = xasprintf("%s/cgroup.subtree_control", dir);
  /* One at a time: a controller missing from the kernel must not stop the others. */
  int rc = 0;
  const char *ctl[] = {"+memory", "+pids", "+cpu"};
  for (size_t i = 0; i < N_ELEMENTS(ctl); i++) {
    int r = write_file(path, ctl[i]);
    if (r < 0) rc = r;
  }
  return rc;
}

int cgroup_setup(char *err, size_t errlen) {
  int rc = enable_controllers(cfg.cgroup);
  if (rc < 0) log_msg("cgroup: enabling controllers in %s: %s", cfg.cgroup, strerror(-rc));
  autofree char *box = xasprintf("%s/box", cfg.cgroup);
  if (mkdir(box, 0755) < 0 && errno != EEXIST) return set_err(err, errlen, errno, "mkdir %s", box);
  rc = enable_controllers(box);
  if (rc < 0) log_msg("cgroup: enabling controllers in %s: %s", box, strerror(-rc));
  return 0;
}

static int set_knob(const char *dir, const char *knob, const char *value, char *err, size_t errlen) {
  autofree char *path = xasprintf("%s/%s", dir, knob);
  int rc = write_file(path, value);
  if (rc < 0) return set_err(err, errlen, -rc, "cgroup %s=%s", knob, value);
  return 0;
}

int cgroup_set_limits(const char *name, int64_t memory, int64_t pids, double cpus, char *err, size_t errlen) {
  autofree char *dir = cgroup_path(name);
  char v[64];
  int rc;
  if (memory > 0) {
    snprintf(v, sizeof v, "%lld", (long long)memory);
    if ((rc = set_knob(dir, "memory.max", v, err, errlen)) < 0) return rc;
    /* Without swap the limit is hard; keep swap out of it where the kernel has swap. */
    set_knob(dir, "memory.swap.max", "0", err, errlen);
  }
  if (pids != 0) {
    if (pids > 0) snprintf(v, sizeof v, "%lld", (long long)pids);
    else snprintf(v, sizeof v, "max"); /* --pids-limit -1: unlimited, as Docker means it */
    if ((rc = set_knob(dir, "pids.max", v, err, errlen)) < 0) return rc;
  }
  if (cpus > 0) {
    snprintf(v, sizeof v, "%lld 100000", (long long)(cpus * 100000));
    if ((rc = set_knob(dir, "cpu.max", v, err, errlen)) < 0) return rc;
  }
  return 0;
}

int cgroup_create(const char *name, int64_t memory, int64_t pids, double cpus, char *err, size_t errlen) {
  autofree char *dir = cgroup_path(name);
  if (mkdir(dir, 0755) < 0 && errno != EEXIST) return set_err(err, errlen, errno, "mkdir %s", dir);
  int rc = cgroup_set_limits(name, memory, pids, cpus, err, errlen);
  if (rc < 0) rmdir(dir);
  return rc;
}

int cgroup_attach(const char *name, pid_t pid, char *err, size_t errlen) {
  autofree char *dir = cgroup_path(name);
  char v[32];
  snprintf(v, sizeof v, "%d", (int)pid);
  return set_knob(dir, "cgroup.procs", v, err, errlen);
}

static uint64_t read_u64(const char *dir, const char *knob) {
  autofree char *path = xasprintf("%s/%s", dir, knob);
  autofree char *text = read_file(path, NULL);
  return text ? strtoull(text, NULL, 10) : 0;
}

static uint64_t read_keyed(const char *dir, const char *knob, const char *key) {
  autofree char *path = xasprintf("%s/%s", dir, knob);
  autofree char *text = read_file(path, NULL);
  size_t klen = strlen(key);
  for (char *line = text; line && *line;) {
    if (!strncmp(line, key, klen) && line[klen] == ' ') return strtoull(line + klen + 1, NULL, 10);
    line = strchr(line, '\n');
    if (line) line++;
  }
  return 0;
}

int cgroup_read_stats(const char *name, struct cgroup_stats *st) {
  autofree char *dir = cgroup_path(name);
  memset(st, 0, sizeof *st);
  if (access(dir, F_OK) < 0) return -errno;
  /* What `docker stats` calls usage on cgroup v2: memory.current without inactive_file, the page
   * cache nobody is using. The first container to read a file from the image store is charged
   * for its cache (about 2 MB of busybox), which is not memory the container holds. */
  uint64_t current = read_u64(dir, "memory.current");
  uint64_t inactive_file = read_keyed(dir, "memory.stat", "inactive_file");
  st->memory_current = current > inactive_file ? current - inactive_file : 0;
  st->memory_max = read_u64(dir, "memory.max"); /* "max" reads as 0 */
  st->cpu_usage_usec = read_keyed(dir, "cpu.stat", "usage_usec");
  st->pids_current = (uint32_t)read_u64(dir, "pids.current");
  st->oom_kills = read_keyed(dir, "memory.events", "oom_kill");
  return 0;
}

int cgroup_remove(const char *name) {
  autofree char *dir = cgroup_path(name);
  return rmdir(dir) < 0 && errno != ENOENT ? -errno : 0;
}
