/* The Dockerfile subset `box build` reads: FROM, RUN, COPY, ENV, WORKDIR, CMD, ENTRYPOINT,
 * EXPOSE, LABEL, VOLUME. Rules from Docker's Dockerfile reference (docs.docker.com/reference/dockerfile):
 * instructions are case-insensitive, `\` at the end of a line continues it, `#` lines are
 * comments, RUN/CMD/ENTRYPOINT/COPY take the exec (JSON array) or the shell form, ENV and LABEL
 * take `key=value …` (quotes and backslash escapes as in the shell) and ENV also `key value`. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

enum df_kind { DF_FROM, DF_RUN, DF_COPY, DF_ENV, DF_WORKDIR, DF_CMD, DF_ENTRYPOINT, DF_EXPOSE, DF_LABEL, DF_VOLUME };

struct df_instruction {
  enum df_kind kind;
  int line;        /* 1-based line the instruction starts on */
  char *text;      /* as written, continuations joined: "RUN echo hi" (what Step lines show) */
  char **args;     /* NULL-terminated. RUN/CMD/ENTRYPOINT: the argv (shell form → /bin/sh -c TEXT);
                    * COPY: sources…, destination; ENV/LABEL: key, value, key, value…;
                    * FROM: image; WORKDIR: path; EXPOSE: port[/proto]…; VOLUME: path… (a JSON
                    * array or words, as Docker takes both) */
  int nargs;
  bool exec_form;  /* written as a JSON array */
};

struct dockerfile {
  struct df_instruction *v;
  int n;
};

/* Parse len bytes. 0, or -EINVAL with err set to one line naming the line and the fault
 * ("line 3: unknown instruction: FOO"). The first instruction must be FROM, and only one FROM. */
int dockerfile_parse(const char *text, size_t len, struct dockerfile *out, char *err, size_t errlen);
void dockerfile_free(struct dockerfile *df);
const char *df_kind_name(enum df_kind k);
