/* One container: its record (registry.c keeps them all), and starting it (clone into new
 * namespaces, mounts, cgroup, veth, exec) or a second process inside it (box exec). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "oci.h"
#include "options.h"
#include "util.h"

/* Start phases, in the order STARTED reports them. */
enum phase { PHASE_RECEIVED, PHASE_LAYERS, PHASE_NAMESPACES, PHASE_MOUNTS, PHASE_CGROUP, PHASE_NETWORK, PHASE_EXEC, PHASE_COUNT };
extern const char *const phase_names[PHASE_COUNT];

enum container_state { STATE_CREATED, STATE_RUNNING, STATE_EXITED };

#define LOG_KEEP (64 * 1024)
#define MAX_PENDING 8 /* stop/rm requests that may wait for one container's exit */

struct link;

/* A child already in new pid/mount/uts/ipc/net namespaces (optionally with its veth),
 * waiting for the container it will become: made ahead of time, it takes namespace
 * creation (the slow part, RCU and netns setup) out of the start. */
struct prepared {
  pid_t pid;
  int id;
  int report_rd, go_wr;
  char veth[16];
  uint64_t namespaces_ns, network_ns;
  /* For an image given to namespaces_prepare, the container it would start unnamed is
   * `name` (<image>-<id>): run/<name> is made and, if `root_ns`, the child mounted that image's
   * overlay over it (`lower` its lowerdir=, malloc'd); if `cgroup_ns`, the child is in
   * box/<name>. "" / 0 / NULL: not made (or taken over by a start). */
  char name[128];
  char *lower;
  uint64_t root_ns, cgroup_ns;
};
/* Where a start is: each stage waits for the child's next report. */
struct start_state {
  enum { START_MOUNTS, START_EXEC, START_EXECED, START_DONE } stage;
  struct prepared p;
  bool warm;
  bool in_cgroup; /* the child already is in the container's cgroup (prepared for its name) */
  int master; /* the pty, once the child sent it */
};
struct container {
  int id;          /* small sequence number; also picks the address 10.88.x.y */
  char cid[13];    /* 12 hex digits, docker's short id */
  char *name, *hostname;
  struct image *image;
  struct run_opts opts;
  char **argv;     /* the command actually run */
  char **env;
  const char *workdir; /* where the command starts: -w, else the image's (NULL = /); not owned */
  pid_t pid;       /* PID 1 of the container, host view */
  enum container_state state;
  int status;      /* wait status once exited */
  time_t created;  /* wall clock */
  time_t finished; /* wall clock, once exited */
  uint64_t phases[PHASE_COUNT];
  uint64_t first_output_ns;
  /* When its namespaces, veth, cgroup and root overlay were made ahead of the request; 0 = at it. */
  uint64_t prewarmed[4];
  uint32_t ip;     /* network order, 0 without network */
  pid_t proxy;     /* the port proxy while it has published ports (publish.h), else 0 */
  char veth[16];
  struct buf log;  /* the last LOG_KEEP bytes of its terminal */
  uint64_t log_dropped; /* bytes before those, no longer kept (`logs` says so) */
  struct start_state start; /* while STATE_CREATED: how far its start is */
  /* A stop under way (registry.c): when SIGTERM turns into SIGKILL (monotonic ns; 0 = none),
   * whether it goes once exited (`rm -f`, REMOVE), and who waits for its exit (a RESULT each). */
  uint64_t stop_deadline;
  bool remove_on_exit;
  struct pending_reply { struct link *link; uint32_t channel; } pending[MAX_PENDING];
};

/* The directory with upper/ and work/ for a container (malloc'd). */
char *container_dir(const struct container *c);
char *container_upper(const struct container *c);
/* Clone the child of a start (new pid, mount, uts, ipc, net namespaces) with id `id`; with_network:
 * its veth too. With an image (may be NULL) whose layers are unpacked, also what a start of it
 * unnamed needs (struct prepared): its state directory, overlay and cgroup. 0 or < 0 (err set). */
int namespaces_prepare(struct prepared *p, int id, bool with_network, const struct image *im, char *err, size_t errlen);
/* Kill the child (if p->pid) and remove what was made for it and not taken over by a start. */
void namespaces_discard(struct prepared *p);
/* A prepared cgroup a start did not take (its name differed) is removed here, once its child
 * left it: called while idle, so no start pays the rmdir. */
void prepared_leftovers_remove(void);

/* What container_start_blocking and container_exec return when the runtime worked but the command
 * could not be run: Docker's exit codes 127 (not found) and 126 (cannot be invoked), negated.
 * Any other negative return is a runtime failure (Docker's 125). */
#define START_NOT_FOUND (-127)
#define START_CANNOT_INVOKE (-126)
static inline int start_exit_code(int rc) { return rc == START_NOT_FOUND || rc == START_CANNOT_INVOKE ? -rc : 125; }
int exec_failure_code(int err);

/* Start PID 1, in `warm` if given, else in namespaces made now. On success c->pid,
 * c->phases and *master (the pty) are set. Blocks until it runs (or fails). */
int container_start_blocking(struct container *c, struct prepared *warm, int *master, char *err, size_t errlen);
/* The same in steps, for the daemon's loop: begin (0, or < 0 with nothing left behind), then
 * step whenever c->start.p.report_rd is readable: 0 = more to come, 1 = running (*master set),
 * < 0 = failed (cleaned up; START_NOT_FOUND / START_CANNOT_INVOKE for the command).
 * abort: give up a start in progress (kill its child, remove what it made). */
int container_start_begin(struct container *c, struct prepared *warm, char *err, size_t errlen);
int container_start_step(struct container *c, int *master, char *err, size_t errlen);
void container_start_abort(struct container *c);
/* Run argv inside a running container with its own pty. */
int container_exec(const struct container *c, char **argv, bool tty, int *master, pid_t *pid, char *err, size_t errlen);
/* Remove what a start left on the host (veth goes with the netns; cgroup, upper dir). */
void container_cleanup(struct container *c);
void log_append(struct container *c, const void *data, size_t len);

/* Set up box0 with 10.88.0.1/16 (idempotent). */
int network_setup(char *err, size_t errlen);
