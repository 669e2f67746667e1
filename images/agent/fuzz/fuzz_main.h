/* The main of every AFL++ harness here: the harness defines run_one(data, len) and includes this.
 * Built by afl-cc: AFL++'s persistent loop over shared-memory test cases. Built by plain cc (with
 * sanitizers): a replayer, ./replay FILE... (or stdin), for seeds, queues and crashes. */
#pragma once
#include <stdint.h>
#include <stdio.h>

static void run_one(const uint8_t *data, size_t len);
static void fuzz_setup(void);

#ifdef __AFL_FUZZ_TESTCASE_LEN
__AFL_FUZZ_INIT();
int main(void) {
  __AFL_INIT();
  fuzz_setup();
  unsigned char *buf = __AFL_FUZZ_TESTCASE_BUF;
  while (__AFL_LOOP(10000)) run_one(buf, __AFL_FUZZ_TESTCASE_LEN);
  return 0;
}
#else
int main(int argc, char **argv) {
  static uint8_t buf[1 << 20];
  int files = 0;
  fuzz_setup();
  for (int i = 1; i < argc; i++) {
    FILE *f = fopen(argv[i], "rb");
    if (!f) continue;
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    run_one(buf, n);
    files++;
  }
  if (argc == 1) run_one(buf, fread(buf, 1, sizeof buf, stdin)), files++;
  printf("replayed %d inputs\n", files);
  return 0;
}
#endif
