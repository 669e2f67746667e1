/* Command-line options of every verb, parsed the way Docker's CLI (spf13/pflag) does, from one
 * table: `-x V`, `-xV`, `-x=V`, `--long V`, `--long=V`, combined short flags (`-dit`, `-itm 64m`),
 * boolean values (`--privileged=false`), Docker's aliases, and `--`. The CLI and boxd (for
 * frames from the page) parse with the same code, so both refuse the same inputs the same way. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "publish.h"
#include "volumes.h"

enum opt_id {
  O_DETACH, O_INTERACTIVE, O_TTY, O_NAME, O_HOSTNAME, O_MEMORY, O_PIDS, O_CPUS, O_PRIVILEGED,
  O_ALL, O_QUIET, O_TIME, O_FORCE, O_NO_STREAM, O_PUBLISH, O_ENV, O_WORKDIR, O_RM, O_ENTRYPOINT,
  O_TAG, O_FILE, O_NO_CACHE, O_OUTPUT, O_INPUT, /* build, save, load (images.c) */
  O_VOLUME, O_MOUNT, O_TMPFS,
  O_BUILD_STEP, /* run: internal, set only by `box build` (struct run_opts.build_step) */
  O_COUNT
};

/* What a verb was given: flags by id (the last value wins, as in Docker), operands in order. */
struct verb_args {
  bool set[O_COUNT];
  const char *value[O_COUNT]; /* "true"/"false" for booleans; pointers into argv or static */
  char **operands;            /* pointers into argv, NULL-terminated (malloc'd array) */
  int noperands;
  /* Every value, in order, of a flag that may be given more than once (-e): NULL-terminated
   * (malloc'd array of pointers into argv), NULL when not given. */
  const char **every[O_COUNT];
};

/* argv without "box VERB". 0, or -EINVAL with one line in err naming the flag. For run and exec
 * the options end at the first operand (the image or container: what follows is the command). */
int parse_verb(const char *verb, int argc, char **argv, struct verb_args *a, char *err, size_t errlen);
void verb_args_free(struct verb_args *a);
/* Whether a boolean flag is on (given and not =false). */
static inline bool flag_on(const struct verb_args *a, enum opt_id id) {
  return a->set[id] && a->value[id] && a->value[id][0] == 't';
}
/* Every verb's option list ends with an empty entry inside its array (parse_verb scans to it):
 * 0, or -EINVAL naming the verb whose list is full. A unit test runs it. */
int options_table_check(char *err, size_t errlen);
/* Go's strconv.ParseBool, which pflag uses for `--flag=VALUE` on a boolean and docker/cli for
 * `--mount ro=VALUE`: "true", "false", or NULL for anything else. */
const char *parse_go_bool(const char *v);
/* The canonical spelling of an option id (`--time`), for a request the CLI rebuilds. */
const char *opt_long_name(enum opt_id id);

struct run_opts {
  bool detach, interactive, tty, privileged;
  char *name, *hostname, *image;
  int64_t memory; /* bytes, 0 = no limit */
  int64_t pids;   /* 0 = not set (no limit), -1 = explicitly unlimited ("max"), else the limit */
  double cpus;    /* 0 = no limit */
  char **argv;    /* command, NULL-terminated; empty = the image's Cmd */
  struct port_binding *ports; /* -p, in order (host ports the kernel chose are written back) */
  int nports;
  char **env;     /* -e K=V, in order, NULL-terminated; NULL = none (they override the image's Env) */
  char *workdir;  /* -w: absolute; NULL = the image's WorkingDir */
  char *entrypoint; /* --entrypoint: replaces the image's Entrypoint and Cmd ("" = none); NULL = the image's */
  bool remove;    /* --rm: removed once it has exited */
  struct mount_spec *mounts; /* -v, --mount, --tmpfs, parents first (volumes.h); an anonymous volume is named at the start */
  int nmounts;
  /* --internal-build-step: a container `box build` runs for a RUN step. It gets none of the image's
   * config Volumes, so what the step writes under a VOLUME path stays in its upper dir and so in
   * the layer (BuildKit's rule), and no anonymous volume is made for it to leak. Not a Docker flag:
   * set only by build.c, left out of the usage text. */
  bool build_step;
};

/* argv without "box run". 0, or -EINVAL with err set. Strings are copied. */
int parse_run(int argc, char **argv, struct run_opts *o, char *err, size_t errlen);
void run_opts_free(struct run_opts *o);
/* CPUs online: --cpus may be at most this (Docker's rule). */
int cpus_online(void);

/* A frame payload of NUL-terminated strings → argv (strings copied, NULL-terminated).
 * -EINVAL if empty or not NUL-terminated, -E2BIG if more than max args. */
int split_args(const char *payload, size_t len, int max, char ***argv_out, int *argc_out);
void free_args(char **argv);
