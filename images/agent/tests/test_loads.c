/* Streamed loads over the mux (loads.c, PROTOCOL.md LOAD): real children running archive_load on a
 * real OCI archive (tests/mkoci.sh) in a temporary store, driven frame by frame as the host drives
 * them, with the loop's part (poll, serve, reap) done here. A good archive loads with LOAD_ACKs up
 * to its size; a damaged, truncated, out-of-order or aborted one gets one line and leaves the store
 * as it was; boxd keeps answering. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "link.h"
#include "load_frames.h"
#include "loads.h"
#include "requests.h"
#include "tap.h"

/* What came back on the link: every LOAD_ACK offset, and the last answer (RESULT or ERROR). */
struct got {
  int acks;
  uint64_t last_ack;
  bool acks_ordered;
  int answers;
  uint8_t type;
  uint32_t channel;
  int code;
  char text[1024];
};

static struct link host = {.fd = -1};
static struct got got;

static void on_frame(void *ctx UNUSED, const struct wire_frame *f) {
  if (f->type == W_LOAD_ACK && f->length == 8) {
    uint64_t at = get_u64(f->payload);
    if (got.acks && at <= got.last_ack) got.acks_ordered = false;
    got.acks++;
    got.last_ack = at;
    return;
  }
  got.answers++;
  got.type = f->type;
  got.channel = f->channel;
  size_t skip = f->type == W_ERROR || f->type == W_RESULT ? 4 : f->type == W_READY ? 8 : 0;
  got.code = skip == 4 ? (int)get_u32(f->payload) : 0;
  size_t n = f->length - skip < sizeof got.text - 1 ? f->length - skip : sizeof got.text - 1;
  memcpy(got.text, f->payload + skip, n);
  got.text[n] = 0;
}

static void on_error(void *ctx UNUSED, const char *kind UNUSED) { got.answers += 1000; }

/* Decode what boxd queued on the link into `got`. */
static void drain(void) {
  struct wire_decoder *d = wire_decoder_new();
  struct wire_handler h = {on_frame, on_error, NULL};
  wire_feed(d, host.out.data, host.out.len, &h);
  wire_decoder_free(d);
  host.out.len = 0;
}

static void reset(void) { got = (struct got){.acks_ordered = true}; }

static void frame(uint8_t type, uint32_t channel, const void *payload, uint32_t length) {
  struct wire_frame f = {type, channel, payload, length};
  handle_frame(&host, &f);
  drain();
}

/* The loop's part for the loads, once: poll their pipes, serve them, reap children. */
static void turn(int timeout_ms) {
  struct pollfd pfd[2 * MAX_LOADS];
  int n = loads_pollfds(pfd);
  if (poll(pfd, n, timeout_ms) > 0) loads_serve(pfd, n);
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) load_reaped(pid, status);
  drain();
}

/* Turns until every load answered (up to 20 s). */
static bool settle(void) {
  for (int i = 0; i < 2000 && loads_active(); i++) turn(10);
  return loads_active() == 0;
}

static void start(uint32_t channel, uint64_t size, const char *name) {
  uint8_t p[8 + LOAD_NAME_MAX];
  put_u64(p, size);
  memcpy(p + 8, name, strlen(name));
  frame(W_LOAD, channel, p, 8 + (uint32_t)strlen(name));
}

static void data(uint32_t channel, uint64_t offset, const uint8_t *bytes, uint32_t n) {
  uint8_t *p = malloc(8 + n);
  put_u64(p, offset);
  memcpy(p + 8, bytes, n);
  frame(W_LOAD_DATA, channel, p, 8 + n);
  free(p);
}

/* Send bytes [from, to) in frames of `chunk`, never more than LOAD_WINDOW past the last LOAD_ACK
 * (waiting for acks as the host does), and stop early once an answer came. */
static void send_range(uint32_t channel, const uint8_t *bytes, uint64_t from, uint64_t to, uint32_t chunk) {
  for (uint64_t at = from; at < to && !got.answers;) {
    uint32_t n = to - at < chunk ? (uint32_t)(to - at) : chunk;
    for (int i = 0; i < 2000 && at + n - got.last_ack > LOAD_WINDOW && !got.answers; i++) turn(10);
    if (got.answers) break;
    data(channel, at, bytes + at, n);
    at += n;
  }
}

/* Entries of the store directory besides the ones a fresh store has: a staging dir left behind. */
static int staging_left(void) {
  DIR *d = opendir(cfg.oci);
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (!strncmp(e->d_name, ".load-", 6)) n++;
  if (d) closedir(d);
  return n;
}

static int blobs_in_store(void) {
  autofree char *path = xasprintf("%s/blobs/sha256", cfg.oci);
  DIR *d = opendir(path);
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  if (d) closedir(d);
  return n;
}

int main(void) {
  signal(SIGPIPE, SIG_IGN); /* as boxd does: a child that stopped reading is EPIPE, not death */
  char tmpl[] = "/tmp/box-test-loads-XXXXXX";
  char *dir = mkdtemp(tmpl);
  CHECK(dir != NULL, "temp dir");
  cfg.state = dir; /* no config_load(): only the store's place matters here */
  autofree char *store1 = xasprintf("%s/oci", dir), *store2 = xasprintf("%s/oci2", dir);
  cfg.oci = store1;
  requests_ready(1);
  /* An archive as `box save` makes one: the layout of tests/mkoci.sh in a tar, its base layer
   * carrying 1 MB of random bytes (so the archive spans several windows). */
  autofree char *make = xasprintf("head -c 1000000 /dev/urandom >%s/blob && sh mkoci.sh %s/src %s/blob >/dev/null && "
                                  "tar -cf %s/app.tar -C %s/src oci-layout index.json blobs", dir, dir, dir, dir, dir);
  CHECK(system(make) == 0, "an OCI archive to load");
  autofree char *tar_path = xasprintf("%s/app.tar", dir);
  size_t size = 0;
  autofree uint8_t *archive = (uint8_t *)read_file(tar_path, &size);
  CHECK(archive && size > 3 * LOAD_WINDOW, "the archive has %zu bytes", size);

  /* Bad requests: one ERROR each, nothing started. */
  reset();
  frame(W_LOAD, 7, "\1\0\0\0\0\0\0", 7);
  CHECK(got.type == W_ERROR && got.code == EINVAL && strstr(got.text, "u64 archive size"), "LOAD of 7 bytes → EINVAL: %s", got.text);
  reset();
  start(0, 10, "x.tar");
  CHECK(got.type == W_ERROR && got.code == EBUSY, "LOAD on channel 0 → EBUSY");
  reset();
  start(7, 10, "x\n.tar");
  CHECK(got.type == W_ERROR && got.code == EINVAL && strstr(got.text, "control character"), "a name with a newline → EINVAL");
  reset();
  data(7, 0, (const uint8_t *)"abc", 3);
  frame(W_LOAD_ABORT, 7, NULL, 0);
  CHECK(got.answers == 0, "LOAD_DATA and LOAD_ABORT with no load are dropped quietly (late frames)");
  frame(W_LOAD_ABORT, 7, "x", 1);
  CHECK(got.type == W_ERROR && got.code == EINVAL && strstr(got.text, "malformed payload for frame type 0x1c"), "LOAD_ABORT with a payload → EINVAL");
  CHECK(loads_active() == 0, "no load started");

  /* A good archive, in frames of 60000 bytes within the window. */
  reset();
  start(1, size, "app.tar");
  CHECK(got.answers == 0 && loads_active() == 1, "LOAD starts a load, no answer yet");
  reset();
  frame(W_LOAD, 1, "\0\0\0\0\0\0\0\0", 8);
  CHECK(got.type == W_ERROR && got.code == EBUSY && got.channel == 1, "a second LOAD on its channel → EBUSY");
  reset();
  send_range(1, archive, 0, size, 60000);
  CHECK(settle(), "the load ends");
  CHECK(got.type == W_RESULT && got.code == 0 && got.channel == 1, "RESULT 0 (%s)", got.text);
  CHECK(!strcmp(got.text, "Loaded image: busybox:latest\nLoaded image: web:latest\n"), "it says what it loaded: %s", got.text);
  CHECK(got.acks >= 2 && got.acks_ordered && got.last_ack == size, "LOAD_ACKs rise to the size (%d acks, last %llu of %zu)", got.acks,
        (unsigned long long)got.last_ack, size);
  int blobs = blobs_in_store();
  CHECK(blobs == 6 && staging_left() == 0, "6 blobs moved into the store, no staging left (%d)", blobs);
  autofree char *index_path = xasprintf("%s/index.json", cfg.oci);
  autofree char *index = read_file(index_path, NULL);
  CHECK(index && strstr(index, "busybox") && strstr(index, "web"), "both images named in the store");

  /* Now a fresh store for the failures: each must leave it empty. */
  cfg.oci = store2;

  /* Digest mismatch: one byte of a blob changed (the middle of the archive is inside the 1 MB layer). */
  uint8_t *bad = malloc(size);
  memcpy(bad, archive, size);
  bad[size / 2] ^= 0x55;
  reset();
  start(2, size, "bad.tar");
  send_range(2, bad, 0, size, 65000);
  CHECK(settle(), "the bad load ends");
  CHECK(got.type == W_RESULT && got.code == 1 && strstr(got.text, "box load: bad.tar: ") && strstr(got.text, "does not match its digest") &&
            strstr(got.text, ": nothing was loaded\n") && strchr(got.text, '\n') == got.text + strlen(got.text) - 1,
        "a damaged blob → RESULT 1, one line: %s", got.text);
  CHECK(blobs_in_store() == 0 && staging_left() == 0, "nothing in the store, no staging left");
  free(bad);

  /* No tar at all: the child stops at the first header while bytes keep coming (EPIPE: dropped). */
  uint8_t *junk = malloc(3 * LOAD_WINDOW);
  memset(junk, 'x', 3 * LOAD_WINDOW);
  reset();
  start(9, 3 * LOAD_WINDOW, "junk.bin");
  send_range(9, junk, 0, 3 * LOAD_WINDOW, 65000);
  CHECK(settle(), "the junk load ends");
  CHECK(got.type == W_RESULT && got.code == 1 && strstr(got.text, "box load: junk.bin: bad header checksum field at byte 0: nothing was loaded"),
        "bytes that are no tar → RESULT 1: %s", got.text);
  free(junk);

  /* Truncated: LOAD announces (and sends) only the first 100000 bytes. */
  reset();
  start(3, 100000, "trunc.tar");
  send_range(3, archive, 0, 100000, 65536 - 8);
  CHECK(settle(), "the truncated load ends");
  CHECK(got.type == W_RESULT && got.code == 1 && strstr(got.text, "box load: trunc.tar: archive truncated at byte") && strstr(got.text, "nothing was loaded"),
        "a truncated archive → RESULT 1: %s", got.text);
  CHECK(blobs_in_store() == 0 && staging_left() == 0, "nothing in the store");

  /* Out of order: the second frame skips ahead. */
  reset();
  start(4, size, "app.tar");
  data(4, 0, archive, 1000);
  data(4, 2000, archive + 2000, 1000);
  CHECK(settle(), "the load ends");
  CHECK(got.type == W_ERROR && got.code == EPROTO && got.channel == 4 &&
            !strcmp(got.text, "box load: app.tar: LOAD_DATA for byte 2000 while byte 1000 was next (a frame lost or out of order): nothing was loaded"),
        "a frame out of order → ERROR EPROTO: %s", got.text);
  reset();
  data(4, 1000, archive + 1000, 1000);
  CHECK(got.answers == 0, "frames in flight after it are dropped quietly");
  CHECK(blobs_in_store() == 0 && staging_left() == 0, "nothing in the store");

  /* Past the announced size. */
  reset();
  start(5, 10, "app.tar");
  data(5, 0, archive, 11);
  CHECK(settle(), "the load ends");
  CHECK(got.type == W_ERROR && got.code == EPROTO && strstr(got.text, "past the 10 bytes LOAD announced"), "more bytes than announced → EPROTO: %s", got.text);

  /* Aborted midway. */
  reset();
  start(6, size, "app.tar");
  send_range(6, archive, 0, 200000, 50000);
  frame(W_LOAD_ABORT, 6, NULL, 0);
  CHECK(settle(), "the aborted load ends");
  CHECK(got.type == W_ERROR && got.code == ECANCELED &&
            strstr(got.text, "box load: app.tar: aborted by the host after 200000 of ") && strstr(got.text, ": nothing was loaded"),
        "LOAD_ABORT → ERROR ECANCELED: %s", got.text);
  CHECK(blobs_in_store() == 0 && staging_left() == 0, "nothing in the store, no staging left");

  /* At most MAX_LOADS at once; the one over gets EMFILE. A closed link's loads end unanswered. */
  reset();
  for (uint32_t c = 10; c < 10 + MAX_LOADS; c++) start(c, size, "app.tar");
  CHECK(got.answers == 0 && loads_active() == MAX_LOADS, "%d loads at once", MAX_LOADS);
  start(99, size, "app.tar");
  CHECK(got.type == W_ERROR && got.code == EMFILE && got.channel == 99, "one more → EMFILE: %s", got.text);
  reset();
  loads_forget_link(&host);
  CHECK(settle(), "a closed link's loads end");
  CHECK(got.answers == 0 && blobs_in_store() == 0 && staging_left() == 0, "unanswered, and nothing loaded");

  /* boxd still answers. */
  reset();
  frame(W_HELLO, 0, NULL, 0);
  CHECK(got.type == W_READY, "HELLO → READY after all that");

  autofree char *rm = xasprintf("rm -rf %s", dir);
  CHECK(system(rm) == 0, "cleaned up");
  buf_free(&host.out);
  return tap_done();
}
