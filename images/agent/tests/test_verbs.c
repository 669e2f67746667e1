/* Options in every form Docker's CLI accepts, for every verb (issue 11, item 1), and resource
 * limits with Docker's meaning (item 3): one table, each row an input and what it must mean. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "options.h"
#include "tap.h"
#include "util.h"

#define MAXA 8

struct row {
  const char *verb;
  const char *args[MAXA];
  const char *want;     /* "id=value ..." for the flags, then "| op op" for the operands; NULL = refused */
  const char *err_has;  /* refused: the one line must name this */
};

/* By id, so a new option in the enum cannot shift the names of the others. */
static const char *const names[O_COUNT] = {
    [O_DETACH] = "detach", [O_INTERACTIVE] = "interactive", [O_TTY] = "tty", [O_NAME] = "name", [O_HOSTNAME] = "hostname",
    [O_MEMORY] = "memory", [O_PIDS] = "pids", [O_CPUS] = "cpus", [O_PRIVILEGED] = "privileged", [O_ALL] = "all",
    [O_QUIET] = "quiet", [O_TIME] = "time", [O_FORCE] = "force", [O_NO_STREAM] = "no-stream", [O_PUBLISH] = "publish",
    [O_ENV] = "env", [O_WORKDIR] = "workdir", [O_RM] = "rm", [O_ENTRYPOINT] = "entrypoint", [O_TAG] = "tag",
    [O_FILE] = "file", [O_NO_CACHE] = "no-cache", [O_OUTPUT] = "output", [O_INPUT] = "input"};

/* What parse_verb understood, in the table's notation. */
static void describe(const struct verb_args *a, char *out, size_t n) {
  size_t at = 0;
  out[0] = 0;
  for (int i = 0; i < O_COUNT; i++)
    if (a->set[i]) at += snprintf(out + at, n - at, "%s%s=%s", at ? " " : "", names[i], a->value[i]);
  at += snprintf(out + at, n - at, "%s|", at ? " " : "");
  for (int i = 0; i < a->noperands; i++) at += snprintf(out + at, n - at, " %s", a->operands[i]);
}

static const struct row rows[] = {
    /* stop: the reported input (`--time 1 c` was refused) and every other form. */
    {"stop", {"--time", "1", "c"}, "time=1 | c"},
    {"stop", {"--time=1", "c"}, "time=1 | c"},
    {"stop", {"--timeout", "1", "c"}, "time=1 | c"},
    {"stop", {"--timeout=1", "c"}, "time=1 | c"},
    {"stop", {"-t", "1", "c"}, "time=1 | c"},
    {"stop", {"-t1", "c"}, "time=1 | c"},
    {"stop", {"-t=1", "c"}, "time=1 | c"},
    {"stop", {"c", "-t", "1"}, "time=1 | c"},
    {"stop", {"c1", "c2"}, "| c1 c2"},
    {"stop", {"--", "-c"}, "| -c"},
    {"stop", {"-t"}, NULL, "flag needs an argument: 't' in -t"},
    {"stop", {"--time"}, NULL, "flag needs an argument: --time"},
    {"stop", {"--bogus", "c"}, NULL, "unknown flag: --bogus"},
    {"stop", {"-x", "c"}, NULL, "unknown shorthand flag: 'x' in -x"},
    /* rm */
    {"rm", {"-f", "c"}, "force=true | c"},
    {"rm", {"--force", "c"}, "force=true | c"},
    {"rm", {"--force=true", "c"}, "force=true | c"},
    {"rm", {"--force=false", "c"}, "force=false | c"},
    {"rm", {"c", "-f"}, "force=true | c"},
    {"rm", {"-fv", "c"}, NULL, "unknown shorthand flag: 'v' in -fv"},
    {"rm", {"--force=maybe", "c"}, NULL, "invalid argument \"maybe\" for \"--force\""},
    /* ps */
    {"ps", {"-a"}, "all=true |"},
    {"ps", {"--all"}, "all=true |"},
    {"ps", {"-aq"}, "all=true quiet=true |"},
    {"ps", {"-qa"}, "all=true quiet=true |"},
    {"ps", {"-a", "--quiet"}, "all=true quiet=true |"},
    {"ps", {"-a=false"}, "all=false |"},
    {"ps", {"--last", "1"}, NULL, "unknown flag: --last"},
    /* exec: options end at the container; the command's own flags stay its own. */
    {"exec", {"-it", "c", "sh"}, "interactive=true tty=true | c sh"},
    {"exec", {"-ti", "c", "sh"}, "interactive=true tty=true | c sh"},
    {"exec", {"-i", "-t", "c", "ls", "-l"}, "interactive=true tty=true | c ls -l"},
    {"exec", {"--interactive", "--tty", "c", "ls"}, "interactive=true tty=true | c ls"},
    {"exec", {"--tty=false", "c", "ls"}, "tty=false | c ls"},
    {"exec", {"c", "ls", "-t"}, "| c ls -t"},
    {"exec", {"--", "c", "ls"}, "| c ls"},
    {"exec", {"-u", "root", "c", "ls"}, NULL, "unknown shorthand flag: 'u' in -u"},
    /* run: short, long, =, combined, aliases, values glued to the shorthand. */
    {"run", {"-dit", "busybox"}, "detach=true interactive=true tty=true | busybox"},
    {"run", {"-itd", "busybox", "sh", "-c", "x"}, "detach=true interactive=true tty=true | busybox sh -c x"},
    {"run", {"-m", "64m", "busybox"}, "memory=64m | busybox"},
    {"run", {"-m64m", "busybox"}, "memory=64m | busybox"},
    {"run", {"-m=64m", "busybox"}, "memory=64m | busybox"},
    {"run", {"--memory=64m", "busybox"}, "memory=64m | busybox"},
    {"run", {"-itm", "64m", "busybox"}, "interactive=true tty=true memory=64m | busybox"},
    {"run", {"-h", "box1", "busybox"}, "hostname=box1 | busybox"},
    {"run", {"--hostname=box1", "busybox"}, "hostname=box1 | busybox"},
    {"run", {"--pids-limit", "5", "busybox"}, "pids=5 | busybox"},
    {"run", {"--pids-limit=-1", "busybox"}, "pids=-1 | busybox"},
    {"run", {"--pids", "5", "busybox"}, "pids=5 | busybox"},
    {"run", {"--privileged=false", "busybox"}, "privileged=false | busybox"},
    {"run", {"--name", "n", "--cpus=0.5", "busybox"}, "name=n cpus=0.5 | busybox"},
    {"run", {"--", "busybox", "-d"}, "| busybox -d"},
    {"run", {"busybox", "ls", "--name", "x"}, "| busybox ls --name x"},
    /* issue 13 item 2: -e (repeats), -w, --rm, --entrypoint. */
    {"run", {"--rm", "busybox"}, "rm=true | busybox"},
    {"run", {"--rm", "-it", "busybox"}, "interactive=true tty=true rm=true | busybox"},
    {"run", {"-e", "A=1", "-e", "B=2", "busybox"}, "env=B=2 | busybox"},
    {"run", {"-eA=1", "--env=B=2", "busybox"}, "env=B=2 | busybox"},
    {"run", {"-w", "/srv", "busybox", "pwd"}, "workdir=/srv | busybox pwd"},
    {"run", {"--workdir=/srv", "busybox"}, "workdir=/srv | busybox"},
    {"run", {"--entrypoint", "echo", "busybox", "hi"}, "entrypoint=echo | busybox hi"},
    {"run", {"-e"}, NULL, "flag needs an argument: 'e' in -e"},
    {"run", {"--name"}, NULL, "flag needs an argument: --name"},
    {"run", {"-m"}, NULL, "flag needs an argument: 'm' in -m"},
    /* stats, inspect, logs, diff, images */
    {"stats", {"--no-stream"}, "no-stream=true |"},
    {"stats", {"--no-stream", "c"}, "no-stream=true | c"},
    {"stats", {"-a"}, NULL, "unknown shorthand flag: 'a' in -a"},
    {"inspect", {"c1", "c2"}, "| c1 c2"},
    {"inspect", {"-f", "{{.Id}}", "c"}, NULL, "unknown shorthand flag: 'f' in -f"},
    {"logs", {"c"}, "| c"},
    {"logs", {"--follow", "c"}, NULL, "unknown flag: --follow"},
    {"diff", {"--", "c"}, "| c"},
    {"images", {}, "|"},
    {"images", {"-q"}, NULL, "unknown shorthand flag: 'q' in -q"},
    {"nosuchverb", {}, NULL, "'nosuchverb' is not a box command"},
};

int main(void) {
  for (size_t r = 0; r < N_ELEMENTS(rows); r++) {
    const struct row *row = &rows[r];
    int argc = 0;
    while (argc < MAXA && row->args[argc]) argc++;
    char err[256] = "", got[512];
    struct verb_args a;
    int rc = parse_verb(row->verb, argc, (char **)row->args, &a, err, sizeof err);
    char line[256];
    int at = snprintf(line, sizeof line, "box %s", row->verb);
    for (int i = 0; i < argc; i++) at += snprintf(line + at, sizeof line - at, " %s", row->args[i]);
    if (row->want) {
      if (rc == 0) describe(&a, got, sizeof got);
      else snprintf(got, sizeof got, "refused: %s", err);
      CHECK_STR(got, row->want, line);
      if (rc == 0) verb_args_free(&a);
    } else {
      CHECK(rc < 0 && strstr(err, row->err_has) && !strchr(err, '\n'), "%s → refused: %s", line, err);
      if (rc == 0) verb_args_free(&a);
    }
  }

  /* Limits with Docker's meaning. */
  struct run_opts o;
  char err[256];
  int ncpu = cpus_online();
  char cpus_ok[16], cpus_over[16], range[128];
  snprintf(cpus_ok, sizeof cpus_ok, "%d", ncpu);
  snprintf(cpus_over, sizeof cpus_over, "%d.5", ncpu);
  snprintf(range, sizeof range, "Range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available", ncpu, ncpu);
  char *pids_unlimited[] = {"--pids-limit=-1", "busybox", NULL};
  CHECK(parse_run(2, pids_unlimited, &o, err, sizeof err) == 0 && o.pids == -1, "--pids-limit=-1 is unlimited (pids.max = max)");
  run_opts_free(&o);
  char *pids_zero[] = {"--pids-limit", "0", "busybox", NULL};
  CHECK(parse_run(3, pids_zero, &o, err, sizeof err) == 0 && o.pids == -1, "--pids-limit 0 is unlimited too");
  run_opts_free(&o);
  char *cpus_at[] = {"--cpus", cpus_ok, "busybox", NULL};
  CHECK(parse_run(3, cpus_at, &o, err, sizeof err) == 0 && o.cpus == ncpu, "--cpus at the CPU count (%d) is accepted", ncpu);
  run_opts_free(&o);
  char *cpus_above[] = {"--cpus", cpus_over, "busybox", NULL};
  err[0] = 0;
  CHECK(parse_run(3, cpus_above, &o, err, sizeof err) < 0 && !strcmp(err, range), "--cpus above the CPU count is refused naming the range: %s", err);
  char *cpus_64[] = {"--cpus", "64", "busybox", NULL};
  CHECK(ncpu >= 64 || (parse_run(3, cpus_64, &o, err, sizeof err) < 0 && !strcmp(err, range)), "--cpus 64 on %d CPUs is refused", ncpu);
  char *cpus_low[] = {"--cpus", "0.001", "busybox", NULL};
  CHECK(parse_run(3, cpus_low, &o, err, sizeof err) < 0 && !strcmp(err, range), "--cpus below 0.01 is refused naming the range");
  char *cpus_min[] = {"--cpus=0.01", "busybox", NULL};
  CHECK(parse_run(2, cpus_min, &o, err, sizeof err) == 0 && o.cpus == 0.01, "--cpus 0.01 is the minimum");
  run_opts_free(&o);
  /* Run options (issue 13 item 2): every -e kept in order, -w absolute, --entrypoint "" allowed. */
  char *envs[] = {"-e", "A=1", "-itd", "--env", "B=x=y", "-e", "A=3", "--rm", "-w", "/srv/app", "busybox", "env", NULL};
  CHECK(parse_run(12, envs, &o, err, sizeof err) == 0 && o.env && !strcmp(o.env[0], "A=1") && !strcmp(o.env[1], "B=x=y") &&
            !strcmp(o.env[2], "A=3") && !o.env[3] && o.remove && o.detach && !strcmp(o.workdir, "/srv/app") && !o.entrypoint,
        "-e given three times: all three in order; --rm; -w");
  run_opts_free(&o);
  /* box build's RUN steps (build.c): the internal flag that keeps the image's VOLUMEs off them. */
  char *build_step[] = {"--internal-build-step", "--name", "ab12", "sha256:00", "sh", "-c", "echo x > /data/y", NULL};
  CHECK(parse_run(7, build_step, &o, err, sizeof err) == 0 && o.build_step && !strcmp(o.image, "sha256:00") && !strcmp(o.argv[2], "echo x > /data/y"),
        "--internal-build-step marks a build's RUN container");
  run_opts_free(&o);
  char *plain_run[] = {"busybox", "--internal-build-step", NULL};
  CHECK(parse_run(2, plain_run, &o, err, sizeof err) == 0 && !o.build_step && !strcmp(o.argv[0], "--internal-build-step"),
        "a plain box run is no build step (after the image the flag is the command)");
  run_opts_free(&o);
  char *env_bare[] = {"-e", "HOME", "busybox", NULL};
  CHECK(parse_run(3, env_bare, &o, err, sizeof err) < 0 && strstr(err, "invalid environment variable: HOME"),
        "-e NAME without a value is refused (boxd cannot see the CLI's environment): %s", err);
  char *env_noname[] = {"-e", "=1", "busybox", NULL};
  CHECK(parse_run(3, env_noname, &o, err, sizeof err) < 0 && !strcmp(err, "invalid environment variable: =1"), "-e =1 is refused");
  char *workdir_rel[] = {"-w", "srv", "busybox", NULL};
  CHECK(parse_run(3, workdir_rel, &o, err, sizeof err) < 0 &&
            !strcmp(err, "the working directory 'srv' is invalid, it needs to be an absolute path"),
        "-w relative is refused with Docker's words");
  char *entry_empty[] = {"--entrypoint=", "busybox", "ls", NULL};
  CHECK(parse_run(3, entry_empty, &o, err, sizeof err) == 0 && o.entrypoint && !*o.entrypoint && !strcmp(o.argv[0], "ls"),
        "--entrypoint \"\" is kept as none");
  run_opts_free(&o);
  char *cpus_none[] = {"--cpus=0", "busybox", NULL};
  CHECK(parse_run(2, cpus_none, &o, err, sizeof err) == 0 && o.cpus == 0, "--cpus 0 is no limit");
  run_opts_free(&o);
  return tap_done();
}
