#include "options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

enum opt_kind { BOOL, VALUE, LIST /* a value, and the flag may repeat: every value is kept */ };

struct opt_spec {
  enum opt_id id;
  char short_name;   /* 0 = none */
  const char *longs; /* names separated by '|', the first canonical, the rest Docker's aliases */
  enum opt_kind kind;
};

struct verb_spec {
  const char *verb;
  bool interspersed; /* flags may follow operands (false: the first operand ends the options) */
  struct opt_spec opts[20]; /* ends at the first entry without a name: keep one spare */
};

/* Every verb's options. run and exec stop at the image / container, as `docker run` does. */
static const struct verb_spec verbs[] = {
    {"run", false,
     {{O_DETACH, 'd', "detach", BOOL},
      {O_INTERACTIVE, 'i', "interactive", BOOL},
      {O_TTY, 't', "tty", BOOL},
      {O_NAME, 0, "name", VALUE},
      {O_HOSTNAME, 'h', "hostname", VALUE},
      {O_MEMORY, 'm', "memory", VALUE},
      {O_PIDS, 0, "pids-limit|pids", VALUE},
      {O_CPUS, 0, "cpus", VALUE},
      {O_PRIVILEGED, 0, "privileged", BOOL},
      {O_PUBLISH, 'p', "publish", LIST},
      {O_ENV, 'e', "env", LIST},
      {O_WORKDIR, 'w', "workdir", VALUE},
      {O_RM, 0, "rm", BOOL},
      {O_ENTRYPOINT, 0, "entrypoint", VALUE},
      {O_VOLUME, 'v', "volume", LIST},
      {O_MOUNT, 0, "mount", LIST},
      {O_TMPFS, 0, "tmpfs", LIST},
      {O_BUILD_STEP, 0, "internal-build-step", BOOL}}}, /* box build's RUN steps only (run_opts.build_step) */
    {"exec", false, {{O_INTERACTIVE, 'i', "interactive", BOOL}, {O_TTY, 't', "tty", BOOL}}},
    {"ps", true, {{O_ALL, 'a', "all", BOOL}, {O_QUIET, 'q', "quiet", BOOL}}},
    {"stop", true, {{O_TIME, 't', "timeout|time", VALUE}}},
    {"rm", true, {{O_FORCE, 'f', "force", BOOL}}},
    {"stats", true, {{O_NO_STREAM, 0, "no-stream", BOOL}}}, /* box stats always answers once */
    {"images", true, {{0}}},
    {"inspect", true, {{0}}},
    {"logs", true, {{0}}},
    {"diff", true, {{0}}},
    {"port", true, {{0}}},
    /* box volume create|ls|rm|inspect|prune (volumes.h) */
    {"volume", true, {{O_QUIET, 'q', "quiet", BOOL}, {O_FORCE, 'f', "force", BOOL}, {O_ALL, 'a', "all", BOOL}}},
    {"version", true, {{0}}},
    /* Image verbs the CLI runs itself on the store (build.c, archive.c). */
    {"build", true, {{O_TAG, 't', "tag", VALUE}, {O_FILE, 'f', "file", VALUE}, {O_NO_CACHE, 0, "no-cache", BOOL}}},
    {"history", true, {{O_QUIET, 'q', "quiet", BOOL}}},
    {"save", true, {{O_OUTPUT, 'o', "output", VALUE}}},
    {"load", true, {{O_INPUT, 'i', "input", VALUE}, {O_QUIET, 'q', "quiet", BOOL}}},
};

int options_table_check(char *err, size_t errlen) {
  for (size_t v = 0; v < N_ELEMENTS(verbs); v++)
    if (verbs[v].opts[N_ELEMENTS(verbs[v].opts) - 1].longs)
      return set_err(err, errlen, 0, "box %s has no room left for the table's end: grow opts[]", verbs[v].verb);
  return 0;
}

static const struct verb_spec *verb_spec(const char *verb) {
  for (size_t i = 0; i < N_ELEMENTS(verbs); i++)
    if (!strcmp(verbs[i].verb, verb)) return &verbs[i];
  return NULL;
}

/* Does `name` (length n) match one of the '|'-separated names? */
static bool long_matches(const char *longs, const char *name, size_t n) {
  for (const char *p = longs; p && *p;) {
    const char *bar = strchr(p, '|');
    size_t len = bar ? (size_t)(bar - p) : strlen(p);
    if (len == n && !strncmp(p, name, n)) return true;
    p = bar ? bar + 1 : NULL;
  }
  return false;
}

const char *opt_long_name(enum opt_id id) {
  static char names[O_COUNT][24];
  for (size_t v = 0; v < N_ELEMENTS(verbs); v++)
    for (const struct opt_spec *o = verbs[v].opts; o->longs; o++)
      if (o->id == id) {
        snprintf(names[id], sizeof names[id], "--%.*s", (int)strcspn(o->longs, "|"), o->longs);
        return names[id];
      }
  return "--?";
}

const char *parse_go_bool(const char *v) {
  static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"}, *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
  for (size_t i = 0; i < N_ELEMENTS(yes); i++)
    if (!strcmp(v, yes[i])) return "true";
  for (size_t i = 0; i < N_ELEMENTS(no); i++)
    if (!strcmp(v, no[i])) return "false";
  return NULL;
}

/* A flag's value: the last one wins; a LIST flag keeps every one too. */
static void set_value(struct verb_args *a, const struct opt_spec *o, const char *value) {
  a->set[o->id] = true;
  a->value[o->id] = value;
  if (o->kind != LIST) return;
  size_t n = 0;
  while (a->every[o->id] && a->every[o->id][n]) n++;
  a->every[o->id] = realloc(a->every[o->id], (n + 2) * sizeof *a->every[o->id]);
  if (!a->every[o->id]) abort();
  a->every[o->id][n] = value;
  a->every[o->id][n + 1] = NULL;
}

int parse_verb(const char *verb, int argc, char **argv, struct verb_args *a, char *err, size_t errlen) {
  memset(a, 0, sizeof *a);
  const struct verb_spec *vs = verb_spec(verb);
  if (!vs) return set_err(err, errlen, 0, "'%s' is not a box command", verb);
  a->operands = xcalloc(argc + 1, sizeof *a->operands);
  bool only_operands = false;
  for (int i = 0; i < argc; i++) {
    char *arg = argv[i];
    if (only_operands || arg[0] != '-' || !arg[1]) {
      a->operands[a->noperands++] = arg;
      if (!vs->interspersed) only_operands = true;
      continue;
    }
    if (!strcmp(arg, "--")) {
      only_operands = true;
      continue;
    }
    if (arg[1] == '-') {
      const char *name = arg + 2, *eq = strchr(name, '=');
      size_t n = eq ? (size_t)(eq - name) : strlen(name);
      const struct opt_spec *o = vs->opts;
      while (o->longs && !long_matches(o->longs, name, n)) o++;
      if (!o->longs) {
        verb_args_free(a);
        return set_err(err, errlen, 0, "unknown flag: --%.*s", (int)n, name);
      }
      const char *value = eq ? eq + 1 : NULL;
      if (o->kind != BOOL && !value) {
        if (i + 1 >= argc) {
          verb_args_free(a);
          return set_err(err, errlen, 0, "flag needs an argument: --%.*s", (int)n, name);
        }
        value = argv[++i];
      } else if (o->kind == BOOL) {
        const char *b = value ? parse_go_bool(value) : "true";
        if (!b) {
          verb_args_free(a);
          return set_err(err, errlen, 0, "invalid argument \"%s\" for \"--%.*s\" flag: true or false", value, (int)n, name);
        }
        value = b;
      }
      set_value(a, o, value);
      continue;
    }
    /* Shorthands: booleans combine (-dit); one taking a value takes the rest of the word or the next. */
    for (const char *c = arg + 1; *c; c++) {
      const struct opt_spec *o = vs->opts;
      while (o->longs && o->short_name != *c) o++;
      if (!o->longs) {
        verb_args_free(a);
        return set_err(err, errlen, 0, "unknown shorthand flag: '%c' in %s", *c, arg);
      }
      const char *value;
      if (o->kind == BOOL) {
        value = "true";
        if (c[1] == '=') {
          if (!(value = parse_go_bool(c + 2))) {
            verb_args_free(a);
            return set_err(err, errlen, 0, "invalid argument \"%s\" for \"-%c\" flag: true or false", c + 2, *c);
          }
          c += strlen(c) - 1;
        }
      } else {
        if (c[1]) {
          value = c[1] == '=' ? c + 2 : c + 1;
        } else if (i + 1 < argc) {
          value = argv[++i];
        } else {
          verb_args_free(a);
          return set_err(err, errlen, 0, "flag needs an argument: '%c' in %s", *c, arg);
        }
        set_value(a, o, value);
        break;
      }
      set_value(a, o, value);
    }
  }
  return 0;
}

void verb_args_free(struct verb_args *a) {
  free(a->operands);
  for (int i = 0; i < O_COUNT; i++) free(a->every[i]);
  memset(a, 0, sizeof *a);
}

static bool valid_name(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 63) return false;
  for (const char *p = s; *p; p++) {
    bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              (p != s && (*p == '-' || *p == '_' || *p == '.'));
    if (!ok) return false;
  }
  return true;
}

int cpus_online(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

int parse_run(int argc, char **argv, struct run_opts *o, char *err, size_t errlen) {
  memset(o, 0, sizeof *o);
  struct verb_args a;
  if (parse_verb("run", argc, argv, &a, err, errlen) < 0) return -EINVAL;
  int rc = -EINVAL;
  o->detach = flag_on(&a, O_DETACH);
  o->interactive = flag_on(&a, O_INTERACTIVE);
  o->tty = flag_on(&a, O_TTY);
  o->privileged = flag_on(&a, O_PRIVILEGED);
  const char *val;
  if ((val = a.value[O_NAME])) {
    if (!valid_name(val)) {
      set_err(err, errlen, 0, "invalid container name '%s': use [a-zA-Z0-9][a-zA-Z0-9_.-], at most 63", val);
      goto out;
    }
    o->name = xstrdup(val);
  }
  if ((val = a.value[O_HOSTNAME])) {
    if (!valid_name(val)) {
      set_err(err, errlen, 0, "invalid hostname '%s'", val);
      goto out;
    }
    o->hostname = xstrdup(val);
  }
  if ((val = a.value[O_MEMORY])) {
    o->memory = parse_size(val);
    if (o->memory < 0) {
      set_err(err, errlen, 0, "invalid --memory '%s': bytes, or a number with k, m or g", val);
      goto out;
    }
    if (o->memory && o->memory < 4 << 20) {
      set_err(err, errlen, 0, "--memory %s is below the minimum of 4m", val);
      goto out;
    }
  }
  if ((val = a.value[O_PIDS])) {
    char *end;
    errno = 0;
    long long n = strtoll(val, &end, 10);
    if (errno || *end || end == val || n > 4194304) {
      set_err(err, errlen, 0, "invalid --pids-limit '%s': a number up to 4194304, or -1 for unlimited", val);
      goto out;
    }
    o->pids = n > 0 ? n : -1; /* Docker: 0 or below is unlimited */
  }
  if ((val = a.value[O_CPUS])) {
    char *end;
    errno = 0;
    double f = strtod(val, &end);
    int ncpu = cpus_online();
    if (errno || *end || end == val || f != f) {
      set_err(err, errlen, 0, "invalid argument \"%s\" for \"--cpus\" flag: a number", val);
      goto out;
    }
    if (f != 0 && !(f >= 0.01 && f <= ncpu)) {
      /* Docker's words: a limit above the CPUs there are would limit nothing. */
      set_err(err, errlen, 0, "Range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available", ncpu, ncpu);
      goto out;
    }
    o->cpus = f;
  }
  for (const char **p = a.every[O_PUBLISH]; p && *p; p++) {
    o->ports = realloc(o->ports, (o->nports + 1) * sizeof *o->ports);
    if (!o->ports) abort();
    if (parse_port_binding(*p, &o->ports[o->nports++], err, errlen) < 0) goto out;
  }
  for (const char **e = a.every[O_ENV]; e && *e; e++) {
    /* Docker takes `-e NAME` from the client's environment; boxd cannot see the CLI's, so the
     * value must be given. */
    if (!strchr(*e, '=')) {
      set_err(err, errlen, 0, "invalid environment variable: %s (give it a value: -e %s=VALUE)", *e, *e);
      goto out;
    }
    if (**e == '=') {
      set_err(err, errlen, 0, "invalid environment variable: %s", *e);
      goto out;
    }
  }
  if (a.every[O_ENV]) {
    int n = 0;
    while (a.every[O_ENV][n]) n++;
    o->env = xcalloc(n + 1, sizeof *o->env);
    for (int k = 0; k < n; k++) o->env[k] = xstrdup(a.every[O_ENV][k]);
  }
  if ((val = a.value[O_WORKDIR])) {
    if (val[0] != '/') {
      set_err(err, errlen, 0, "the working directory '%s' is invalid, it needs to be an absolute path", val);
      goto out;
    }
    o->workdir = xstrdup(val);
  }
  if ((val = a.value[O_ENTRYPOINT])) o->entrypoint = xstrdup(val);
  if (mount_specs_parse(a.every[O_VOLUME], a.every[O_MOUNT], a.every[O_TMPFS], &o->mounts, &o->nmounts, err, errlen) < 0) goto out;
  o->remove = flag_on(&a, O_RM);
  o->build_step = flag_on(&a, O_BUILD_STEP);
  if (a.noperands < 1) {
    set_err(err, errlen, 0, "\"box run\" requires at least 1 argument: box run [OPTIONS] IMAGE [COMMAND] [ARG...]");
    goto out;
  }
  o->image = xstrdup(a.operands[0]);
  o->argv = xcalloc(a.noperands, sizeof *o->argv);
  for (int k = 1; k < a.noperands; k++) o->argv[k - 1] = xstrdup(a.operands[k]);
  rc = 0;
out:
  verb_args_free(&a);
  if (rc < 0) run_opts_free(o);
  return rc;
}

void run_opts_free(struct run_opts *o) {
  free(o->name);
  free(o->hostname);
  free(o->image);
  free(o->ports);
  free_args(o->argv);
  free_args(o->env);
  free(o->workdir);
  free(o->entrypoint);
  mount_specs_free(o->mounts, o->nmounts);
  memset(o, 0, sizeof *o);
}

int split_args(const char *payload, size_t len, int max, char ***argv_out, int *argc_out) {
  if (len == 0 || payload[len - 1] != 0) return -EINVAL;
  int n = 0;
  for (size_t i = 0; i < len; i++) n += payload[i] == 0;
  if (n > max) return -E2BIG;
  char **argv = xcalloc(n + 1, sizeof *argv);
  const char *p = payload;
  for (int i = 0; i < n; i++) {
    argv[i] = xstrdup(p);
    p += strlen(p) + 1;
  }
  *argv_out = argv;
  *argc_out = n;
  return 0;
}

void free_args(char **argv) {
  if (!argv) return;
  for (char **a = argv; *a; a++) free(*a);
  free(argv);
}
