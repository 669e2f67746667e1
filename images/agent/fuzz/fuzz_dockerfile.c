/* AFL++ harness for dockerfile.c: any bytes either parse into instructions that keep the parser's
 * promises (FROM first and only once, argument counts per kind, NULL-terminated argv) or are
 * refused with a message; anything else aborts (a crash AFL records). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dockerfile.h"

static void fuzz_setup(void) {}

static void run_one(const uint8_t *data, size_t len) {
  struct dockerfile df;
  char err[512] = "";
  if (dockerfile_parse((const char *)data, len, &df, err, sizeof err) < 0) {
    if (!err[0] || df.n || df.v) abort();
    return;
  }
  if (df.n < 1 || df.v[0].kind != DF_FROM || df.v[0].nargs != 1) abort();
  for (int i = 0; i < df.n; i++) {
    const struct df_instruction *in = &df.v[i];
    if (!in->text || !in->args || in->args[in->nargs] || (i && in->kind == DF_FROM)) abort();
    for (int k = 0; k < in->nargs; k++)
      if (!in->args[k]) abort();
    if ((in->kind == DF_ENV || in->kind == DF_LABEL) && (in->nargs < 2 || in->nargs % 2)) abort();
    if (in->kind == DF_COPY && in->nargs < 2) abort();
    if ((in->kind == DF_RUN || in->kind == DF_CMD || in->kind == DF_ENTRYPOINT) && !in->exec_form && in->nargs != 3) abort();
    if (in->kind == DF_WORKDIR && (in->nargs != 1 || !in->args[0][0])) abort();
  }
  dockerfile_free(&df);
}

#include "fuzz_main.h"
