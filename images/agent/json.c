#include "json.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

#define JSON_MAX_DEPTH 64

struct parser {
  const char *p;
  int depth;
};

static void skip_ws(struct parser *ps) {
  while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r') ps->p++;
}

static int hex4(const char *s, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = s[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= c - '0';
    else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
    else return -1;
  }
  *out = v;
  return 0;
}

static void put_utf8(struct buf *b, unsigned cp) {
  char o[4];
  int n;
  if (cp < 0x80) { o[0] = cp; n = 1; }
  else if (cp < 0x800) { o[0] = 0xc0 | cp >> 6; o[1] = 0x80 | (cp & 0x3f); n = 2; }
  else if (cp < 0x10000) { o[0] = 0xe0 | cp >> 12; o[1] = 0x80 | ((cp >> 6) & 0x3f); o[2] = 0x80 | (cp & 0x3f); n = 3; }
  else { o[0] = 0xf0 | cp >> 18; o[1] = 0x80 | ((cp >> 12) & 0x3f); o[2] = 0x80 | ((cp >> 6) & 0x3f); o[3] = 0x80 | (cp & 0x3f); n = 4; }
  buf_append(b, o, n);
}

static char *parse_string(struct parser *ps) {
  if (*ps->p != '"') return NULL;
  ps->p++;
  struct buf b = {0};
  buf_append(&b, "", 0);
  for (;;) {
    unsigned char c = *ps->p++;
    if (c == '"') return b.data;
    if (c < 0x20) goto fail; /* includes the terminating NUL */
    if (c != '\\') { buf_append(&b, &c, 1); continue; }
    char e = *ps->p++;
    switch (e) {
    case '"': case '\\': case '/': buf_append(&b, &e, 1); break;
    case 'b': buf_append(&b, "\b", 1); break;
    case 'f': buf_append(&b, "\f", 1); break;
    case 'n': buf_append(&b, "\n", 1); break;
    case 'r': buf_append(&b, "\r", 1); break;
    case 't': buf_append(&b, "\t", 1); break;
    case 'u': {
      unsigned cp;
      if (hex4(ps->p, &cp) < 0) goto fail;
      ps->p += 4;
      if (cp >= 0xd800 && cp < 0xdc00 && ps->p[0] == '\\' && ps->p[1] == 'u') {
        unsigned lo;
        if (hex4(ps->p + 2, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          ps->p += 6;
        }
      }
      if (cp == 0) goto fail; /* would truncate the C string */
      put_utf8(&b, cp);
      break;
    }
    default: goto fail;
    }
  }
fail:
  buf_free(&b);
  return NULL;
}

static struct json *parse_value(struct parser *ps);

static struct json *parse_container(struct parser *ps, enum json_type type) {
  char close = type == JSON_ARRAY ? ']' : '}';
  struct json *j = xcalloc(1, sizeof *j), **tail = &j->child;
  j->type = type;
  if (++ps->depth > JSON_MAX_DEPTH) goto fail;
  ps->p++;
  skip_ws(ps);
  if (*ps->p == close) { ps->p++; ps->depth--; return j; }
  for (;;) {
    char *key = NULL;
    skip_ws(ps);
    if (type == JSON_OBJECT) {
      if (!(key = parse_string(ps))) goto fail;
      skip_ws(ps);
      if (*ps->p != ':') { free(key); goto fail; }
      ps->p++;
    }
    struct json *v = parse_value(ps);
    if (!v) { free(key); goto fail; }
    v->key = key;
    *tail = v;
    tail = &v->next;
    skip_ws(ps);
    if (*ps->p == ',') { ps->p++; continue; }
    if (*ps->p == close) { ps->p++; ps->depth--; return j; }
    goto fail;
  }
fail:
  json_free(j);
  return NULL;
}

static struct json *parse_value(struct parser *ps) {
  skip_ws(ps);
  const char *p = ps->p;
  if (*p == '{') return parse_container(ps, JSON_OBJECT);
  if (*p == '[') return parse_container(ps, JSON_ARRAY);
  struct json *j = xcalloc(1, sizeof *j);
  if (*p == '"') {
    j->type = JSON_STRING;
    if (!(j->string = parse_string(ps))) goto fail;
  } else if (!strncmp(p, "true", 4) || !strncmp(p, "false", 5)) {
    j->type = JSON_BOOL;
    j->number = *p == 't';
    ps->p += *p == 't' ? 4 : 5;
  } else if (!strncmp(p, "null", 4)) {
    j->type = JSON_NULL;
    ps->p += 4;
  } else if (*p == '-' || (*p >= '0' && *p <= '9')) {
    char *end;
    j->type = JSON_NUMBER;
    j->number = strtod(p, &end);
    if (end == p) goto fail;
    ps->p = end;
  } else {
    goto fail;
  }
  return j;
fail:
  json_free(j);
  return NULL;
}

struct json *json_parse(const char *text) {
  if (!text) return NULL;
  struct parser ps = {text, 0};
  struct json *j = parse_value(&ps);
  if (!j) return NULL;
  skip_ws(&ps);
  if (*ps.p) {
    json_free(j);
    return NULL;
  }
  return j;
}

void json_free(struct json *j) {
  while (j) {
    struct json *next = j->next;
    json_free(j->child);
    free(j->key);
    free(j->string);
    free(j);
    j = next;
  }
}

struct json *json_get(const struct json *object, const char *key) {
  if (!object || object->type != JSON_OBJECT) return NULL;
  for (struct json *m = object->child; m; m = m->next)
    if (!strcmp(m->key, key)) return m;
  return NULL;
}

const char *json_get_string(const struct json *object, const char *key) {
  struct json *v = json_get(object, key);
  return v && v->type == JSON_STRING ? v->string : NULL;
}

int json_length(const struct json *array) {
  int n = 0;
  if (array && (array->type == JSON_ARRAY || array->type == JSON_OBJECT))
    for (struct json *m = array->child; m; m = m->next) n++;
  return n;
}

char **json_object_keys(const struct json *o) {
  if (!o || o->type != JSON_OBJECT) return NULL;
  char **v = xcalloc(json_length(o) + 1, sizeof *v);
  int n = 0;
  for (struct json *e = o->child; e; e = e->next) v[n++] = xstrdup(e->key);
  return v;
}
