/* The test macros themselves: each argument is evaluated once, as the conditions of the other
 * tests may have side effects (a parse, a read, a frame handled). */
#include "tap.h"

int main(void) {
  int evaluated = 0;
  CHECK(++evaluated > 0, "CHECK's condition");
  CHECK(evaluated == 1, "was evaluated once (%d times)", evaluated);
  const char *words[] = {"a", "b"};
  int got = 0, want = 0;
  CHECK_STR(words[got++], words[want++], "CHECK_STR's arguments");
  CHECK(got == 1 && want == 1, "were evaluated once each (%d and %d times)", got, want);
  return tap_done();
}
