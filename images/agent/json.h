/* A tiny JSON reader for OCI index, manifest and config files: parse into a tree,
 * look values up by key. Numbers are doubles; strings are unescaped UTF-8. */
#pragma once
#include <stdbool.h>

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json {
  enum json_type type;
  char *key;           /* member name when inside an object */
  char *string;        /* JSON_STRING */
  double number;       /* JSON_NUMBER, JSON_BOOL (0/1) */
  struct json *child;  /* first element/member */
  struct json *next;   /* next sibling */
};

struct json *json_parse(const char *text); /* NULL if malformed */
void json_free(struct json *j);
struct json *json_get(const struct json *object, const char *key);
const char *json_get_string(const struct json *object, const char *key); /* NULL if absent/not a string */
int json_length(const struct json *array);
/* The member names of an object, in order, NULL-terminated (malloc'd, free with free_args); NULL
 * when o is absent or not an object (config ExposedPorts and Volumes are such sets). */
char **json_object_keys(const struct json *o);
