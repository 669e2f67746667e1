/* The payloads of a streamed load (PROTOCOL.md, LOAD and LOAD_DATA), parsed without side effects
 * so the fuzz target can drive them: LOAD is u64 archive size then the archive's name (UTF-8,
 * for messages), LOAD_DATA u64 offset then the bytes found there. */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* The host may send this many archive bytes beyond the last LOAD_ACK (boxd refuses more). */
#define LOAD_WINDOW (256 * 1024)
/* The longest name LOAD may give its archive, in bytes. */
#define LOAD_NAME_MAX 255

struct load_request {
  uint64_t size;                   /* the archive's bytes, all of which LOAD_DATA brings */
  char name[LOAD_NAME_MAX + 1];    /* NUL-terminated; "archive" when LOAD gave none */
};

struct load_data {
  uint64_t offset;                 /* where in the archive these bytes go */
  const uint8_t *bytes;            /* points into the payload */
  uint32_t length;
};

/* 0, or -EINVAL with err set: a payload under 8 bytes, a name over LOAD_NAME_MAX bytes or with a
 * control character (it is quoted in one-line messages). */
int load_parse_request(const uint8_t *payload, uint32_t length, struct load_request *out, char *err, size_t errlen);
/* 0, or -EINVAL with err set: a payload under 9 bytes (an offset and at least one byte). */
int load_parse_data(const uint8_t *payload, uint32_t length, struct load_data *out, char *err, size_t errlen);
