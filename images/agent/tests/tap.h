/* Minimal TAP for the native unit tests: ok/not ok lines, exit status = failures. */
#pragma once
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

/* The condition is evaluated once: it may have side effects (a parse, a read). */
#define CHECK(cond, ...)                                  \
  do {                                                    \
    int ok_ = !!(cond);                                   \
    tap_n++;                                              \
    if (!ok_) tap_failed++;                               \
    printf("%s %d - ", ok_ ? "ok" : "not ok", tap_n);     \
    printf(__VA_ARGS__);                                  \
    printf("%s\n", ok_ ? "" : "  # failed: " #cond);      \
  } while (0)

/* got and want are evaluated once each; on a mismatch both are printed. */
#define CHECK_STR(got, want, name)                                               \
  do {                                                                           \
    const char *g_ = (got), *w_ = (want);                                        \
    int same_ = g_ && !strcmp(g_, w_);                                           \
    CHECK(same_, "%s", name);                                                    \
    if (!same_) printf("#   got '%s', want '%s'\n", g_ ? g_ : "(null)", w_);      \
  } while (0)

static inline int tap_done(void) {
  printf("1..%d\n", tap_n);
  return tap_failed ? 1 : 0;
}
