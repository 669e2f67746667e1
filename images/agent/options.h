/* `box run` flags, parsed the same way whether they came from the CLI or a RUN frame. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct run_opts {
  bool detach, interactive, tty, privileged;
  char *name, *hostname, *image;
  int64_t memory; /* bytes, 0 = no limit */
  int64_t pids;   /* 0 = no limit */
  double cpus;    /* 0 = no limit */
  char **argv;    /* command, NULL-terminated; empty = the image's Cmd */
};

/* argv without "box run". 0, or -EINVAL with err set. Strings are copied. */
int parse_run(int argc, char **argv, struct run_opts *o, char *err, size_t errlen);
void run_opts_free(struct run_opts *o);

/* A frame payload of NUL-terminated strings → argv (strings copied, NULL-terminated).
 * -EINVAL if empty, not NUL-terminated, or more than max args. */
int split_args(const char *payload, size_t len, int max, char ***argv_out, int *argc_out);
void free_args(char **argv);
