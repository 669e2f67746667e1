/* The Dockerfile parser: forms, continuations, comments, quoting, and each fault's message. */
#include <stdlib.h>
#include <string.h>

#include "dockerfile.h"
#include "tap.h"
#include "util.h"

static int parse(const char *text, struct dockerfile *df, char *err, size_t n) {
  err[0] = 0;
  return dockerfile_parse(text, strlen(text), df, err, n);
}

static void fails(const char *text, const char *want, const char *name) {
  struct dockerfile df;
  char err[256];
  int rc = parse(text, &df, err, sizeof err);
  CHECK(rc < 0 && df.n == 0 && df.v == NULL, "%s: refused", name);
  CHECK_STR(err, want, name);
}

int main(void) {
  struct dockerfile df;
  char err[256];
  const char *text =
      "# syntax comment\n"
      "from web AS base\n"
      "\n"
      "ENV A=1 B=\"two words\" C='single \\ quoted'\n"
      "ENV PATH /usr/bin:/bin\n"
      "RUN echo one && \\\n"
      "    # a comment inside a continuation\n"
      "    echo two\n"
      "RUN [\"/bin/echo\", \"exec form\"]\n"
      "COPY a.txt dir/ /dest/\r\n"
      "COPY [\"with space.txt\", \"/d\"]\n"
      "WORKDIR /app\n"
      "EXPOSE 80 53/udp\n"
      "LABEL org.title=\"box app\" v=1\n"
      "CMD [\"httpd\", \"-f\"]\n"
      "ENTRYPOINT exec httpd\n";
  CHECK(parse(text, &df, err, sizeof err) == 0, "parses the subset %s", err);
  CHECK(df.n == 12, "12 instructions (got %d)", df.n);
  if (df.n == 12) {
    CHECK(df.v[0].kind == DF_FROM && df.v[0].nargs == 1, "FROM with AS keeps the image");
    CHECK_STR(df.v[0].args[0], "web", "FROM image");
    CHECK_STR(df.v[0].text, "FROM web AS base", "Step text: keyword upper-cased");
    CHECK(df.v[1].nargs == 6, "ENV key=value pairs");
    CHECK_STR(df.v[1].args[3], "two words", "double quotes");
    CHECK_STR(df.v[1].args[5], "single \\ quoted", "single quotes keep backslashes");
    CHECK(df.v[2].nargs == 2, "ENV key value");
    CHECK_STR(df.v[2].args[1], "/usr/bin:/bin", "ENV key value: the rest is the value");
    CHECK(df.v[3].line == 6 && !df.v[3].exec_form && df.v[3].nargs == 3, "RUN shell form, line 6");
    CHECK_STR(df.v[3].args[2], "echo one &&  echo two", "continuation joined, comment dropped");
    CHECK_STR(df.v[3].args[0], "/bin/sh", "shell form runs /bin/sh -c");
    CHECK(df.v[4].exec_form && df.v[4].nargs == 2, "RUN exec form");
    CHECK_STR(df.v[4].args[1], "exec form", "exec form argument");
    CHECK(df.v[5].kind == DF_COPY && df.v[5].nargs == 3, "COPY sources and destination (CRLF line)");
    CHECK_STR(df.v[5].args[2], "/dest/", "COPY destination");
    CHECK_STR(df.v[6].args[0], "with space.txt", "COPY exec form");
    CHECK_STR(df.v[7].args[0], "/app", "WORKDIR");
    CHECK(df.v[8].nargs == 2, "EXPOSE ports");
    CHECK(df.v[9].nargs == 4, "LABEL pairs");
    CHECK_STR(df.v[9].args[1], "box app", "LABEL quoted value");
    CHECK(df.v[10].exec_form && df.v[10].nargs == 2, "CMD exec form");
    CHECK(!df.v[11].exec_form && df.v[11].nargs == 3, "ENTRYPOINT shell form");
  }
  dockerfile_free(&df);

  CHECK(parse("FROM web\nVOLUME /data /var/log\nvolume [\"/a b\", \"/c\"]\n", &df, err, sizeof err) == 0 && df.n == 3 &&
            df.v[1].kind == DF_VOLUME && df.v[1].nargs == 2 && !strcmp(df.v[1].args[1], "/var/log") && df.v[2].nargs == 2 &&
            !strcmp(df.v[2].args[0], "/a b"),
        "VOLUME: words or a JSON array (%s)", err);
  dockerfile_free(&df);

  CHECK(parse("FROM web\nRUN [\"not\", 1]\n", &df, err, sizeof err) == 0 && df.n == 2 && !df.v[1].exec_form &&
            !strcmp(df.v[1].args[2], "[\"not\", 1]"),
        "an array that is not all strings is the shell form (as Docker)");
  dockerfile_free(&df);

  static const struct { const char *text, *want, *name; } faults[] = {
      {"FROM web\nFROBNICATE x\n", "Dockerfile line 2: unknown instruction: FROBNICATE", "unknown instruction"},
      {"RUN true\n", "Dockerfile line 1: the first instruction must be FROM, not RUN", "FROM first"},
      {"FROM a\nFROM b\n", "Dockerfile line 2: only one FROM is supported (no multi-stage builds)", "one FROM"},
      {"# nothing\n\n", "Dockerfile: no instructions (the file is empty)", "empty"},
      {"FROM\n", "Dockerfile line 1: FROM requires either one or three arguments", "FROM without image"},
      {"FROM web\nCOPY onlyone\n", "Dockerfile line 2: COPY requires at least two arguments, but got fewer", "COPY one argument"},
      {"FROM web\nCOPY --from=x a b\n", "Dockerfile line 2: COPY options (--from=x a b) are not supported", "COPY flags"},
      {"FROM web\nENV A=\"open\n", "Dockerfile line 2: ENV requires at least one argument", "unterminated quote"},
      {"FROM web\nENV ALONE\n", "Dockerfile line 2: ENV ALONE needs a value (ENV key value, or key=value)", "ENV without value"},
      {"FROM web\nLABEL novalue\n", "Dockerfile line 2: LABEL names must be followed by = and a value (key=value)", "LABEL without ="},
      {"FROM web\nEXPOSE 99999\n", "Dockerfile line 2: invalid containerPort: 99999", "EXPOSE range"},
      {"FROM web\nRUN\n", "Dockerfile line 2: RUN requires at least one argument", "RUN empty"},
      {"FROM web\nVOLUME\n", "Dockerfile line 2: VOLUME requires at least one argument", "VOLUME empty"},
      {"FROM web\nVOLUME [\"/a\", \" \"]\n", "Dockerfile line 2: VOLUME specified can not be an empty string", "VOLUME empty string"},
      {"FROM web\n\\\n\\\n", "Dockerfile line 2: unknown instruction: ", "only continuations"},
  };
  for (size_t i = 0; i < N_ELEMENTS(faults); i++) fails(faults[i].text, faults[i].want, faults[i].name);
  struct dockerfile nul;
  CHECK(dockerfile_parse("FROM a\0b", 8, &nul, err, sizeof err) < 0, "a NUL byte is refused");
  return tap_done();
}
