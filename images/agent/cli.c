/* The `box` command: talks to boxd over its unix socket with the same frames the page
 * uses over the virtio port. Verbs with text answers go as CMD; run and exec attach a terminal. */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "build.h"
#include "config.h"
#include "options.h"
#include "util.h"
#include "wire.h"

#define ATTACH_CHANNEL 1

static const char usage[] =
    "usage: box COMMAND\n"
    "\n"
    "  run [-d] [-it] [--rm] [--name N] [-h|--hostname H] [-e|--env K=V]… [-w|--workdir DIR] [--entrypoint CMD]\n"
    "      [-m|--memory BYTES] [--pids-limit N] [--cpus F] [--privileged] [-p|--publish [IP:]HOSTPORT:PORT]…\n"
    "      [-v|--volume [NAME:|/HOST/DIR:]/PATH[:ro][,nocopy]]… [--mount type=volume|bind|tmpfs,[src=S,]dst=/PATH[,ro]]… [--tmpfs /PATH[:OPTS]]… IMAGE [CMD…]\n"
    "  exec [-it] CONTAINER CMD…\n"
    "  ps [-a] [-q]        images        stats [--no-stream] [CONTAINER…]       inspect CONTAINER…\n"
    "  logs CONTAINER      diff CONTAINER      port CONTAINER      stop [-t|--timeout SECONDS] CONTAINER…      rm [-f] CONTAINER…\n"
    "  volume create [NAME] | ls [-q] | rm [-f] VOLUME… | inspect VOLUME… | prune [-a] [-f]\n"
    "  build [-t NAME] [-f FILE] [--no-cache] DIR      history IMAGE      save IMAGE… -o FILE      load -i FILE\n"
    "  daemon              (run boxd in the foreground; also when called as boxd)\n";

struct client {
  int fd;
  struct wire_decoder *dec;
  bool done;
  int exit_code;
  bool raw;
  struct termios saved;
  struct buf result;
  bool streamed; /* a verb's stdout came as OUTPUT frames: its RESULT text is stderr */
};

static int connect_boxd(void) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", cfg.sock);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    fprintf(stderr, "box: cannot reach boxd at %s: %s (is boxd running?)\n", cfg.sock, strerror(errno));
    exit(125);
  }
  return fd;
}

static void send_to(struct client *cl, uint8_t type, uint32_t channel, const void *p, size_t n) {
  struct buf b = {0};
  wire_encode(&b, type, channel, p, n);
  if (write_all(cl->fd, b.data, b.len) < 0) {
    fprintf(stderr, "box: boxd connection lost\n");
    exit(125);
  }
  buf_free(&b);
}

static void send_args(struct client *cl, uint8_t type, uint32_t channel, const void *prefix, size_t plen, int argc,
                      char **argv) {
  struct buf b = {0};
  buf_append(&b, prefix, plen);
  for (int i = 0; i < argc; i++) buf_append(&b, argv[i], strlen(argv[i]) + 1);
  if (b.len > WIRE_MAX_PAYLOAD) {
    fprintf(stderr, "box: arguments too long: %zu bytes, at most %d (one mux frame)\n", b.len, WIRE_MAX_PAYLOAD);
    exit(125);
  }
  send_to(cl, type, channel, b.data, b.len);
  buf_free(&b);
}

static void restore_tty(struct client *cl) {
  if (cl->raw) tcsetattr(0, TCSANOW, &cl->saved);
  cl->raw = false;
}

static void on_frame(void *ctx, const struct wire_frame *f) {
  struct client *cl = ctx;
  if (cl->done) return;
  switch (f->type) {
  case W_OUTPUT: {
    cl->streamed = true;
    write_all(1, f->payload, f->length);
    uint8_t p[4];
    put_u32(p, f->length);
    send_to(cl, W_CREDIT, f->channel, p, 4);
    break;
  }
  case W_EXIT: {
    int status = f->length >= 4 ? (int)get_u32(f->payload) : 0;
    cl->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    cl->done = true;
    break;
  }
  case W_RESULT:
    if (f->length >= 4) {
      cl->exit_code = (int)get_u32(f->payload);
      buf_append(&cl->result, f->payload + 4, f->length - 4);
    }
    cl->done = true;
    break;
  case W_ERROR:
    restore_tty(cl);
    fprintf(stderr, "box: %.*s\n", f->length > 4 ? (int)f->length - 4 : 0, (const char *)f->payload + 4);
    /* 126/127: the command could not be run (PROTOCOL.md); anything else is the runtime's failure. */
    cl->exit_code = f->length >= 4 && (get_u32(f->payload) == 126 || get_u32(f->payload) == 127) ? (int)get_u32(f->payload) : 125;
    cl->done = true;
    break;
  default:
    break; /* STARTED, FIRST_OUTPUT, READY: nothing to print */
  }
}

static void on_error(void *ctx UNUSED, const char *kind) { fprintf(stderr, "box: bad frame from boxd (%s)\n", kind); }

static void read_frames(struct client *cl) {
  uint8_t chunk[16384];
  ssize_t n = read(cl->fd, chunk, sizeof chunk);
  if (n < 0 && errno == EINTR) return;
  if (n <= 0) {
    restore_tty(cl);
    fprintf(stderr, "box: boxd closed the connection\n");
    exit(125);
  }
  struct wire_handler h = {on_frame, on_error, cl};
  wire_feed(cl->dec, chunk, n, &h);
}

static int sigwinch_pipe[2] = {-1, -1};
static void on_sigwinch(int sig UNUSED) { (void)!write(sigwinch_pipe[1], "w", 1); }

static void send_size(struct client *cl) {
  struct winsize ws;
  if (ioctl(0, TIOCGWINSZ, &ws) < 0 || ws.ws_col == 0 || ws.ws_row == 0) return;
  uint8_t p[4] = {ws.ws_col, ws.ws_col >> 8, ws.ws_row, ws.ws_row >> 8};
  send_to(cl, W_RESIZE, ATTACH_CHANNEL, p, 4);
}

/* Relay a terminal until EXIT: output to stdout (with CREDIT back), stdin as INPUT if -i. */
static int attach(struct client *cl, bool interactive, bool tty) {
  if (tty && isatty(0)) {
    tcgetattr(0, &cl->saved);
    struct termios raw = cl->saved;
    cfmakeraw(&raw);
    tcsetattr(0, TCSANOW, &raw);
    cl->raw = true;
    if (pipe2(sigwinch_pipe, O_CLOEXEC | O_NONBLOCK) == 0) signal(SIGWINCH, on_sigwinch);
    send_size(cl);
  }
  bool stdin_open = interactive;
  while (!cl->done) {
    struct pollfd p[3] = {{cl->fd, POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}, {sigwinch_pipe[0], POLLIN, 0}};
    if (poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[0].revents) read_frames(cl);
    if (p[1].revents) {
      char in[4096];
      ssize_t n = read(0, in, sizeof in);
      if (n > 0) send_to(cl, W_INPUT, ATTACH_CHANNEL, in, n);
      else if (n == 0 || errno != EINTR) stdin_open = false;
    }
    if (p[2].revents) {
      char drain[16];
      while (read(sigwinch_pipe[0], drain, sizeof drain) > 0) {}
      send_size(cl);
    }
  }
  restore_tty(cl);
  return cl->exit_code;
}

static int wait_result(struct client *cl) {
  while (!cl->done) read_frames(cl);
  if (cl->result.len) write_all(cl->exit_code || cl->streamed ? 2 : 1, cl->result.data, cl->result.len);
  buf_free(&cl->result);
  int code = cl->exit_code;
  cl->done = false;
  cl->streamed = false;
  cl->exit_code = 0;
  return code;
}

static int run_cmd(struct client *cl, int argc, char **argv) {
  send_args(cl, W_CMD, 1, NULL, 0, argc, argv);
  return wait_result(cl);
}

/* `box volume prune` without -f asks first, as docker/cli does (volume/prune.go; the page's CMD
 * has no one to ask, so boxd never does): 1 to go on, 0 when the answer was not y (Docker then
 * ends quietly with 0). */
static int confirm_volume_prune(int argc, char **argv) {
  char err[256];
  struct verb_args a;
  if (parse_verb("volume", argc, argv, &a, err, sizeof err) < 0) return 1; /* boxd words the error */
  bool force = flag_on(&a, O_FORCE), all = flag_on(&a, O_ALL);
  verb_args_free(&a);
  if (force) return 1;
  printf("WARNING! This will remove %s local volumes not used by at least one container.\n"
         "Are you sure you want to continue? [y/N] ", all ? "all" : "anonymous");
  fflush(stdout);
  char line[64] = "";
  if (!fgets(line, sizeof line, stdin)) return 0;
  line[strcspn(line, " \t\r\n")] = 0;
  return !strcmp(line, "y") || !strcmp(line, "Y");
}

int cli_main(int argc, char **argv) {
  config_load();
  if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    fputs(usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 125 : 0;
  }
  /* Image verbs the CLI runs itself on boxd's store (build.h). */
  static const struct { const char *verb; int (*run)(int, char **); } on_store[] = {
      {"build", build_main}, {"history", history_main}, {"save", save_main}, {"load", load_main}};
  for (size_t i = 0; i < N_ELEMENTS(on_store); i++)
    if (!strcmp(argv[1], on_store[i].verb)) return on_store[i].run(argc - 2, argv + 2);
  struct client cl = {.fd = connect_boxd(), .dec = wire_decoder_new()};
  const char *verb = argv[1];
  if (!strcmp(verb, "run")) {
    char err[1024];
    struct run_opts o;
    if (parse_run(argc - 2, argv + 2, &o, err, sizeof err) < 0) {
      fprintf(stderr, "box: %s\n", err);
      return 125;
    }
    if (o.detach) return run_cmd(&cl, argc - 1, argv + 1);
    send_args(&cl, W_RUN, ATTACH_CHANNEL, NULL, 0, argc - 2, argv + 2);
    return attach(&cl, o.interactive, o.tty);
  }
  if (!strcmp(verb, "exec")) {
    char err[1024];
    struct verb_args a;
    if (parse_verb("exec", argc - 2, argv + 2, &a, err, sizeof err) < 0) {
      fprintf(stderr, "box exec: %s\n", err);
      return 125;
    }
    if (a.noperands < 2) {
      fprintf(stderr, "box: \"box exec\" requires at least 2 arguments: box exec [OPTIONS] CONTAINER COMMAND [ARG...]\n");
      return 125;
    }
    /* boxd gets the flags spelled one way: [-i] [-t] CONTAINER CMD… (PROTOCOL.md). */
    bool interactive = flag_on(&a, O_INTERACTIVE), tty = flag_on(&a, O_TTY);
    char **req = xcalloc(a.noperands + 3, sizeof *req);
    int n = 0;
    if (interactive) req[n++] = "-i";
    if (tty) req[n++] = "-t";
    for (int i = 0; i < a.noperands; i++) req[n++] = a.operands[i];
    uint8_t target[4] = {0};
    send_args(&cl, W_EXEC, ATTACH_CHANNEL, target, 4, n, req);
    free(req);
    verb_args_free(&a);
    return attach(&cl, interactive, tty);
  }
  if (!strcmp(verb, "stop") || !strcmp(verb, "rm")) {
    /* One container per request, as boxd answers a stop only once it has happened; the flags
     * go with each, spelled one way. */
    char err[1024];
    struct verb_args a;
    if (parse_verb(verb, argc - 2, argv + 2, &a, err, sizeof err) < 0) {
      fprintf(stderr, "box %s: %s\n", verb, err);
      return 125;
    }
    if (a.noperands < 1) {
      fprintf(stderr, "box: \"box %s\" requires at least 1 argument: box %s [OPTIONS] CONTAINER [CONTAINER...]\n", verb, verb);
      verb_args_free(&a);
      return 125;
    }
    char time_flag[64];
    char *one[4];
    int n = 0, code = 0;
    one[n++] = (char *)verb;
    if (a.value[O_TIME]) {
      snprintf(time_flag, sizeof time_flag, "%s=%.40s", opt_long_name(O_TIME), a.value[O_TIME]);
      one[n++] = time_flag;
    }
    if (flag_on(&a, O_FORCE)) one[n++] = (char *)opt_long_name(O_FORCE);
    for (int i = 0; i < a.noperands; i++) {
      one[n] = a.operands[i];
      int r = run_cmd(&cl, n + 1, one);
      if (r) code = r;
    }
    verb_args_free(&a);
    return code;
  }
  if (!strcmp(verb, "volume") && argc > 2 && !strcmp(argv[2], "prune") && !confirm_volume_prune(argc - 2, argv + 2)) return 0;
  return run_cmd(&cl, argc - 1, argv + 1);
}
