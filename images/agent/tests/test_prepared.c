/* Idle-time cleanup of prepared children (container.c, starts.c) against starts in flight: a
 * prepared cgroup a start did not take waits as "leftover" for an idle turn to remove it, and an
 * idle turn may come during a slow start (a volume being filled). These rows drive the real start
 * (container_start_begin, container_start_step) and the real idle turn (prepare_namespaces) in a
 * temporary state and cgroup tree, with each prepared child a real child of this test speaking the
 * report protocol (its pty, its mounts' time) in place of the namespaced one boxd clones: the order
 * of events is set here, not left to timing. CI saw the fault this guards as
 * "cgroup cgroup.procs=151: No such file or directory" (commit 1f6cad9). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "config.h"
#include "container.h"
#include "pty.h"
#include "registry.h"
#include "starts.h"
#include "tap.h"
#include "util.h"

/* A prepared child as namespaces_prepare leaves one, minus the namespaces: it reports its pty
 * ('P', /dev/null here) and its mounts' time ('T') at once, then waits until boxd drops it. With a
 * name, what prepare_for_image makes for it: run/<name> and the cgroup box/<name> (the child
 * counted in it by cgroup_ns; a plain directory has no cgroup.procs to keep it). */
static void fake_prepared(struct prepared *p, int id, const char *name) {
  memset(p, 0, sizeof *p);
  p->id = id;
  int report[2], go[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, report) < 0 || pipe2(go, O_CLOEXEC) < 0) die_with_error("socketpair/pipe");
  p->pid = fork();
  if (p->pid == 0) {
    close(report[0]);
    close(go[1]);
    int null = open("/dev/null", O_RDWR);
    char rec[9] = {'T'};
    uint64_t t = now_ns();
    memcpy(rec + 1, &t, 8);
    if (send_record_fd(report[1], 'P', null) < 0 || write_all(report[1], rec, sizeof rec) < 0) _exit(1);
    char drain[4096];
    while (read(go[0], drain, sizeof drain) > 0) {}
    _exit(0);
  }
  close(report[1]);
  close(go[0]);
  p->report_rd = report[0];
  p->go_wr = go[1];
  p->namespaces_ns = now_ns();
  if (!name) return;
  snprintf(p->name, sizeof p->name, "%s", name);
  char err[256];
  autofree char *upper = xasprintf("%s/run/%s/upper", cfg.state, name);
  autofree char *work = xasprintf("%s/run/%s/work", cfg.state, name);
  if (mkdir_p(upper, 0755) < 0 || mkdir_p(work, 0755) < 0 || cgroup_create(name, 0, 0, 0, err, sizeof err) < 0)
    die("preparing %s: %s", name, err);
  p->cgroup_ns = now_ns();
}

static bool cgroup_there(const char *name) {
  autofree char *path = xasprintf("%s/box/%s", cfg.cgroup, name);
  return access(path, F_OK) == 0;
}
static bool run_dir_there(const char *name) {
  autofree char *path = xasprintf("%s/run/%s", cfg.state, name);
  return access(path, F_OK) == 0;
}

/* A container of image busybox (named, or unnamed: busybox-<id>), created as a RUN makes one. */
static struct container *create(const char *name, int id) {
  struct run_opts o = {.image = xstrdup("busybox"), .name = name ? xstrdup(name) : NULL};
  char err[512] = "";
  struct container *c = container_create(&o, now_ns(), id, err, sizeof err);
  if (!c) die("container_create: %s", err);
  return c;
}

/* A container that is done with: removed as `rm -f` does, its start given up if still going. A
 * plain directory is no cgroup: the pid written by the attach goes first, so its rmdir works. */
static void removed(struct container *c) {
  autofree char *procs = xasprintf("%s/box/%s/cgroup.procs", cfg.cgroup, c->name);
  unlink(procs);
  container_remove(c);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN); /* as boxd does */
  char tmpl[] = "/tmp/box-test-prepared-XXXXXX";
  char *dir = mkdtemp(tmpl);
  CHECK(dir != NULL, "temp dir");
  cfg.state = dir;
  cfg.oci = xasprintf("%s/oci", dir);
  cfg.cgroup = xasprintf("%s/cgroup", dir);
  cfg.tar = "/usr/bin/tar";
  cfg.network = false;
  cfg.warm = false; /* the idle turn removes leftovers only: this test's children are the prepared ones */
  autofree char *box = xasprintf("%s/box", cfg.cgroup), *run = xasprintf("%s/run", dir);
  mkdir_p(box, 0755);
  mkdir_p(run, 0755);
  autofree char *make = xasprintf("head -c 1000 /dev/urandom >%s/blob && sh mkoci.sh %s %s/blob >/dev/null", dir, cfg.oci, dir);
  CHECK(system(make) == 0, "an image store (tests/mkoci.sh)");
  char err[1024] = "";
  int master = -1;

  /* 1. The race CI hit. Namespaces prepared for busybox-1 are taken by a start of another name
   * (--name web): its child moves to box/web at the attach, box/busybox-1 is left over for an idle
   * turn. Before one comes (here: web is gone at once, its id 1 free), an unnamed busybox start
   * gets id 1, so the name busybox-1, makes that cgroup (it is there: EEXIST is fine) and waits on
   * its child, which is slow (filling a volume). The idle turn must leave busybox-1 alone: it is a
   * container's now, and its child is attached to it next. */
  struct prepared warm;
  fake_prepared(&warm, 1, "busybox-1");
  struct container *web = create("web", 1);
  CHECK(container_start_begin(web, &warm, err, sizeof err) == 0, "web starts in the namespaces prepared for busybox-1 (%s)", err);
  CHECK(cgroup_there("web") && cgroup_there("busybox-1") && run_dir_there("web") && !run_dir_there("busybox-1"),
        "web made its own cgroup and took the prepared run dir; box/busybox-1 waits to go");
  removed(web);
  CHECK(container_free_id() == 1, "web is gone: id 1 is free");

  fake_prepared(&warm, 1, NULL); /* nothing of the image's made ahead: as a cold start */
  struct container *bb = create(NULL, 1);
  CHECK(!strcmp(bb->name, "busybox-1"), "the next unnamed start is busybox-1 (%s)", bb->name);
  CHECK(container_start_begin(bb, &warm, err, sizeof err) == 0, "busybox-1's start begins (%s)", err);
  prepare_namespaces(); /* an idle turn of boxd's loop, while busybox-1 waits on its child */
  CHECK(cgroup_there("busybox-1") && run_dir_there("busybox-1"), "the idle turn left busybox-1's cgroup and run dir");
  err[0] = 0;
  int rc = container_start_step(bb, &master, err, sizeof err);
  CHECK(rc == 0, "its child is attached to box/busybox-1 (step %d%s%s)", rc, *err ? ": " : "", err);
  autofree char *procs = xasprintf("%s/busybox-1/cgroup.procs", box);
  autofree char *attached = read_file(procs, NULL);
  CHECK(attached && atoi(attached) == (int)bb->start.p.pid, "box/busybox-1/cgroup.procs holds its child (%s)", attached ? attached : "none");
  prepare_namespaces();
  CHECK(cgroup_there("busybox-1"), "a later idle turn leaves it too");
  removed(bb);
  CHECK(!cgroup_there("busybox-1") && !run_dir_there("busybox-1"), "busybox-1 removed: its cgroup and run dir went with it");

  /* 2. Not vacuous: a leftover nobody holds is removed at the next idle turn, and only it. */
  fake_prepared(&warm, 2, "busybox-2");
  struct container *db = create("db", 2);
  CHECK(container_start_begin(db, &warm, err, sizeof err) == 0, "db starts in the namespaces prepared for busybox-2 (%s)", err);
  rc = container_start_step(db, &master, err, sizeof err);
  CHECK(rc == 0, "db's child moved to box/db (step %d %s)", rc, err);
  prepare_namespaces();
  CHECK(!cgroup_there("busybox-2"), "the idle turn removed the leftover box/busybox-2");
  CHECK(cgroup_there("db") && run_dir_there("db"), "and kept db's cgroup and run dir");

  /* 3. A prepared child dropped while a container holds its name (namespaces_discard) takes
   * nothing of that container's. */
  fake_prepared(&warm, 3, NULL);
  snprintf(warm.name, sizeof warm.name, "db");
  warm.cgroup_ns = now_ns();
  namespaces_discard(&warm);
  CHECK(cgroup_there("db") && run_dir_there("db"), "dropping a prepared child named db left db's cgroup and run dir");
  CHECK(warm.pid == 0 && !warm.name[0], "the prepared child was reaped and forgotten");
  removed(db);

  autofree char *root = xstrdup(dir);
  rm_rf(root);
  return tap_done();
}
