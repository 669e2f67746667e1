#include "load_frames.h"

#include <errno.h>
#include <string.h>

#include "util.h"
#include "wire.h"

int load_parse_request(const uint8_t *payload, uint32_t length, struct load_request *out, char *err, size_t errlen) {
  if (length < 8) return set_err(err, errlen, 0, "LOAD payload: u64 archive size, then its name (%u bytes)", length);
  uint32_t n = length - 8;
  if (n > LOAD_NAME_MAX) return set_err(err, errlen, 0, "LOAD: archive name over %d bytes", LOAD_NAME_MAX);
  for (uint32_t i = 0; i < n; i++)
    if (payload[8 + i] < 0x20 || payload[8 + i] == 0x7f)
      return set_err(err, errlen, 0, "LOAD: archive name with a control character at byte %u", i);
  out->size = get_u64(payload);
  if (n) memcpy(out->name, payload + 8, n);
  else memcpy(out->name, "archive", (n = 7));
  out->name[n] = 0;
  return 0;
}

int load_parse_data(const uint8_t *payload, uint32_t length, struct load_data *out, char *err, size_t errlen) {
  if (length < 9) return set_err(err, errlen, 0, "LOAD_DATA payload: u64 offset, then at least one byte (%u bytes)", length);
  out->offset = get_u64(payload);
  out->bytes = payload + 8;
  out->length = length - 8;
  return 0;
}
