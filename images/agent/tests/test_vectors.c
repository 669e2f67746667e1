/* The shared mux test vectors (src/core/mux/vectors.txt): wire.c must decode each one to exactly the
 * listed frames and errors, whole, byte by byte and in uneven pieces, and re-encode every frame it
 * decodes to the same bytes. Run from images/agent/tests (the Makefile's cwd). */
#include <stdlib.h>

#include "tap.h"
#include "wire.h"

#define VECTORS "../../../src/core/mux/vectors.txt"

/* Hex with rep(<hex>,<count>) runs, appended to out; -1 if malformed. */
static int parse_hex(const char *s, const char *end, struct buf *out) {
  while (s < end) {
    if (!strncmp(s, "rep(", 4)) {
      const char *comma = memchr(s, ',', end - s), *close = comma ? memchr(comma, ')', end - comma) : NULL;
      if (!close) return -1;
      struct buf unit = {0};
      if (parse_hex(s + 4, comma, &unit) < 0) return -1;
      long n = strtol(comma + 1, NULL, 10);
      for (long i = 0; i < n; i++) buf_append(out, unit.data, unit.len);
      buf_free(&unit);
      s = close + 1;
      continue;
    }
    unsigned v;
    if (end - s < 2 || sscanf(s, "%2x", &v) != 1) return -1;
    uint8_t byte = v;
    buf_append(out, &byte, 1);
    s += 2;
  }
  return 0;
}

/* Decoded items rendered in the vector file's own notation, payloads as plain hex. */
struct seen {
  struct buf text;
  int reencode_failures;
};

static void append_hex(struct buf *b, const uint8_t *p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    char two[2] = {digits[p[i] >> 4], digits[p[i] & 15]};
    buf_append(b, two, 2);
  }
}

static void on_frame(void *ctx, const struct wire_frame *f) {
  struct seen *s = ctx;
  if (s->text.len) buf_append(&s->text, " ", 1);
  buf_printf(&s->text, "frame:%02x:%u:", f->type, f->channel);
  append_hex(&s->text, f->payload, f->length);
  /* The encoder must produce the bytes the decoder accepted. */
  struct buf again = {0};
  wire_encode(&again, f->type, f->channel, f->payload, f->length);
  if (again.len != WIRE_HEADER + f->length || memcmp(again.data + WIRE_HEADER, f->payload, f->length)) s->reencode_failures++;
  buf_free(&again);
}

static void on_error(void *ctx, const char *kind) {
  struct seen *s = ctx;
  if (s->text.len) buf_append(&s->text, " ", 1);
  buf_printf(&s->text, "error:%s", kind);
}

/* Expectation with its rep() runs expanded, in the same notation as struct seen. */
static int expand_expectation(const char *s, const char *end, struct buf *out) {
  while (s < end) {
    const char *rep = strstr(s, "rep(");
    if (!rep || rep >= end) {
      buf_append(out, s, end - s);
      return 0;
    }
    buf_append(out, s, rep - s);
    const char *close = memchr(rep, ')', end - rep);
    if (!close) return -1;
    struct buf bytes = {0};
    if (parse_hex(rep, close + 1, &bytes) < 0) return -1;
    append_hex(out, (const uint8_t *)bytes.data, bytes.len);
    buf_free(&bytes);
    s = close + 1;
  }
  return 0;
}

/* Feed `in` in pieces of the given sizes (cycled); 0 means all at once. */
static void decode(const struct buf *in, const size_t *pieces, size_t npieces, struct seen *s) {
  struct wire_decoder *d = wire_decoder_new();
  struct wire_handler h = {on_frame, on_error, s};
  size_t off = 0, k = 0;
  while (off < in->len) {
    size_t n = npieces ? pieces[k++ % npieces] : in->len;
    if (n > in->len - off) n = in->len - off;
    wire_feed(d, in->data + off, n, &h);
    off += n;
  }
  wire_decoder_free(d);
}

int main(void) {
  FILE *f = fopen(VECTORS, "r");
  CHECK(f != NULL, "opens %s", VECTORS);
  if (!f) return tap_done();
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int vectors = 0;
  static const size_t whole[] = {0}, bytewise[] = {1}, uneven[] = {3, 1, 17, 4096, 2, 65535, 5};
  static const struct { const char *how; const size_t *pieces; size_t n; } ways[] = {
    {"whole", whole, 0}, {"byte by byte", bytewise, 1}, {"uneven pieces", uneven, 7}};
  while ((n = getline(&line, &cap, f)) > 0) {
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    if (n == 0 || line[0] == '#') continue;
    char *bar1 = strchr(line, '|'), *bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
    CHECK(bar2 != NULL, "vector line has three fields: %.40s", line);
    if (!bar2) continue;
    *bar1 = 0;
    struct buf in = {0}, want = {0};
    int parsed = parse_hex(bar1 + 1, bar2, &in) == 0 && expand_expectation(bar2 + 1, line + n, &want) == 0;
    CHECK(parsed, "%s: parses", line);
    buf_append(&want, "", 1);
    vectors++;
    for (size_t w = 0; w < sizeof ways / sizeof *ways; w++) {
      struct seen s = {0};
      decode(&in, ways[w].pieces, ways[w].n, &s);
      buf_append(&s.text, "", 1);
      int same = !strcmp(s.text.data, want.data);
      CHECK(same && !s.reencode_failures, "%s (%s)", line, ways[w].how);
      if (!same) printf("#   got  %.300s\n#   want %.300s\n", s.text.data, want.data);
      buf_free(&s.text);
    }
    buf_free(&in);
    buf_free(&want);
  }
  free(line);
  fclose(f);
  CHECK(vectors >= 40, "read %d vectors", vectors);
  return tap_done();
}
