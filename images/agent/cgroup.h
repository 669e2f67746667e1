/* cgroup v2: one group per container under <cgroup root>/box/<name>, with memory.max,
 * pids.max and cpu.max, and the figures `box stats` reports. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cgroup_stats {
  /* memory_current: memory.current − inactive_file, as `docker stats` counts; max 0 = no limit */
  uint64_t memory_current, memory_max;
  uint64_t cpu_usage_usec;
  uint32_t pids_current;
  uint64_t oom_kills;
};

int cgroup_setup(char *err, size_t errlen); /* enable controllers, create box/ */
char *cgroup_path(const char *name);        /* malloc'd */
/* mkdir <root>/box/<name> (an existing one is taken), then cgroup_set_limits; removed again if they fail. */
int cgroup_create(const char *name, int64_t memory, int64_t pids, double cpus, char *err, size_t errlen);
/* memory.max (+ memory.swap.max 0) if memory > 0, pids.max if pids != 0 (< 0: "max"), cpu.max if cpus > 0. */
int cgroup_set_limits(const char *name, int64_t memory, int64_t pids, double cpus, char *err, size_t errlen);
int cgroup_attach(const char *name, pid_t pid, char *err, size_t errlen);
int cgroup_read_stats(const char *name, struct cgroup_stats *st);
int cgroup_remove(const char *name);
