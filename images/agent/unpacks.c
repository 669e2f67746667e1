#define _GNU_SOURCE
#include "unpacks.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

#define MAX_UNPACKS 64
#define IDLE_NICE 19

/* One layer's unpack: under way (pid), or how its last attempt failed. A slot with neither is free. */
struct unpack {
  char hex[65];
  pid_t pid;          /* the child (also its process group), 0 when none runs */
  bool urgent;        /* a start waits for it: nice 0 */
  int err_rd;         /* the child's error message, read once it is reaped */
  uint64_t began;     /* monotonic ns */
  uint64_t failed_at; /* when its last attempt failed, 0 if none did */
  char err[384];
};

static struct unpack table[MAX_UNPACKS];

static struct unpack *find(const char *hex) {
  for (int i = 0; i < MAX_UNPACKS; i++)
    if ((table[i].pid || table[i].failed_at) && !strcmp(table[i].hex, hex)) return &table[i];
  return NULL;
}

/* A free slot, else the failure recorded longest ago (it is tried again on demand either way). */
static struct unpack *slot_for(const char *hex) {
  struct unpack *u = find(hex), *oldest = NULL;
  for (int i = 0; !u && i < MAX_UNPACKS; i++) {
    if (!table[i].pid && !table[i].failed_at) u = &table[i];
    else if (!table[i].pid && (!oldest || table[i].failed_at < oldest->failed_at)) oldest = &table[i];
  }
  return u ? u : oldest;
}

/* Whether layer hex is unpacked. Each queued start asks on every turn of the loop, and each
 * access() is a path lookup through the store's overlay: a layer seen there is remembered, as
 * nothing removes one while boxd runs. */
static bool unpacked(const char *hex) {
  static char seen[64][65];
  static int nseen;
  for (int i = 0; i < nseen; i++)
    if (!strcmp(seen[i], hex)) return true;
  autofree char *dir = layer_dir(hex);
  if (access(dir, F_OK) < 0) return false;
  if (nseen < (int)N_ELEMENTS(seen)) snprintf(seen[nseen++], sizeof seen[0], "%s", hex);
  return true;
}

/* The child: its own process group (so a renice or a kill reaches its tar too), nothing of boxd's
 * but stderr (the log) and the error pipe; the message of a failure goes down the pipe. */
static void __attribute__((noreturn)) unpack_child(const char *hex, bool urgent, int err_wr) {
  setpgid(0, 0);
  if (err_wr != 3) {
    if (dup3(err_wr, 3, O_CLOEXEC) < 0) _exit(2);
    err_wr = 3;
  }
  close_range(4, ~0U, 0);
  reset_signals();
  if (!urgent) setpriority(PRIO_PROCESS, 0, IDLE_NICE);
  char err[384] = "";
  if (layer_ensure(hex, err, sizeof err) == 0) _exit(0);
  (void)!write(err_wr, err, strlen(err));
  _exit(1);
}

static int begin(struct unpack *u, const char *hex, bool urgent, char *err, size_t errlen) {
  int p[2];
  if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) return set_err(err, errlen, errno, "unpacking layer %.12s: pipe", hex);
  pid_t pid = fork();
  if (pid == 0) unpack_child(hex, urgent, p[1]);
  close(p[1]);
  if (pid < 0) {
    close(p[0]);
    return set_err(err, errlen, errno, "unpacking layer %.12s: fork", hex);
  }
  setpgid(pid, pid); /* as the child does: whichever runs first */
  if (!urgent) setpriority(PRIO_PROCESS, pid, IDLE_NICE);
  *u = (struct unpack){.pid = pid, .urgent = urgent, .err_rd = p[0], .began = now_ns()};
  snprintf(u->hex, sizeof u->hex, "%s", hex);
  log_msg("unpacking layer %.12s in pid %d%s", hex, (int)pid, urgent ? "" : " (idle, nice 19)");
  return 0;
}

int unpack_layer(const char *hex, uint64_t since, char *err, size_t errlen) {
  struct unpack *u = find(hex);
  if (u && u->pid) {
    if (!u->urgent) {
      /* A start waits for it now: the whole group (the child and its tar) at the normal priority. */
      if (setpriority(PRIO_PGRP, u->pid, 0) < 0) log_msg("renicing unpack %d: %s", (int)u->pid, strerror(errno));
      u->urgent = true;
    }
    return 0;
  }
  if (unpacked(hex)) return 1;
  if (u && u->failed_at > since) return set_err(err, errlen, 0, "%s", u->err);
  u = slot_for(hex);
  if (!u) return set_err(err, errlen, 0, "unpacking layer %.12s: %d unpacks under way already", hex, MAX_UNPACKS);
  return begin(u, hex, true, err, errlen);
}

bool unpack_idle_next(const struct image_list *images) {
  if (unpacks_running()) return true;
  for (int i = 0; i < images->n; i++)
    for (int j = 0; j < images->v[i].nlayers; j++) {
      const char *hex = images->v[i].layers[j];
      if (find(hex) || unpacked(hex)) continue; /* failed before: only on demand */
      struct unpack *u = slot_for(hex);
      char err[256];
      if (!u || begin(u, hex, false, err, sizeof err) < 0) {
        if (u) log_msg("%s", err);
        return false;
      }
      return true;
    }
  return false;
}

bool unpack_reaped(pid_t pid, int status) {
  struct unpack *u = NULL;
  for (int i = 0; i < MAX_UNPACKS && !u; i++)
    if (table[i].pid == pid) u = &table[i];
  if (!u) return false;
  double ms = (now_ns() - u->began) / 1e6;
  char msg[256] = "";
  ssize_t n = read(u->err_rd, msg, sizeof msg - 1);
  close(u->err_rd);
  u->err_rd = -1;
  u->pid = 0;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    log_msg("layer %.12s ready (%.0f ms)", u->hex, ms);
    u->failed_at = 0;
    return true;
  }
  kill(-pid, SIGKILL); /* its tar, should the child have died first */
  msg[n > 0 ? n : 0] = 0;
  if (!*msg && WIFSIGNALED(status)) snprintf(msg, sizeof msg, "the unpacking process was killed by signal %d", WTERMSIG(status));
  else if (!*msg) snprintf(msg, sizeof msg, "the unpacking process exited with status %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  snprintf(u->err, sizeof u->err, "unpacking layer %.12s failed: %s", u->hex, msg);
  u->failed_at = now_ns();
  log_msg("%s (after %.0f ms; tried again when a start needs it)", u->err, ms);
  return true;
}

pid_t unpack_pid(const char *hex) {
  const struct unpack *u = find(hex);
  return u ? u->pid : 0;
}

int unpacks_running(void) {
  int n = 0;
  for (int i = 0; i < MAX_UNPACKS; i++) n += table[i].pid != 0;
  return n;
}
