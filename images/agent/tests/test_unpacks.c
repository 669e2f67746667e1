/* Layer unpacks in children (unpacks.c): an idle unpack at nice 19 reniced when a start needs it,
 * the layer renamed into place complete, and a failed or killed child recorded, not retried while
 * idle, retried on demand, its error given to the starts that waited for it. Real children, real
 * tar (BOX_TAR is the build machine's). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "oci.h"
#include "tap.h"
#include "unpacks.h"
#include "util.h"

#define HEX(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c

/* Reap one child and hand it to unpacks.c: whether it was an unpack. */
static bool reap_one(void) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, 0)) < 0 && errno == EINTR) {}
  return pid > 0 && unpack_reaped(pid, status);
}

static bool exists(const char *path) { return access(path, F_OK) == 0; }

/* A process that has exited (a zombie until its new parent reaps it) or is gone; waits up to 2 s. */
static bool gone(pid_t pid) {
  for (int i = 0; i < 200; i++) {
    autofree char *path = xasprintf("/proc/%d/stat", (int)pid);
    autofree char *stat = read_file(path, NULL);
    const char *state = stat ? strrchr(stat, ')') : NULL;
    if (!state || state[2] == 'Z') return true;
    usleep(10 * 1000);
  }
  return false;
}

int main(void) {
  char tmpl[] = "/tmp/box-test-unpacks-XXXXXX";
  char *dir = mkdtemp(tmpl);
  CHECK(dir != NULL, "temp dir");
  cfg.state = dir;
  cfg.oci = xasprintf("%s/oci", dir);
  cfg.tar = "/usr/bin/tar";
  autofree char *blobs = xasprintf("%s/blobs/sha256", cfg.oci);
  autofree char *layers = xasprintf("%s/layers", dir);
  autofree char *src = xasprintf("%s/src/etc", dir);
  mkdir_p(blobs, 0755);
  mkdir_p(layers, 0755);
  mkdir_p(src, 0755);
  autofree char *file = xasprintf("%s/hello", src);
  write_file(file, "hi\n");
  autofree char *make_blob = xasprintf("tar -cf %s/" HEX("a") " -C %s/src .", blobs, dir);
  CHECK(system(make_blob) == 0, "a layer blob (plain tar)");

  /* Idle: one child at nice 19, in its own process group. */
  char *good = HEX("a");
  struct image im = {.name = "t", .nlayers = 1, .layers = {good}};
  struct image_list images = {.v = &im, .n = 1};
  CHECK(unpack_idle_next(&images), "idle work begins an unpack");
  pid_t pid = unpack_pid(good);
  CHECK(pid > 0 && unpacks_running() == 1, "in a child (%d)", (int)pid);
  errno = 0;
  int nice_idle = getpriority(PRIO_PGRP, pid);
  CHECK(nice_idle == 19, "idle unpack at nice 19 (%d)", nice_idle);
  CHECK(unpack_idle_next(&images) && unpack_pid(good) == pid, "one idle unpack at a time");

  /* A start needs it: waits for that child (0), which now runs at nice 0. */
  char err[512] = "";
  CHECK(unpack_layer(good, now_ns(), err, sizeof err) == 0 && unpack_pid(good) == pid, "a start waits for the idle child");
  int nice_now = getpriority(PRIO_PGRP, pid);
  CHECK(nice_now == 0, "reniced to 0 for the start (%d)", nice_now);
  CHECK(reap_one(), "the child is an unpack");
  autofree char *unpacked = xasprintf("%s/layers/%s/etc/hello", dir, good);
  autofree char *tmp = xasprintf("%s/layers/%s.tmp", dir, good);
  CHECK(exists(unpacked) && !exists(tmp), "the layer is in place, no temporary left");
  CHECK(unpack_layer(good, now_ns(), err, sizeof err) == 1 && unpacks_running() == 0, "then ready at once");
  CHECK(!unpack_idle_next(&images), "idle work done once every layer is there");

  /* A layer whose blob is missing: the idle attempt fails, is logged, and not retried while idle. */
  char *missing = HEX("b");
  im.layers[0] = missing;
  uint64_t before_idle = now_ns();
  CHECK(unpack_idle_next(&images) && reap_one(), "idle unpack of a missing blob ends");
  CHECK(!unpack_idle_next(&images) && unpacks_running() == 0, "idle work does not retry a failed layer");
  /* A start received before that failure gets it; one received after tries again. */
  int rc = unpack_layer(missing, before_idle, err, sizeof err);
  CHECK(rc < 0 && strstr(err, "unpacking layer bbbbbbbbbbbb failed") && strstr(err, "No such file"), "a start that waited gets the error (%s)", err);
  uint64_t later = now_ns();
  CHECK(unpack_layer(missing, later, err, sizeof err) == 0 && unpack_pid(missing) > 0, "a later start retries it");
  CHECK(reap_one(), "the retry ends");
  *err = 0;
  rc = unpack_layer(missing, later, err, sizeof err);
  CHECK(rc < 0 && strstr(err, "No such file"), "failing again, with a clear error (%s)", err);

  /* A child that dies (killed): recorded as such, its tar killed with it, retried on demand. */
  autofree char *slow_tar = xasprintf("%s/slow-tar", dir);
  autofree char *tar_pid_file = xasprintf("%s/slow-tar.pid", dir);
  autofree char *script = xasprintf("#!/bin/sh\necho $$ >%s\nexec sleep 30\n", tar_pid_file);
  write_file(slow_tar, script);
  chmod(slow_tar, 0755);
  cfg.tar = slow_tar;
  char *slow = HEX("c");
  autofree char *copy = xasprintf("cp %s/" HEX("a") " %s/" HEX("c"), blobs, blobs);
  CHECK(system(copy) == 0, "a second blob");
  CHECK(unpack_layer(slow, now_ns(), err, sizeof err) == 0, "an unpack that hangs");
  pid = unpack_pid(slow);
  autofree char *tar_pid = NULL;
  for (int i = 0; i < 200 && !(tar_pid = read_file(tar_pid_file, NULL)); i++) usleep(10 * 1000);
  CHECK(tar_pid != NULL, "its tar runs");
  kill(pid, SIGKILL);
  CHECK(reap_one(), "the killed child is reaped as an unpack");
  *err = 0;
  rc = unpack_layer(slow, 0, err, sizeof err);
  CHECK(rc < 0 && strstr(err, "killed by signal 9"), "its error says so (%s)", err);
  CHECK(tar_pid && gone(atoi(tar_pid)), "its tar is killed too");
  cfg.tar = "/usr/bin/tar";
  CHECK(unpack_layer(slow, now_ns(), err, sizeof err) == 0 && reap_one(), "on demand it is tried again");
  autofree char *slow_file = xasprintf("%s/layers/%s/etc/hello", dir, slow);
  CHECK(unpack_layer(slow, now_ns(), err, sizeof err) == 1 && exists(slow_file), "and unpacked this time");

  rm_rf(dir);
  free((char *)cfg.oci);
  return tap_done();
}
