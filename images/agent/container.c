#define _GNU_SOURCE
#include "container.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "caps.h"
#include "cgroup.h"
#include "config.h"
#include "mounts.h"
#include "netlink.h"
#include "publish.h"
#include "pty.h"
#include "registry.h"
#include "volumes.h"

const char *const phase_names[PHASE_COUNT] = {"received", "layers", "namespaces", "mounts", "cgroup", "network", "exec"};

#define PREFIX 16

char *container_dir(const struct container *c) { return xasprintf("%s/run/%s", cfg.state, c->name); }
char *container_upper(const struct container *c) { return xasprintf("%s/run/%s/upper", cfg.state, c->name); }

void log_append(struct container *c, const void *data, size_t len) {
  buf_append(&c->log, data, len);
  if (c->log.len > LOG_KEEP) {
    c->log_dropped += c->log.len - LOG_KEEP;
    buf_consume(&c->log, c->log.len - LOG_KEEP);
  }
}

int network_setup(char *err, size_t errlen) {
  if (!cfg.network) return 0;
  autoclose int fd = nl_open();
  if (fd < 0) return set_err(err, errlen, -fd, "netlink");
  int rc = nl_add_bridge(fd, cfg.bridge);
  if (rc < 0 && rc != -EEXIST) return set_err(err, errlen, -rc, "creating bridge %s", cfg.bridge);
  int br = if_nametoindex(cfg.bridge);
  if (!br) return set_err(err, errlen, errno, "bridge %s", cfg.bridge);
  rc = nl_add_addr(fd, br, htonl(cfg.bridge_ip), PREFIX);
  if (rc < 0 && rc != -EEXIST) return set_err(err, errlen, -rc, "address of %s", cfg.bridge);
  rc = nl_set_link(fd, br, true, 0);
  if (rc < 0) return set_err(err, errlen, -rc, "bringing up %s", cfg.bridge);
  return 0;
}

/* ------------------------------------------------------------------ child side */

/* What the child tells boxd on the report socket: 'T' + u64 time when a phase is done,
 * 'E' + message when it dies (die_with_error writes it). EOF after exec. */
static void report_time(int fd) {
  char rec[9] = {'T'};
  uint64_t t = now_ns();
  memcpy(rec + 1, &t, 8);
  if (write_all(fd, rec, sizeof rec) < 0) _exit(127);
}

static void child_reset(int report_fd) {
  die_fd = report_fd;
  reset_signals();
}

static void __attribute__((noreturn)) exec_command(char **argv);

static void child_exec(char **argv, char **env, const char *workdir, bool privileged, int report_fd) {
  clearenv();
  for (char **e = env; e && *e; e++) putenv(*e);
  /* A WorkingDir the image lacks is made, as runc does (`box build`'s WORKDIR relies on it). */
  if (workdir && *workdir && mkdir_p(workdir, 0755) < 0 && errno != EEXIST) die_with_error("mkdir %s", workdir);
  if (workdir && *workdir && chdir(workdir) < 0) die_with_error("chdir %s", workdir);
  if (!privileged) caps_drop_to(caps_default_mask());
  report_time(report_fd);
  exec_command(argv);
}

/* Docker's exit codes for a command that could not be run: 127 when there is no such file,
 * 126 when there is one that cannot be invoked (permission, format, a directory…). */
int exec_failure_code(int err) { return err == ENOENT || err == ENOTDIR ? 127 : 126; }

/* execvp without its fallback of running a file the kernel refused (ENOEXEC) as a shell
 * script: an amd64 binary on this i386 kernel must say "exec format error", as docker does. */
static void __attribute__((noreturn)) exec_command(char **argv) {
  extern char **environ;
  if (strchr(argv[0], '/')) {
    execve(argv[0], argv, environ);
    die_exec(exec_failure_code(errno), "exec %s: %s", argv[0], strerror(errno));
  }
  const char *path = getenv("PATH");
  int saved = ENOENT;
  for (const char *p = path && *path ? path : "/usr/sbin:/usr/bin:/sbin:/bin"; p;) {
    const char *colon = strchr(p, ':');
    size_t n = colon ? (size_t)(colon - p) : strlen(p);
    char full[4096];
    snprintf(full, sizeof full, "%.*s/%s", (int)n, n ? p : ".", argv[0]);
    execve(full, argv, environ);
    if (errno == ENOEXEC) die_exec(126, "exec %s: %s", full, strerror(errno));
    if (errno != ENOENT && errno != ENOTDIR) saved = errno;
    p = colon ? colon + 1 : NULL;
  }
  if (saved == ENOENT) die_exec(127, "exec: \"%s\": executable file not found in $PATH", argv[0]);
  die_exec(exec_failure_code(saved), "exec %s: %s", argv[0], strerror(saved));
}

static void configure_container_net(uint32_t ip) {
  int fd = nl_open();
  if (fd < 0) {
    errno = -fd;
    die_with_error("netlink");
  }
  int lo = if_nametoindex("lo"), eth = if_nametoindex("eth0"), rc;
  if (!lo || !eth) die_with_error("finding lo and eth0");
  if ((rc = nl_set_link(fd, lo, true, 0)) < 0 || (rc = nl_add_addr(fd, eth, ip, PREFIX)) < 0 ||
      (rc = nl_set_link(fd, eth, true, 0)) < 0 || (rc = nl_add_default_route(fd, htonl(cfg.bridge_ip))) < 0) {
    errno = -rc;
    die_with_error("configuring eth0");
  }
  close(fd);
}

/* What a start needs to tell a child made before the container was known (after what
 * namespaces_prepare sent: the u32 address its eth0 gets ahead of time, or 0, and the u32-length
 * overlay options of a root it mounts ahead, or none): sent as NUL-terminated strings — overlay
 * options, hostname, workdir, ip, privileged, tty, argc, nmounts, keep ("1": the root mounted
 * ahead is this one), then per mount its target and its letters (mount_point_flags), argv…, env… —
 * after a u32 length. The mounts' descriptors follow on the report socket ('V' records, volumes.h). */
#define SPEC_HEAD 9
static void spec_pack(struct buf *b, const struct container *c, const char *opts, bool keep_root, const bool *is_dir) {
  char ip[16], priv[2] = {c->opts.privileged ? '1' : '0', 0}, tty[2] = {c->opts.tty ? '1' : '0', 0}, argc[16], nmounts[16];
  char keep[2] = {keep_root ? '1' : '0', 0};
  int n = 0;
  while (c->argv[n]) n++;
  snprintf(ip, sizeof ip, "%u", (unsigned)c->ip);
  snprintf(argc, sizeof argc, "%d", n);
  snprintf(nmounts, sizeof nmounts, "%d", c->opts.nmounts);
  const char *head[SPEC_HEAD] = {opts, c->hostname, c->workdir ? c->workdir : "", ip, priv, tty, argc, nmounts, keep};
  uint8_t len[4] = {0};
  buf_append(b, len, 4);
  for (size_t i = 0; i < N_ELEMENTS(head); i++) buf_append(b, head[i], strlen(head[i]) + 1);
  for (int i = 0; i < c->opts.nmounts; i++) {
    buf_append(b, c->opts.mounts[i].target, strlen(c->opts.mounts[i].target) + 1);
    char flags[4];
    mount_point_flags(&c->opts.mounts[i], is_dir[i], flags);
    buf_append(b, flags, strlen(flags) + 1);
  }
  for (char **a = c->argv; *a; a++) buf_append(b, *a, strlen(*a) + 1);
  for (char **e = c->env; e && *e; e++) buf_append(b, *e, strlen(*e) + 1);
  uint32_t size = (uint32_t)(b->len - 4);
  uint8_t *p = (uint8_t *)b->data;
  p[0] = size; p[1] = size >> 8; p[2] = size >> 16; p[3] = size >> 24;
}

/* A forked child holds copies of every boxd descriptor (clients, the port, other ptys)
 * until it execs; one that waits for a container must keep only its own. */
static void keep_only_fds(const int *fds, int n) {
  int sorted[16];
  if (n > 16) die("keep_only_fds: too many");
  memcpy(sorted, fds, n * sizeof *fds);
  for (int i = 1; i < n; i++)
    for (int k = i; k > 0 && sorted[k - 1] > sorted[k]; k--) {
      int t = sorted[k];
      sorted[k] = sorted[k - 1];
      sorted[k - 1] = t;
    }
  unsigned from = 3;
  for (int i = 0; i < n; i++) {
    if ((unsigned)sorted[i] > from && close_range(from, sorted[i] - 1, 0) < 0) die_with_error("close_range");
    if ((unsigned)sorted[i] + 1 > from) from = sorted[i] + 1;
  }
  if (close_range(from, ~0U, 0) < 0) die_with_error("close_range");
}

/* A u32 (little-endian) from boxd; with out, that many bytes after it as a malloc'd string (NULL
 * if 0, at most 64 KiB). Returns 1, 0 at EOF (boxd dropped this child), < 0 if cut short or too long. */
static int read_u32_string(int fd, uint32_t *size, const char **out) {
  uint8_t len[4];
  int n = read_all(fd, len, 4);
  if (n <= 0) return n;
  if (n != 4) return -1;
  *size = len[0] | len[1] << 8 | len[2] << 16 | (uint32_t)len[3] << 24;
  if (!out) return 1;
  *out = NULL;
  if (!*size) return 1;
  if (*size > 1 << 16) return -1;
  char *s = xcalloc(1, *size + 1);
  if (read_all(fd, s, *size) != (int)*size) {
    free(s);
    return -1;
  }
  *out = s;
  return 1;
}

static void __attribute__((noreturn)) container_child(int report_fd, int go_fd, const char *mnt, const char *run) {
  int keep[] = {report_fd, go_fd};
  keep_only_fds(keep, 2);
  child_reset(report_fd);
  /* Everything that needs no container yet is done now, while boxd is idle for a prepared child:
   * /proc, /dev, /sys (mounts.c), the pty in that devpts, and the network once boxd made the veth. */
  struct mount_context early = {.mnt = mnt, .keep = run};
  mounts_prepare(&early);
  int master = pty_open_in_child(true, true);
  uint32_t early_ip;
  int n = read_all(go_fd, &early_ip, 4);
  if (n == 0) _exit(0); /* boxd dropped a prepared child it no longer needs */
  if (n != 4) die("bad start request from boxd");
  if (early_ip) configure_container_net(early_ip);
  /* The root of the image boxd expects next, mounted now: a start of it only moves into it. One
   * that fails here is mounted again at the start, which then says why. */
  uint32_t size;
  if ((n = read_u32_string(go_fd, &size, &early.overlay_opts)) <= 0) _exit(0);
  bool root_ready = size && mounts_try_overlay(&early);
  free((char *)early.overlay_opts);
  if ((n = read_u32_string(go_fd, &size, NULL)) == 0) _exit(0);
  if (n < 0 || size > 1 << 20) die("bad start request from boxd");
  char *blob = malloc(size ? size : 1);
  char **f;
  int nf;
  if (!blob || read_all(go_fd, blob, size) != (int)size || split_args(blob, size, (int)size, &f, &nf) < 0 || nf < SPEC_HEAD)
    die("bad start request from boxd");
  int argc = atoi(f[6]), nmounts = atoi(f[7]);
  if (argc < 1 || nmounts < 0 || nmounts > MAX_MOUNTS || SPEC_HEAD + 2 * nmounts + argc > nf) die("bad start request from boxd");
  struct mount_point points[MAX_MOUNTS];
  for (int i = 0; i < nmounts; i++) {
    points[i].target = f[SPEC_HEAD + 2 * i];
    mount_point_from_flags(&points[i], f[SPEC_HEAD + 2 * i + 1]);
    if ((points[i].fd = mount_fd_recv(report_fd)) < 0) die("no descriptor from boxd for the mount on %s", points[i].target);
  }
  int at = SPEC_HEAD + 2 * nmounts;
  char **argv = f + at;
  char **env = xcalloc(nf - at - argc + 1, sizeof *env);
  for (int i = at + argc; i < nf; i++) env[i - at - argc] = f[i];
  argv[argc] = NULL; /* env was copied out; argv ends here */
  bool privileged = f[4][0] == '1', keep_root = root_ready && f[8][0] == '1';
  struct mount_context mounts = {.mnt = mnt, .keep = run, .overlay_opts = keep_root ? NULL : f[0], .privileged = privileged};

  if (root_ready && !keep_root) mounts_drop_overlay(&mounts); /* another image's, or unprivileged */
  mounts_setup_root(&mounts);
  mounts_attach(points, nmounts, privileged); /* -v, --mount: volumes and binds, under the new root */
  if (f[5][0] != '1') pty_make_raw(0);
  pty_send_master(report_fd, master);
  report_time(report_fd); /* mounts */
  char go;
  if (read_all(go_fd, &go, 1) != 1) die("boxd went away during the start");
  /* Now in its cgroup: a new cgroup namespace makes that group the container's root. */
  if (unshare(CLONE_NEWCGROUP) < 0) die_with_error("unshare(CLONE_NEWCGROUP)");
  mounts_setup_cgroup(&mounts);
  uint32_t ip = (uint32_t)strtoul(f[3], NULL, 10);
  if (ip && ip != early_ip) configure_container_net(ip);
  if (sethostname(f[1], strlen(f[1])) < 0) die_with_error("sethostname");
  /* Docker makes the working directory when the image or -w names one it does not have. */
  int made = f[2][0] ? mkdir_p(f[2], 0755) : 0;
  if (made < 0) {
    errno = -made;
    die_with_error("creating the working directory %s", f[2]);
  }
  child_exec(argv, env, f[2], privileged, report_fd);
  _exit(127);
}

/* ------------------------------------------------------------------ parent side */

/* Read the child's reports until it reaches `want` time records or EOF. Returns the
 * number of times read, or with err set: -1 for an 'E' record (the runtime failed),
 * START_NOT_FOUND / START_CANNOT_INVOKE for 'X' / 'N' (the command could not be run). */
static int read_reports(int fd, uint64_t *times, int want, int *passed, char *err, size_t errlen) {
  int got = 0;
  while (got < want) {
    char kind;
    int received;
    int n = recv_record_kind(fd, &kind, &received);
    if (n <= 0) return got;
    if (received >= 0) {
      if (kind == 'P' && passed && *passed < 0) *passed = received;
      else close(received);
    }
    if (kind == 'P') continue;
    if (kind == 'T') {
      if (read_all(fd, &times[got], 8) != 8) return got;
      got++;
    } else {
      /* The rest of the stream is the message: the child exits right after writing it. */
      struct buf msg = {0};
      char chunk[512];
      while ((n = read(fd, chunk, sizeof chunk)) > 0) buf_append(&msg, chunk, n);
      buf_append(&msg, "", 1);
      set_err(err, errlen, 0, "%s", msg.data);
      buf_free(&msg);
      return kind == 'X' ? START_NOT_FOUND : kind == 'N' ? START_CANNOT_INVOKE : -1;
    }
  }
  return got;
}

/* After the last time record the child either execs (EOF) or reports why it could not. */
static int wait_exec(int fd, char *err, size_t errlen) {
  uint64_t dummy;
  int n = read_reports(fd, &dummy, 1, NULL, err, errlen);
  if (n < 0) return n;
  if (n > 0) return set_err(err, errlen, 0, "unexpected report from the container");
  return 0;
}

/* "lowerdir=…" of an image's overlay: its layers, the top one first. */
static char *overlay_lower(const struct image *im) {
  struct buf b = {0};
  buf_append(&b, "lowerdir=", 9);
  for (int i = im->nlayers - 1; i >= 0; i--) {
    autofree char *dir = layer_dir(im->layers[i]);
    buf_printf(&b, "%s%s", dir, i ? ":" : "");
  }
  buf_append(&b, "", 1);
  return b.data;
}

/* The overlay's options with its upper and work directories under dir (a container's state). */
static char *overlay_options(const char *lower, const char *dir) {
  return xasprintf("%s,upperdir=%s/upper,workdir=%s/work", lower, dir, dir);
}

/* A container's state directory with its (empty) overlay upper/ and work/: 0 or -errno. Three
 * mkdirs, not a mkdir_p walking every parent (boxd made run/ at setup). */
static int make_state_dir(const char *dir) {
  autofree char *upper = xasprintf("%s/upper", dir);
  autofree char *work = xasprintf("%s/work", dir);
  const char *made[] = {dir, upper, work};
  for (size_t i = 0; i < N_ELEMENTS(made); i++) {
    int rc = mkdir(made[i], 0755) < 0 && errno != EEXIST ? mkdir_p(made[i], 0755) : 0;
    if (rc < 0) return rc;
  }
  return 0;
}

static void kill_and_reap(pid_t pid) {
  kill(pid, SIGKILL);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
}

static int add_veth(struct prepared *p, char *err, size_t errlen) {
  autoclose int nl = nl_open();
  snprintf(p->veth, sizeof p->veth, "vb%d", p->id);
  int br = if_nametoindex(cfg.bridge), veth = 0, rc = 0;
  if (nl < 0 || !br) return set_err(err, errlen, nl < 0 ? -nl : errno, "network (bridge %s)", cfg.bridge);
  rc = nl_add_veth(nl, p->veth, "eth0", p->pid);
  if (rc == -EEXIST && (veth = if_nametoindex(p->veth))) {
    /* The last holder of this id was removed but its namespace is still being torn down. */
    nl_del_link(nl, veth);
    rc = nl_add_veth(nl, p->veth, "eth0", p->pid);
  }
  if (rc < 0 || !(veth = if_nametoindex(p->veth)) ||
      (rc = nl_set_link(nl, veth, true, br)) < 0)
    return set_err(err, errlen, rc < 0 ? -rc : errno, "veth %s", p->veth);
  p->network_ns = now_ns();
  return 0;
}

/* For a prepared child: what a start of image im, unnamed, needs that depends on no request —
 * its name <image>-<id> (so its cgroup can be made now: cgroup v2 refuses a rename), its state
 * directory, the child in box/<name>. Returns the overlay options for the child to mount ahead,
 * or NULL (the layers are not all there, or the name is taken: nothing or less is prepared). */
static char *prepare_for_image(struct prepared *p, const struct image *im) {
  char err[256];
  int n = snprintf(p->name, sizeof p->name, "%s-%d", im->name, p->id);
  autofree char *dir = xasprintf("%s/run/%s", cfg.state, p->name);
  /* Taken (container_create would pick another), or left over: nothing to prepare. */
  if (n >= (int)sizeof p->name || strchr(p->name, '/') || container_find(p->name) || mkdir(dir, 0755) < 0 ||
      make_state_dir(dir) < 0) {
    p->name[0] = 0;
    return NULL;
  }
  if (cgroup_create(p->name, 0, 0, 0, err, sizeof err) == 0) {
    if (cgroup_attach(p->name, p->pid, err, sizeof err) == 0) p->cgroup_ns = now_ns();
    else cgroup_remove(p->name);
  }
  for (int i = 0; i < im->nlayers; i++) {
    autofree char *layer = layer_dir(im->layers[i]);
    if (access(layer, F_OK) < 0) return NULL;
  }
  p->lower = overlay_lower(im);
  p->root_ns = now_ns();
  return overlay_options(p->lower, dir);
}

/* Send boxd's u32 (little-endian) length and that string ("" for none) to a child. */
static int write_u32_string(int fd, const char *s) {
  uint32_t n = s ? (uint32_t)strlen(s) : 0;
  uint8_t len[4] = {n, n >> 8, n >> 16, n >> 24};
  int rc = write_all(fd, len, 4);
  return rc < 0 || !n ? rc : write_all(fd, s, n);
}

int namespaces_prepare(struct prepared *p, int id, bool with_network, const struct image *im, char *err, size_t errlen) {
  memset(p, 0, sizeof *p);
  p->id = id;
  p->report_rd = p->go_wr = -1;
  int report[2], go[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, report) < 0) return set_err(err, errlen, errno, "socketpair");
  p->report_rd = report[0];
  if (pipe2(go, O_CLOEXEC) < 0) {
    set_err(err, errlen, errno, "pipe");
    close(report[1]);
    goto fail;
  }
  p->go_wr = go[1];
  autofree char *mnt = xasprintf("%s/mnt", cfg.state);
  autofree char *run = xasprintf("%s/run", cfg.state);
  p->pid = syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0);
  if (p->pid == 0) container_child(report[1], go[0], mnt, run);
  close(report[1]);
  close(go[0]);
  if (p->pid < 0) {
    set_err(err, errlen, errno, "clone");
    goto fail;
  }
  p->namespaces_ns = now_ns();
  if (with_network && cfg.network && add_veth(p, err, errlen) < 0) goto fail;
  /* The child configures its eth0 now (10.88.0.1 + id) if its veth is there, else at its start. */
  uint32_t early_ip = with_network && cfg.network ? htonl(cfg.bridge_ip + id) : 0;
  autofree char *root = im ? prepare_for_image(p, im) : NULL;
  int rc = write_all(p->go_wr, &early_ip, 4);
  if (rc >= 0) rc = write_u32_string(p->go_wr, root);
  if (rc < 0) {
    set_err(err, errlen, -rc, "the prepared namespaces' child died");
    goto fail;
  }
  return 0;
fail:
  namespaces_discard(p);
  return -EINVAL;
}

/* Is `name` a container's (then its cgroup and run/<name> are that container's, not a prepared
 * child's to remove)? A prepared name is the next unnamed container's, so a container can come to
 * hold it while a prepared or leftover cgroup of that name still waits to go. */
static bool owned_by_container(const char *name) {
  const struct container *c = container_find(name);
  return c && !strcmp(c->name, name);
}

void namespaces_discard(struct prepared *p) {
  if (p->pid > 0) kill_and_reap(p->pid);
  int *fds[] = {&p->report_rd, &p->go_wr};
  for (size_t i = 0; i < N_ELEMENTS(fds); i++) {
    if (*fds[i] >= 0) close(*fds[i]);
    *fds[i] = -1;
  }
  p->pid = 0;
  int rc;
  if (p->name[0] && !owned_by_container(p->name)) {
    if (p->cgroup_ns && (rc = cgroup_remove(p->name)) < 0) log_msg("prepared cgroup %s not removed: %s", p->name, strerror(-rc));
    autofree char *dir = xasprintf("%s/run/%s", cfg.state, p->name);
    rm_rf(dir);
  }
  p->name[0] = 0;
  p->cgroup_ns = p->root_ns = 0;
  free(p->lower);
  p->lower = NULL;
}

/* A prepared cgroup whose start had another name: its child leaves it at cgroup_attach. */
static char leftover_cgroup[sizeof ((struct prepared *)0)->name];

static void leftover_cgroup_add(const char *name) {
  int rc; /* one kept at a time: an older one's child left it long ago */
  if (leftover_cgroup[0] && !owned_by_container(leftover_cgroup) && (rc = cgroup_remove(leftover_cgroup)) < 0)
    log_msg("prepared cgroup %s not removed: %s", leftover_cgroup, strerror(-rc));
  snprintf(leftover_cgroup, sizeof leftover_cgroup, "%s", name);
}

void prepared_leftovers_remove(void) {
  if (leftover_cgroup[0] && (owned_by_container(leftover_cgroup) || cgroup_remove(leftover_cgroup) == 0)) leftover_cgroup[0] = 0;
}

/* A start that makes the cgroup `name` owns it from then on: were it the leftover, an idle turn
 * during that start (a volume being filled, say) would remove it under the start, whose attach then
 * failed with ENOENT (seen in CI: "cgroup cgroup.procs=151: No such file or directory"). */
static void leftover_cgroup_claim(const char *name) {
  if (!strcmp(leftover_cgroup, name)) leftover_cgroup[0] = 0;
}

/* A prepared child's state directory, cgroup and root, for container c (its own now): which of
 * them it takes. The directory is renamed if c has another name; the cgroup only fits c's name
 * (otherwise the child moves to c's at cgroup_attach and the prepared one goes while idle); the
 * root fits if it is the overlay of c's layers, unprivileged, over that directory. */
static bool take_prepared(struct container *c, struct start_state *st, const char *dir, const char *lower) {
  struct prepared *p = &st->p;
  if (!p->name[0]) return false;
  bool same = !strcmp(p->name, c->name);
  if (p->cgroup_ns && same) {
    st->in_cgroup = true;
    c->prewarmed[2] = p->cgroup_ns;
  } else if (p->cgroup_ns) {
    leftover_cgroup_add(p->name);
  }
  p->cgroup_ns = 0;
  autofree char *from = xasprintf("%s/run/%s", cfg.state, p->name);
  if (!same && rename(from, dir) < 0) {
    log_msg("%s: prepared %s not taken: %s", c->name, from, strerror(errno));
    return false; /* namespaces_discard removes it, once the child let go of it */
  }
  p->name[0] = 0;
  bool keep_root = p->root_ns && !c->opts.privileged && !strcmp(p->lower, lower);
  if (keep_root) c->prewarmed[3] = p->root_ns;
  return keep_root;
}

/* A start runs in steps, each taken when the child's report socket is readable: boxd's loop
 * serves other containers' output and requests in between, so no start holds back another. */
int container_start_begin(struct container *c, struct prepared *warm, char *err, size_t errlen) {
  struct start_state *st = &c->start;
  autofree char *dir = container_dir(c);
  autofree char *lower = overlay_lower(c->image);
  autofree char *opts = overlay_options(lower, dir);
  struct buf spec = {0};
  bool keep_root = false, made_cgroup = false;
  int rc;

  *st = (struct start_state){.stage = START_MOUNTS, .master = -1, .warm = warm != NULL};
  st->p.pid = 0;
  st->p.report_rd = st->p.go_wr = -1;
  if (warm) {
    /* Namespaces and veth were made ahead of time (see starts.c): this start owns them now,
     * and what was prepared for the image expected (its directory, cgroup, root) if it fits. */
    st->p = *warm;
    warm->lower = NULL;
    c->prewarmed[0] = warm->namespaces_ns;
    c->prewarmed[1] = warm->network_ns;
    c->id = warm->id;
    keep_root = take_prepared(c, st, dir, lower);
  }
  /* A kept root has its layers mounted; and its directory is there. */
  for (int i = 0; !keep_root && i < c->image->nlayers; i++)
    if ((rc = layer_ensure(c->image->layers[i], err, errlen)) < 0) goto fail;
  if (!keep_root && (rc = make_state_dir(dir)) < 0) {
    set_err(err, errlen, -rc, "creating %s", dir);
    goto fail;
  }
  c->phases[PHASE_LAYERS] = now_ns();
  /* Published ports are bound first: a port already taken fails the start before anything is made. */
  if ((rc = publish_ports(c->opts.ports, c->opts.nports, cfg.network ? htonl(cfg.bridge_ip + c->id) : 0, err, errlen)) < 0)
    goto fail;
  c->proxy = rc;

  if (st->in_cgroup) rc = cgroup_set_limits(c->name, c->opts.memory, c->opts.pids, c->opts.cpus, err, errlen);
  else made_cgroup = (leftover_cgroup_claim(c->name), rc = cgroup_create(c->name, c->opts.memory, c->opts.pids, c->opts.cpus, err, errlen)) == 0;
  if (rc < 0) goto fail;
  if (!warm && namespaces_prepare(&st->p, c->id, false, NULL, err, errlen) < 0) goto fail;
  c->pid = st->p.pid;
  c->phases[PHASE_NAMESPACES] = now_ns();
  /* box0 is cfg.bridge_ip (10.88.0.1); container n gets 10.88.0.1 + n. */
  c->ip = cfg.network ? htonl(cfg.bridge_ip + c->id) : 0;
  snprintf(c->veth, sizeof c->veth, "vb%d", c->id);
  /* -v: each source cloned here, in boxd's namespace, where the host's paths still are. */
  int nm = c->opts.nmounts, mount_fds[MAX_MOUNTS]; /* parse_run allows no more */
  bool is_dir[MAX_MOUNTS];
  if (mounts_open(c->opts.mounts, nm, mount_fds, is_dir, err, errlen) < 0) goto fail;
  spec_pack(&spec, c, opts, keep_root, is_dir);
  rc = write_all(st->p.go_wr, spec.data, spec.len);
  buf_free(&spec);
  for (int i = 0; i < nm; i++) {
    if (rc >= 0) rc = mount_fd_send(st->p.report_rd, mount_fds[i]);
    close(mount_fds[i]);
  }
  if (rc < 0) {
    set_err(err, errlen, -rc, "the container died before its start request");
    container_start_abort(c);
    mounts_remove_anonymous(c->opts.mounts, c->opts.nmounts);
    return -EINVAL;
  }
  return 0;

fail:
  mounts_remove_anonymous(c->opts.mounts, c->opts.nmounts); /* made for this start only (-ENOENT if not yet) */
  unpublish_ports(c->proxy);
  c->proxy = 0;
  namespaces_discard(&st->p); /* first: a cgroup with the child in it cannot go */
  if (made_cgroup || st->in_cgroup) cgroup_remove(c->name);
  rm_rf(dir);
  c->ip = 0;
  st->stage = START_DONE;
  return -EINVAL;
}

int container_start_step(struct container *c, int *master_out, char *err, size_t errlen) {
  struct start_state *st = &c->start;
  struct prepared *p = &st->p;
  int rc = -EINVAL;
  switch (st->stage) {
  case START_MOUNTS:
    /* The child sends its pty ('P') then the time its mounts were done ('T'). */
    if (read_reports(p->report_rd, &c->phases[PHASE_MOUNTS], 1, &st->master, err, errlen) != 1 || st->master < 0) {
      if (!*err) set_err(err, errlen, 0, "the container died while mounting");
      break;
    }
    if (!st->in_cgroup && cgroup_attach(c->name, p->pid, err, errlen) < 0) break;
    c->phases[PHASE_CGROUP] = now_ns();
    if (!st->warm && cfg.network && add_veth(p, err, errlen) < 0) break;
    c->phases[PHASE_NETWORK] = now_ns();
    if (write_all(p->go_wr, "g", 1) < 0) {
      set_err(err, errlen, 0, "the container died before exec");
      break;
    }
    st->stage = START_EXEC;
    return 0;
  case START_EXEC:
    if (read_reports(p->report_rd, &c->phases[PHASE_EXEC], 1, NULL, err, errlen) != 1) {
      if (!*err) set_err(err, errlen, 0, "the container died before exec");
      break;
    }
    st->stage = START_EXECED;
    return 0;
  case START_EXECED:
    /* EOF: the report socket closed on exec. Or why the command could not be run. */
    if ((rc = wait_exec(p->report_rd, err, errlen)) < 0) {
      if (!*err) set_err(err, errlen, 0, "the container died before exec");
      break;
    }
    c->state = STATE_RUNNING;
    fcntl(st->master, F_SETFL, O_NONBLOCK);
    *master_out = st->master;
    st->master = -1;
    p->pid = 0; /* the container's now: not the prepared child's to kill */
    namespaces_discard(p);
    st->stage = START_DONE;
    return 1;
  case START_DONE:
    return 1;
  }
  container_start_abort(c);
  mounts_remove_anonymous(c->opts.mounts, c->opts.nmounts); /* a failed start leaves no container to name them */
  return rc == START_NOT_FOUND || rc == START_CANNOT_INVOKE ? rc : -EINVAL;
}

void container_start_abort(struct container *c) {
  struct start_state *st = &c->start;
  if (st->master >= 0) close(st->master);
  st->master = -1;
  namespaces_discard(&st->p);
  unpublish_ports(c->proxy);
  c->proxy = 0;
  cgroup_remove(c->name);
  autofree char *dir = container_dir(c);
  rm_rf(dir);
  c->ip = 0;
  c->pid = 0;
  st->stage = START_DONE;
}

int container_start_blocking(struct container *c, struct prepared *warm, int *master, char *err, size_t errlen) {
  int rc = container_start_begin(c, warm, err, errlen);
  while (rc == 0) {
    struct pollfd pfd = {.fd = c->start.p.report_rd, .events = POLLIN};
    if (poll(&pfd, 1, -1) < 0 && errno != EINTR) {
      set_err(err, errlen, errno, "poll");
      container_start_abort(c);
      return -EINVAL;
    }
    rc = container_start_step(c, master, err, errlen);
  }
  return rc > 0 ? 0 : rc;
}

int container_exec(const struct container *c, char **argv, bool tty, int *master_out, pid_t *pid_out, char *err, size_t errlen) {
  static const struct { const char *name; int type; } nss[] = {
      {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET}, {"cgroup", CLONE_NEWCGROUP}, {"mnt", CLONE_NEWNS},
  };
  static int own_pidns = -1;
  if (own_pidns < 0 && (own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC)) < 0)
    return set_err(err, errlen, errno, "/proc/self/ns/pid");
  if (c->state != STATE_RUNNING) return set_err(err, errlen, 0, "container %s is not running", c->name);
  int fds[N_ELEMENTS(nss)];
  for (size_t i = 0; i < N_ELEMENTS(nss); i++) fds[i] = -1;
  autoclose int pidns = -1;
  int master = -1, report[2] = {-1, -1};
  int rc = -EINVAL;
  for (size_t i = 0; i < N_ELEMENTS(nss); i++) {
    autofree char *p = xasprintf("/proc/%d/ns/%s", (int)c->pid, nss[i].name);
    if ((fds[i] = open(p, O_RDONLY | O_CLOEXEC)) < 0) {
      rc = set_err(err, errlen, errno, "%s", p);
      goto out;
    }
  }
  autofree char *pidns_path = xasprintf("/proc/%d/ns/pid", (int)c->pid);
  if ((pidns = open(pidns_path, O_RDONLY | O_CLOEXEC)) < 0) {
    rc = set_err(err, errlen, errno, "%s", pidns_path);
    goto out;
  }
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, report) < 0) {
    rc = set_err(err, errlen, errno, "socketpair");
    goto out;
  }
  autofree char *procs = xasprintf("%s/box/%s/cgroup.procs", cfg.cgroup, c->name);
  /* Children forked now are born in the container's PID namespace; boxd itself stays put. */
  if (setns(pidns, CLONE_NEWPID) < 0) {
    rc = set_err(err, errlen, errno, "setns pid");
    goto out;
  }
  pid_t pid = fork();
  if (pid != 0 && setns(own_pidns, CLONE_NEWPID) < 0)
    log_msg("exec: cannot return to the host PID namespace: %s", strerror(errno));
  if (pid == 0) {
    int keep[N_ELEMENTS(nss) + 1];
    for (size_t i = 0; i < N_ELEMENTS(nss); i++) keep[i] = fds[i];
    keep[N_ELEMENTS(nss)] = report[1];
    keep_only_fds(keep, N_ELEMENTS(keep));
    child_reset(report[1]);
    if (write_file(procs, "0") < 0) die_with_error("joining cgroup %s", procs);
    for (size_t i = 0; i < N_ELEMENTS(nss); i++)
      if (setns(fds[i], nss[i].type) < 0) die_with_error("setns %s", nss[i].name);
    if (chdir("/") < 0) die_with_error("chdir /");
    pty_send_master(report[1], pty_open_in_child(tty, false));
    child_exec(argv, c->env, c->workdir, c->opts.privileged, report[1]);
  }
  if (pid < 0) {
    rc = set_err(err, errlen, errno, "fork");
    goto out;
  }
  close(report[1]);
  report[1] = -1;
  uint64_t t;
  if (read_reports(report[0], &t, 1, &master, err, errlen) != 1 || master < 0 || (rc = wait_exec(report[0], err, errlen)) < 0) {
    if (!*err) set_err(err, errlen, 0, "exec in %s failed", c->name);
    if (rc != START_NOT_FOUND && rc != START_CANNOT_INVOKE) rc = -EINVAL;
    kill_and_reap(pid);
    goto out;
  }
  fcntl(master, F_SETFL, O_NONBLOCK);
  *pid_out = pid;
  *master_out = master;
  master = -1;
  rc = 0;
out:
  for (size_t i = 0; i < N_ELEMENTS(nss); i++)
    if (fds[i] >= 0) close(fds[i]);
  if (master >= 0) close(master);
  if (report[0] >= 0) close(report[0]);
  if (report[1] >= 0) close(report[1]);
  return rc;
}

void container_cleanup(struct container *c) {
  unpublish_ports(c->proxy);
  c->proxy = 0;
  if (cgroup_remove(c->name) < 0) log_msg("%s: cgroup not removed: %s", c->name, strerror(errno));
  autofree char *dir = container_dir(c);
  rm_rf(dir);
}
