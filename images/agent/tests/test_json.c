/* The JSON reader on OCI-shaped documents and on malformed input. */
#include <stdlib.h>

#include "json.h"
#include "tap.h"

int main(void) {
  struct json *j = json_parse(
      "{\"schemaVersion\": 2, \"manifests\": [ {\"digest\": \"sha256:ab\", \"size\": 405,"
      " \"annotations\": {\"org.opencontainers.image.ref.name\": \"web\"}} ],"
      " \"esc\": \"a\\\"b\\\\c\\u00e9\\ud83d\\ude00\\n\", \"t\": true, \"n\": null, \"neg\": -1.5e2}");
  CHECK(j != NULL, "parses an index.json");
  struct json *m = json_get(j, "manifests");
  CHECK(m && m->type == JSON_ARRAY && json_length(m) == 1, "manifests is an array of one");
  CHECK_STR(json_get_string(json_get(m->child, "annotations"), "org.opencontainers.image.ref.name"), "web", "nested string");
  CHECK(json_get(m->child, "size")->number == 405, "number");
  CHECK_STR(json_get_string(j, "esc"), "a\"b\\c\xc3\xa9\xf0\x9f\x98\x80\n", "escapes, \\u and surrogate pairs to UTF-8");
  CHECK(json_get(j, "t")->type == JSON_BOOL && json_get(j, "t")->number == 1, "true");
  CHECK(json_get(j, "n")->type == JSON_NULL, "null");
  CHECK(json_get(j, "neg")->number == -150, "negative exponent number");
  CHECK(json_get_string(j, "missing") == NULL && json_get_string(j, "t") == NULL, "absent or non-string gives NULL");
  json_free(j);

  const char *bad[] = {"", "{", "{\"a\":}", "[1,]", "{\"a\" 1}", "\"\\u0000\"", "\"abc", "[1] x", "{\"a\":tru}", "\"\x01\""};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) CHECK(json_parse(bad[i]) == NULL, "rejects malformed #%zu", i);

  char deep[300];
  memset(deep, '[', 200);
  memset(deep + 200, ']', 99);
  deep[299] = 0;
  CHECK(json_parse(deep) == NULL, "rejects nesting deeper than the limit");
  return tap_done();
}
