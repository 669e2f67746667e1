/* boxd's loop: links (the virtio port, CLI sockets) polled with every terminal and every start
 * under way, children reaped, stop deadlines kept, and idle time used to begin layer unpacks
 * (in children: nothing long runs in the loop) and prepare namespaces. What a frame asks is requests.c's; containers are registry.c's. */
#define _GNU_SOURCE
#include "daemon.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cgroup.h"
#include "config.h"
#include "link.h"
#include "loads.h"
#include "prefetch.h"
#include "registry.h"
#include "requests.h"
#include "starts.h"
#include "terminal.h"
#include "unpacks.h"

#define MAX_LINKS 64
#define LINK_HIGH_WATER (256 * 1024) /* stop reading ptys for a link whose output is this far behind */

static struct link *links[MAX_LINKS];
static int listen_fd, signal_fd;

/* A command that exits at once (`true`, a build's RUN) can be reaped before its start's last step
 * ran (the exec report and the exit come in the same poll round): take the remaining steps now (the
 * reports are already there), then record the exit, or the container would stay "Up" for ever. */
static bool finish_start_of_exited(pid_t pid, int status) {
  struct container *c = container_starting_pid(pid);
  if (!c) return false;
  struct term *t;
  while ((c = container_starting_pid(pid)) && (t = term_of_container(c)) && start_in_progress(t))
    start_stepped(t); /* frees c (and t) if the start failed */
  if ((c = container_running_pid(pid))) container_exited(c, status);
  return true;
}

static void reap_children(void) {
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    struct container *c = container_running_pid(pid);
    if (c) container_exited(c, status);
    else if (unpack_reaped(pid, status)) continue;
    else if (load_reaped(pid, status)) continue;
    else if (prefetch_reaped(pid, status)) continue;
    else if (finish_start_of_exited(pid, status)) continue;
    else if (!prepared_namespaces_died(pid, status)) term_finish(term_of_pid(pid), status);
  }
}

/* ------------------------------------------------------------------ links */

static struct link *link_add(int fd, bool is_port) {
  for (int i = 0; i < MAX_LINKS; i++) {
    if (links[i]) continue;
    struct link *l = xcalloc(1, sizeof *l);
    l->fd = fd;
    l->is_port = is_port;
    l->decoder = wire_decoder_new();
    links[i] = l;
    return l;
  }
  return NULL;
}

static void link_close(struct link *l) {
  terms_forget_link(l);
  loads_forget_link(l);
  containers_forget_link(l);
  starts_forget_link(l);
  for (int i = 0; i < MAX_LINKS; i++)
    if (links[i] == l) links[i] = NULL;
  close(l->fd);
  wire_decoder_free(l->decoder);
  buf_free(&l->out);
  free(l);
}

static void link_flush(struct link *l) {
  while (l->out.len) {
    ssize_t n = write(l->fd, l->out.data, l->out.len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      if (!l->is_port) l->closing = true;
      l->out.len = 0;
      return;
    }
    buf_consume(&l->out, n);
  }
}

/* Reads per wakeup: the virtio port hands out one receive buffer (a page) per read
 * (virtio_console.c fill_readbuf), and a poll turn per page cost more than its bytes; 16 reads
 * take the 16 buffers v86's receive queue holds. */
#define LINK_READS_PER_TURN 16

static void link_read(struct link *l) {
  uint8_t chunk[16384];
  struct wire_handler h = {handle_frame, handle_decode_error, l};
  for (int i = 0; i < LINK_READS_PER_TURN && !l->closing; i++) {
    ssize_t n = read(l->fd, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
      if (!l->is_port) l->closing = true;
      else l->quiet_until = now_ns() + 1000000000u;
      return;
    }
    wire_feed(l->decoder, chunk, n, &h);
  }
}

/* ------------------------------------------------------------------ setup */

static int open_virtio_port(const char *want) {
  DIR *d = opendir("/sys/class/virtio-ports");
  if (!d) return -1;
  int fd = -1;
  struct dirent *e;
  while (fd < 0 && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    autofree char *name_path = xasprintf("/sys/class/virtio-ports/%s/name", e->d_name);
    autofree char *name = read_file(name_path, NULL);
    if (!name) continue;
    name[strcspn(name, "\n")] = 0;
    if (strcmp(name, want)) continue;
    autofree char *dev = xasprintf("/dev/%s", e->d_name);
    if (access(dev, F_OK) < 0) {
      /* devtmpfs normally has it; if not, make the node from sysfs. */
      autofree char *dev_path = xasprintf("/sys/class/virtio-ports/%s/dev", e->d_name);
      autofree char *mm = read_file(dev_path, NULL);
      unsigned ma, mi;
      if (mm && sscanf(mm, "%u:%u", &ma, &mi) == 2) mknod(dev, S_IFCHR | 0600, makedev(ma, mi));
    }
    fd = open(dev, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    unsigned dev_no, port_no;
    if (fd < 0 && errno == ENXIO && sscanf(e->d_name, "vport%up%u", &dev_no, &port_no) == 2) {
      /* A host that announces its ports as consoles (v86 does, unless the page withholds it:
       * src/core/mux/v86-port.ts; a guest restored from an older saved state) gets them driven
       * by hvc: port N is /dev/hvcN, a tty that must be raw to carry binary frames (and slow:
       * hvc takes input 16 bytes at a time). */
      free(dev);
      dev = xasprintf("/dev/hvc%u", port_no);
      fd = open(dev, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
      struct termios t;
      if (fd >= 0 && tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(fd, TCSANOW, &t);
        tcflush(fd, TCIOFLUSH); /* bytes that came in cooked (the host repeats HELLO until READY) */
      }
    }
    if (fd < 0) log_msg("open %s: %s", dev, strerror(errno));
    else log_msg("serving the mux on %s (%s)", dev, want);
  }
  closedir(d);
  return fd;
}

static int listen_unix(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -errno;
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof a.sun_path) {
    close(fd);
    return -ENAMETOOLONG;
  }
  strcpy(a.sun_path, path);
  unlink(path);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 16) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  chmod(path, 0600);
  return fd;
}

static int setup(void) {
  char err[1024] = "";
  signal(SIGPIPE, SIG_IGN);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  signal_fd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd < 0) {
    log_msg("signalfd: %s", strerror(errno));
    return -1;
  }
  const char *dirs[] = {"layers", "run", "mnt"};
  for (size_t i = 0; i < N_ELEMENTS(dirs); i++) {
    autofree char *p = xasprintf("%s/%s", cfg.state, dirs[i]);
    int rc = mkdir_p(p, 0755);
    if (rc < 0) log_msg("mkdir %s: %s", p, strerror(-rc));
  }
  if (cgroup_setup(err, sizeof err) < 0) log_msg("cgroup: %s", err);
  if (network_setup(err, sizeof err) < 0) log_msg("network: %s", err);
  if (registry_load_images(cfg.oci, err, sizeof err) < 0) log_msg("images: %s", err);
  const struct image_list *images = registry_images();
  log_msg("%d images in %s", images->n, cfg.oci);
  listen_fd = listen_unix(cfg.sock);
  if (listen_fd < 0) log_msg("listening on %s: %s", cfg.sock, strerror(-listen_fd));
  if (*cfg.vport) {
    int port = open_virtio_port(cfg.vport);
    if (port >= 0) link_add(port, true);
    else log_msg("no virtio port named %s: serving %s only", cfg.vport, cfg.sock);
  }
  requests_ready(now_ns());
  /* Say so unasked too: the host may have sent HELLO before the port was open. */
  for (int i = 0; i < MAX_LINKS; i++)
    if (links[i] && links[i]->is_port) {
      struct wire_frame hello = {W_HELLO, 0, NULL, 0};
      handle_frame(links[i], &hello);
    }
  return listen_fd < 0 ? -1 : 0;
}

/* ------------------------------------------------------------------ the loop */

/* Tell whoever started us that we are listening: one line on the file descriptor named by
 * BOX_NOTIFY_FD (the host's init reads it from a FIFO instead of polling for the socket, which
 * cost one exec of `usleep` every 10 ms). The fd is closed and the variable dropped, so no
 * container inherits either. */
static void notify_ready(void) {
  const char *v = getenv("BOX_NOTIFY_FD");
  if (!v) return;
  char *end;
  long fd = strtol(v, &end, 10);
  unsetenv("BOX_NOTIFY_FD");
  if (*end || fd < 3 || fd > 1024) {
    log_msg("BOX_NOTIFY_FD=%s is not a file descriptor above 2: not notifying", v);
    return;
  }
  static const char line[] = "READY\n";
  if (write((int)fd, line, sizeof line - 1) < 0) log_msg("notifying readiness on fd %ld: %s", fd, strerror(errno));
  close((int)fd);
}

static void serve(struct pollfd *pfd, void **who, int n, int first_term);

#define MAX_POLLED (2 + MAX_LINKS + MAX_TERMS + 2 * MAX_LOADS)

int daemon_main(void) {
  config_load();
  if (setup() < 0) return 1;
  log_msg("boxd ready");
  notify_ready();
  bool idle_work = true;
  for (;;) {
    struct pollfd pfd[MAX_POLLED];
    void *who[MAX_POLLED];
    int n = 0;
    bool any_quiet = false;
    pfd[n] = (struct pollfd){.fd = signal_fd, .events = POLLIN};
    who[n++] = NULL;
    pfd[n] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
    who[n++] = NULL;
    for (int i = 0; i < MAX_LINKS; i++) {
      struct link *l = links[i];
      if (!l) continue;
      bool quiet = l->quiet_until > now_ns();
      pfd[n] = (struct pollfd){.fd = quiet ? -1 : l->fd, .events = POLLIN | (l->out.len ? POLLOUT : 0)};
      who[n++] = l;
      if (quiet) any_quiet = true;
    }
    int first_term = n;
    bool queued = start_waiting();
    struct term *t;
    for (int at = 0; (t = term_next(&at));) {
      if (start_in_progress(t)) {
        pfd[n] = (struct pollfd){.fd = t->c->start.p.report_rd, .events = POLLIN};
        who[n++] = t;
        continue;
      }
      if (t->master < 0) continue;
      short ev = t->in.len && !t->exited ? POLLOUT : 0;
      if (!t->link || (t->credit > 0 && t->link->out.len < LINK_HIGH_WATER)) ev |= POLLIN;
      /* Nothing to wait for (no credit): not polled, as a pty whose program has exited reports
       * POLLHUP whatever is asked, and the loop would spin until the host sends credit. */
      if (!ev) continue;
      pfd[n] = (struct pollfd){.fd = t->master, .events = ev};
      who[n++] = t;
    }
    int first_load = n; /* then the loads' pipes (loads.c keeps who is who) */
    n += loads_pollfds(pfd + n);
    uint64_t now = now_ns();
    int start_wait = -1;
    bool may_begin = queued && may_begin_start(now, &start_wait);
    int timeout = may_begin ? 0 : queued ? start_wait : idle_work || prepare_namespaces_wanted() ? 200 : any_quiet ? 1000 : -1;
    int stop_wait = stop_deadline_wait_ms(now);
    if (stop_wait >= 0 && (timeout < 0 || stop_wait < timeout)) timeout = stop_wait;
    int ready = poll(pfd, n, timeout);
    if (ready < 0 && errno != EINTR) {
      log_msg("poll: %s", strerror(errno));
      return 1;
    }
    now = now_ns();
    stop_deadlines_enforce(now);
    /* Idle work, none of it long: layers unpack in nice'd children (unpacks.h), and namespaces
     * are prepared for the next start meanwhile. */
    if (ready == 0 && !queued && idle_work) idle_work = unpack_idle_next(registry_images());
    if (ready == 0 && !queued) prepare_namespaces();
    if (ready > 0) {
      serve(pfd, who, first_load, first_term);
      loads_serve(pfd + first_load, n - first_load);
    }
    for (int i = 0; i < MAX_LINKS; i++) {
      struct link *l = links[i];
      if (!l) continue;
      if (l->out.len) link_flush(l);
      if (l->closing) link_close(l);
    }
    /* After everything ready was served and sent: begin one waiting start, if it may. */
    start_next_queued();
  }
}

/* One turn's events: children, new clients, frames, start steps, pty input and output. */
static void serve(struct pollfd *pfd, void **who, int n, int first_term) {
  if (pfd[0].revents) {
    struct signalfd_siginfo si;
    while (read(signal_fd, &si, sizeof si) == sizeof si) {}
    reap_children();
  }
  if (pfd[1].revents & POLLIN) {
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0 && !link_add(fd, false)) close(fd);
  }
  for (int i = 2; i < first_term; i++) {
    struct link *l = who[i];
    if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) link_read(l);
  }
  for (int i = first_term; i < n; i++) {
    struct term *t = who[i];
    /* A terminal may have been freed by a frame handled above. */
    if (!term_alive(t)) continue;
    if (start_in_progress(t)) {
      if (pfd[i].fd == t->c->start.p.report_rd && pfd[i].revents) start_stepped(t);
      continue;
    }
    if (t->master < 0 || pfd[i].fd != t->master) continue;
    if (pfd[i].revents & POLLOUT) term_flush_input(t);
    if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
      enum pump r = term_pump(t);
      if (r == PUMP_EOF) {
        /* Every holder of the slave is gone; the exit status follows via SIGCHLD. */
        close(t->master);
        t->master = -1;
      }
      if (t->exited && r != PUMP_MORE) term_send_exit(t); /* drained: now the exit */
    }
  }
}
