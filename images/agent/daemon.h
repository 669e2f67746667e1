/* boxd's state: links (byte streams carrying frames: the virtio port and CLI sockets),
 * terminals (a pty bound to a channel on a link) and containers. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "container.h"
#include "oci.h"
#include "util.h"
#include "wire.h"

#define MAX_LINKS 64
#define MAX_TERMS 256
#define MAX_CONTAINERS 256
#define MAX_PENDING 8

struct link {
  int fd;
  bool is_port;     /* the virtio-console port: never closed by boxd */
  bool closing;
  uint64_t quiet_until;  /* the port hung up or failed: not polled until then (no busy loop) */
  struct wire_decoder *decoder;
  struct buf out;
};

struct term {
  struct link *link;        /* NULL once detached: output only goes to the log */
  uint32_t channel;
  int master;               /* pty master, -1 after EOF */
  pid_t pid;
  struct container *c;
  bool is_exec;
  uint32_t credit;
  bool seen_output;
  bool exited;              /* its process is gone; EXIT follows once the pty is drained */
  int status;               /* wait status, once exited */
  struct buf in;            /* input the pty could not take yet */
  /* A RUN not started yet: its options, and when it came (queued in arrival order). While its
   * container starts (c->state == STATE_CREATED) master is -1 and pid 0; input waits in `in`. */
  struct run_opts *queued;
  uint64_t received;
  uint64_t began;           /* when its start was begun (monotonic ns) */
  struct winsize_req { uint16_t cols, rows; bool set; } size; /* a RESIZE before the pty exists */
};

struct pending_reply {
  struct link *link;
  uint32_t channel;
  uint8_t kind;             /* 's' stop, 'r' rm */
};

struct daemon {
  struct link *links[MAX_LINKS];
  struct term *terms[MAX_TERMS];
  struct container *containers[MAX_CONTAINERS];
  struct pending_reply pending[MAX_CONTAINERS][MAX_PENDING];
  uint64_t stop_deadline[MAX_CONTAINERS]; /* monotonic ns; 0 = none */
  bool remove_on_exit[MAX_CONTAINERS];
  struct image_list images;
  uint64_t ready_ns;
  int listen_fd, signal_fd;
  int unpacked;                           /* layers pre-unpacked while idle */
  struct prepared warm;                   /* namespaces made while idle, for the next start */
  bool have_warm;
  bool warm_failed;                       /* stop retrying until a start works again */
};

extern struct daemon D;

int daemon_main(void);

/* Container registry, used by the verbs. */
int container_slot(const struct container *c);
struct container *container_find(const char *name_or_id);

/* `box <verb> …` run inside boxd: returns the exit code and fills out. Verbs that finish
 * later (stop, rm of a running container) return -1 and reply themselves. */
int verb_run(struct link *link, uint32_t channel, int argc, char **argv, struct buf *out, struct buf *notes);
void reply_result(struct link *link, uint32_t channel, int code, const void *text, size_t len);
/* A verb's answer: one RESULT with `out` when it fits and there are no notes; else `out` as
 * OUTPUT frames on the request channel, then RESULT with the notes (stderr) (PROTOCOL.md). */
void reply_verb(struct link *link, uint32_t channel, int code, const struct buf *out, const struct buf *notes);
void send_frame(struct link *l, uint8_t type, uint32_t channel, const void *payload, size_t len);
void send_error(struct link *l, uint32_t channel, int code, const char *fmt, ...) PRINTF(4, 5);
/* Start a container from parsed options; attach its terminal to (link, channel) if link.
 * On failure NULL, err set and *exit_code Docker's: 125 (the runtime), 126 or 127 (the command). */
struct container *start_container(struct run_opts *o, struct link *link, uint32_t channel, uint64_t received,
                                  char *err, size_t errlen, int *exit_code);
void request_stop(struct container *c, int grace_s, struct link *link, uint32_t channel, bool remove);
void remove_container(struct container *c);
