#include "options.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

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

int parse_run(int argc, char **argv, struct run_opts *o, char *err, size_t errlen) {
  memset(o, 0, sizeof *o);
  int i = 0;
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *a = argv[i];
    const char *val = NULL;
    char *eq = strchr(a, '=');
    char flag[32];
    size_t flen = eq ? (size_t)(eq - a) : strlen(a);
    if (flen >= sizeof flag) goto bad_flag;
    memcpy(flag, a, flen);
    flag[flen] = 0;
    if (eq) val = eq + 1;
    bool takes_value = !strcmp(flag, "--name") || !strcmp(flag, "--hostname") || !strcmp(flag, "-h") ||
                       !strcmp(flag, "--memory") || !strcmp(flag, "-m") || !strcmp(flag, "--pids") ||
                       !strcmp(flag, "--pids-limit") || !strcmp(flag, "--cpus");
    if (takes_value && !val) {
      if (i + 1 >= argc) {
        run_opts_free(o);
        return set_err(err, errlen, 0, "flag needs an argument: %s", flag);
      }
      val = argv[++i];
    } else if (!takes_value && val) {
      goto bad_flag;
    }
    if (!strcmp(flag, "-d") || !strcmp(flag, "--detach")) o->detach = true;
    else if (!strcmp(flag, "-i") || !strcmp(flag, "--interactive")) o->interactive = true;
    else if (!strcmp(flag, "-t") || !strcmp(flag, "--tty")) o->tty = true;
    else if (!strcmp(flag, "-it") || !strcmp(flag, "-ti")) o->interactive = o->tty = true;
    else if (!strcmp(flag, "-dit") || !strcmp(flag, "-itd") || !strcmp(flag, "-dt") || !strcmp(flag, "-td"))
      o->detach = o->tty = o->interactive = true;
    else if (!strcmp(flag, "--privileged")) o->privileged = true;
    else if (!strcmp(flag, "--name")) {
      if (!valid_name(val)) {
        run_opts_free(o);
        return set_err(err, errlen, 0, "invalid container name '%s': use [a-zA-Z0-9][a-zA-Z0-9_.-], at most 63", val);
      }
      free(o->name);
      o->name = xstrdup(val);
    } else if (!strcmp(flag, "--hostname") || !strcmp(flag, "-h")) {
      if (!valid_name(val)) {
        run_opts_free(o);
        return set_err(err, errlen, 0, "invalid hostname '%s'", val);
      }
      free(o->hostname);
      o->hostname = xstrdup(val);
    } else if (!strcmp(flag, "--memory") || !strcmp(flag, "-m")) {
      o->memory = parse_size(val);
      if (o->memory < 0) {
        run_opts_free(o);
        return set_err(err, errlen, 0, "invalid --memory '%s': bytes, or a number with k, m or g", val);
      }
      if (o->memory && o->memory < 4 << 20) {
        run_opts_free(o);
        return set_err(err, errlen, 0, "--memory %s is below the minimum of 4m", val);
      }
    } else if (!strcmp(flag, "--pids") || !strcmp(flag, "--pids-limit")) {
      char *end;
      errno = 0;
      long long n = strtoll(val, &end, 10);
      if (errno || *end || end == val || n < 1 || n > 4194304) {
        run_opts_free(o);
        return set_err(err, errlen, 0, "invalid --pids '%s': a number from 1 to 4194304", val);
      }
      o->pids = n;
    } else if (!strcmp(flag, "--cpus")) {
      char *end;
      errno = 0;
      double f = strtod(val, &end);
      if (errno || *end || end == val || !(f >= 0.01 && f <= 64)) {
        run_opts_free(o);
        return set_err(err, errlen, 0, "invalid --cpus '%s': a number from 0.01 to 64", val);
      }
      o->cpus = f;
    } else {
      goto bad_flag;
    }
  }
  if (i >= argc) {
    run_opts_free(o);
    return set_err(err, errlen, 0, "\"box run\" requires an image: box run [OPTIONS] IMAGE [COMMAND] [ARG...]");
  }
  o->image = xstrdup(argv[i++]);
  o->argv = xcalloc(argc - i + 1, sizeof *o->argv);
  for (int k = 0; i < argc; i++, k++) o->argv[k] = xstrdup(argv[i]);
  return 0;
bad_flag:
  set_err(err, errlen, 0, "unknown flag: %s", argv[i]);
  run_opts_free(o);
  return -EINVAL;
}

void run_opts_free(struct run_opts *o) {
  free(o->name);
  free(o->hostname);
  free(o->image);
  free_args(o->argv);
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
