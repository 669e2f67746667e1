/* `box run` flag parsing, frame argument lists and sizes. */
#include <errno.h>
#include <stdlib.h>

#include "options.h"
#include "tap.h"
#include "util.h"

static int parse(const char *const *args, struct run_opts *o, char *err, size_t n) {
  int argc = 0;
  while (args[argc]) argc++;
  return parse_run(argc, (char **)args, o, err, n);
}

int main(void) {
  struct run_opts o;
  char err[256];
  const char *full[] = {"-d", "-it", "--name", "c1", "--hostname=h1", "--memory", "64m", "--pids", "20",
                        "--cpus", "0.5", "--privileged", "busybox", "sh", "-c", "echo hi", NULL};
  CHECK(parse(full, &o, err, sizeof err) == 0, "every flag");
  CHECK(o.detach && o.interactive && o.tty && o.privileged, "booleans");
  CHECK_STR(o.name, "c1", "name");
  CHECK_STR(o.hostname, "h1", "--flag=value form");
  CHECK(o.memory == 64 << 20 && o.pids == 20 && o.cpus == 0.5, "limits");
  CHECK_STR(o.image, "busybox", "image");
  CHECK(o.argv[0] && !strcmp(o.argv[2], "echo hi") && !o.argv[3], "command after the image, flags in it untouched");
  run_opts_free(&o);

  const char *plain[] = {"web", NULL};
  CHECK(parse(plain, &o, err, sizeof err) == 0 && o.argv[0] == NULL && !o.memory, "image only");
  run_opts_free(&o);

  struct { const char *args[6]; const char *why; } bad[] = {
      {{"--bogus", "busybox"}, "unknown flag"},
      {{"--name"}, "missing value"},
      {{"--memory", "lots", "busybox"}, "malformed size"},
      {{"--memory", "100k", "busybox"}, "memory below the minimum"},
      {{"--pids-limit", "x", "busybox"}, "pids not a number"},
      {{"--cpus", "-1", "busybox"}, "negative cpus"},
      {{"--name", "../x", "busybox"}, "name with a slash"},
      {{"-d"}, "no image"},
      {{"-d=yes", "busybox"}, "a boolean flag given something other than true or false"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    err[0] = 0;
    CHECK(parse(bad[i].args, &o, err, sizeof err) < 0 && err[0], "rejects %s (%s)", bad[i].why, err);
  }

  char **argv;
  int argc;
  CHECK(split_args("ps\0-a\0", 6, 8, &argv, &argc) == 0 && argc == 2 && !strcmp(argv[1], "-a") && !argv[2], "split_args");
  free_args(argv);
  CHECK(split_args("ps", 2, 8, &argv, &argc) < 0, "split_args wants a final NUL");
  CHECK(split_args("", 0, 8, &argv, &argc) < 0, "split_args rejects empty");
  CHECK(split_args("a\0b\0c\0", 6, 2, &argv, &argc) == -E2BIG, "split_args limits the count");
  CHECK(split_args("a\0b\0", 4, 2, &argv, &argc) == 0 && argc == 2, "split_args at its limit");
  free_args(argv);

  CHECK(parse_size("1048576") == 1048576 && parse_size("1k") == 1024 && parse_size("2G") == 2LL << 30 &&
            parse_size("1.5m") == 3 << 19 && parse_size("8mb") == 8 << 20,
        "parse_size units");
  CHECK(parse_size("") < 0 && parse_size("-1") < 0 && parse_size("1x") < 0 && parse_size("1e30") < 0, "parse_size rejects");
  return tap_done();
}
