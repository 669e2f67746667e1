/* Dockerfile parser (see dockerfile.h): logical lines, then one rule per instruction. */
#define _GNU_SOURCE
#include "dockerfile.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "util.h"

static const char *const kind_names[] = {"FROM", "RUN", "COPY", "ENV", "WORKDIR", "CMD", "ENTRYPOINT", "EXPOSE", "LABEL", "VOLUME"};

const char *df_kind_name(enum df_kind k) { return kind_names[k]; }

struct argv_builder {
  char **v;
  int n, cap;
};

static void push(struct argv_builder *a, char *s) {
  if (a->n + 2 > a->cap) {
    a->cap = a->cap ? a->cap * 2 : 8;
    a->v = realloc(a->v, a->cap * sizeof *a->v);
    if (!a->v) abort();
  }
  a->v[a->n++] = s;
  a->v[a->n] = NULL;
}

static void free_argv(char **v) {
  for (char **p = v; p && *p; p++) free(*p);
  free(v);
}

/* Shell-like words: whitespace separates; "…" (with \" \\ \$ escapes), '…' literal, \x outside quotes. */
static int split_words(const char *s, struct argv_builder *out) {
  while (*s) {
    while (isspace((unsigned char)*s)) s++;
    if (!*s) break;
    struct buf w = {0};
    while (*s && !isspace((unsigned char)*s)) {
      if (*s == '"') {
        for (s++; *s && *s != '"'; s++) {
          if (*s == '\\' && (s[1] == '"' || s[1] == '\\' || s[1] == '$')) s++;
          buf_append(&w, s, 1);
        }
        if (*s != '"') {
          buf_free(&w);
          return -1;
        }
        s++;
      } else if (*s == '\'') {
        const char *end = strchr(s + 1, '\'');
        if (!end) {
          buf_free(&w);
          return -1;
        }
        buf_append(&w, s + 1, end - s - 1);
        s = end + 1;
      } else {
        if (*s == '\\' && s[1]) s++;
        buf_append(&w, s, 1);
        s++;
      }
    }
    buf_append(&w, "", 1);
    push(out, w.data);
  }
  return 0;
}

/* ["a", "b"] with strings only → argv; otherwise not the exec form (Docker then takes the shell form). */
static bool exec_form(const char *s, struct argv_builder *out) {
  if (*s != '[') return false;
  struct json *j = json_parse(s);
  if (!j || j->type != JSON_ARRAY) {
    json_free(j);
    return false;
  }
  for (struct json *e = j->child; e; e = e->next)
    if (e->type != JSON_STRING) {
      json_free(j);
      return false;
    }
  for (struct json *e = j->child; e; e = e->next) push(out, xstrdup(e->string));
  json_free(j);
  return true;
}

static int fail(char *err, size_t errlen, int line, const char *fmt, ...) PRINTF(4, 5);
static int fail(char *err, size_t errlen, int line, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return set_err(err, errlen, 0, "Dockerfile line %d: %s", line, msg);
}

static bool valid_port(const char *p) {
  char *end;
  errno = 0;
  long v = strtol(p, &end, 10);
  if (errno || end == p || v < 1 || v > 65535) return false;
  return !*end || !strcasecmp(end, "/tcp") || !strcasecmp(end, "/udp") || !strcasecmp(end, "/sctp");
}

/* One instruction: kind from the keyword, args from the rest (already trimmed). */
static int parse_instruction(struct df_instruction *in, const char *rest, char *err, size_t errlen) {
  struct argv_builder a = {0};
  const char *name = kind_names[in->kind];
  int rc = 0;
  switch (in->kind) {
  case DF_RUN:
  case DF_CMD:
  case DF_ENTRYPOINT:
    if ((in->exec_form = exec_form(rest, &a))) break;
    if (!*rest) {
      rc = fail(err, errlen, in->line, "%s requires at least one argument", name);
      break;
    }
    push(&a, xstrdup("/bin/sh"));
    push(&a, xstrdup("-c"));
    push(&a, xstrdup(rest));
    break;
  case DF_COPY:
    if (!strncmp(rest, "--", 2)) {
      rc = fail(err, errlen, in->line, "COPY options (%.40s) are not supported", rest);
      break;
    }
    if (!(in->exec_form = exec_form(rest, &a)) && split_words(rest, &a) < 0) {
      rc = fail(err, errlen, in->line, "%s: unterminated quote", name);
      break;
    }
    if (a.n < 2) rc = fail(err, errlen, in->line, "%s requires at least two arguments, but got fewer", name);
    break;
  case DF_FROM:
    if (split_words(rest, &a) < 0 || (a.n != 1 && !(a.n == 3 && !strcasecmp(a.v[1], "AS"))))
      rc = fail(err, errlen, in->line, "%s requires either one or three arguments", name);
    else if (a.n == 3) {
      free(a.v[1]);
      free(a.v[2]);
      a.v[1] = NULL;
      a.n = 1;
    }
    break;
  case DF_WORKDIR:
    if (!*rest) rc = fail(err, errlen, in->line, "%s requires exactly one argument", name);
    else push(&a, xstrdup(rest));
    break;
  case DF_EXPOSE:
    if (split_words(rest, &a) < 0 || a.n == 0) {
      rc = fail(err, errlen, in->line, "%s requires at least one argument", name);
      break;
    }
    for (int i = 0; i < a.n && !rc; i++)
      if (!valid_port(a.v[i])) rc = fail(err, errlen, in->line, "invalid containerPort: %.40s", a.v[i]);
    break;
  case DF_VOLUME:
    /* BuildKit's words (dockerfile/instructions/parse.go parseVolume). */
    if (!exec_form(rest, &a) && split_words(rest, &a) < 0) {
      rc = fail(err, errlen, in->line, "%s: unterminated quote", name);
      break;
    }
    if (a.n == 0) rc = fail(err, errlen, in->line, "%s requires at least one argument", name);
    for (int i = 0; i < a.n && !rc; i++)
      if (!*a.v[i] || strspn(a.v[i], " \t") == strlen(a.v[i])) rc = fail(err, errlen, in->line, "VOLUME specified can not be an empty string");
    break;
  case DF_ENV:
  case DF_LABEL: {
    struct argv_builder words = {0};
    if (split_words(rest, &words) < 0 || words.n == 0) {
      free_argv(words.v);
      rc = fail(err, errlen, in->line, "%s requires at least one argument", name);
      break;
    }
    if (in->kind == DF_ENV && !strchr(words.v[0], '=')) {
      /* ENV key value…: the rest of the line (after the key) is the value, as written. */
      const char *key_end = rest;
      while (*key_end && !isspace((unsigned char)*key_end)) key_end++;
      const char *value = key_end;
      while (isspace((unsigned char)*value)) value++;
      if (!*value) rc = fail(err, errlen, in->line, "ENV %.60s needs a value (ENV key value, or key=value)", words.v[0]);
      else {
        push(&a, strndup(rest, key_end - rest));
        push(&a, xstrdup(value));
      }
      free_argv(words.v);
      break;
    }
    for (int i = 0; i < words.n && !rc; i++) {
      char *eq = strchr(words.v[i], '=');
      if (!eq || eq == words.v[i]) {
        rc = fail(err, errlen, in->line, "%s names must be followed by = and a value (key=value)", name);
        break;
      }
      push(&a, strndup(words.v[i], eq - words.v[i]));
      push(&a, xstrdup(eq + 1));
    }
    free_argv(words.v);
    break;
  }
  }
  if (rc < 0) {
    free_argv(a.v);
    return rc;
  }
  if (!a.v) push(&a, NULL), a.n = 0;
  in->args = a.v;
  in->nargs = a.n;
  return 0;
}

void dockerfile_free(struct dockerfile *df) {
  for (int i = 0; i < df->n; i++) {
    free(df->v[i].text);
    free_argv(df->v[i].args);
  }
  free(df->v);
  df->v = NULL;
  df->n = 0;
}

int dockerfile_parse(const char *text, size_t len, struct dockerfile *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  if (memchr(text, 0, len)) return set_err(err, errlen, 0, "Dockerfile: contains a NUL byte (not a text file?)");
  int cap = 0, lineno = 0, rc = 0;
  size_t pos = 0;
  while (pos < len && !rc) {
    /* One logical line: physical lines joined while one ends with a backslash; comment lines inside are dropped. */
    struct buf logical = {0};
    int start = 0;
    bool more = true;
    while (more && pos < len) {
      const char *nl = memchr(text + pos, '\n', len - pos);
      size_t n = nl ? (size_t)(nl - text - pos) : len - pos;
      const char *l = text + pos;
      pos += n + (nl ? 1 : 0);
      lineno++;
      while (n && (l[n - 1] == '\r' || l[n - 1] == ' ' || l[n - 1] == '\t')) n--;
      size_t lead = 0;
      while (lead < n && (l[lead] == ' ' || l[lead] == '\t')) lead++;
      if (lead < n && l[lead] == '#') continue;           /* comment */
      if (lead == n && !logical.len) { more = true; continue; } /* blank line before an instruction */
      if (!start) start = lineno;
      more = n && l[n - 1] == '\\';
      buf_append(&logical, l + lead, more ? n - lead - 1 : n - lead);
      if (more) buf_append(&logical, " ", 1);
    }
    if (!logical.len) {
      buf_free(&logical);
      break;
    }
    buf_append(&logical, "", 1);
    char *s = logical.data;
    size_t kw = strcspn(s, " \t");
    char *rest = s + kw;
    while (*rest == ' ' || *rest == '\t') rest++;
    size_t rl = strlen(rest);
    while (rl && (rest[rl - 1] == ' ' || rest[rl - 1] == '\t')) rest[--rl] = 0;
    int kind = -1;
    for (int k = 0; k < (int)N_ELEMENTS(kind_names) && kind < 0; k++)
      if (strlen(kind_names[k]) == kw && !strncasecmp(s, kind_names[k], kw)) kind = k;
    if (kind < 0) {
      s[kw] = 0;
      rc = set_err(err, errlen, 0, "Dockerfile line %d: unknown instruction: %.40s", start, s);
    } else if ((kind == DF_FROM) != (out->n == 0)) {
      rc = kind == DF_FROM ? set_err(err, errlen, 0, "Dockerfile line %d: only one FROM is supported (no multi-stage builds)", start)
                           : set_err(err, errlen, 0, "Dockerfile line %d: the first instruction must be FROM, not %s", start, kind_names[kind]);
    } else {
      if (out->n == cap) {
        cap = cap ? cap * 2 : 16;
        out->v = realloc(out->v, cap * sizeof *out->v);
        if (!out->v) abort();
      }
      struct df_instruction *in = &out->v[out->n];
      memset(in, 0, sizeof *in);
      in->kind = kind;
      in->line = start;
      in->text = xasprintf("%s%s%s", kind_names[kind], *rest ? " " : "", rest);
      if ((rc = parse_instruction(in, rest, err, errlen)) < 0) free(in->text);
      else out->n++;
    }
    buf_free(&logical);
  }
  if (!rc && out->n == 0) rc = set_err(err, errlen, 0, "Dockerfile: no instructions (the file is empty)");
  if (rc < 0) {
    dockerfile_free(out);
    return -EINVAL;
  }
  return 0;
}
