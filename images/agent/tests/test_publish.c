/* `box run -p`: Docker's port specs, the repeated flag, and the proxy relaying real TCP on the
 * loopback (the "container" here is a listener on 127.0.0.1, as a container is one on box0). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "options.h"
#include "publish.h"
#include "tap.h"
#include "util.h"

/* A one-connection echo server in a child that upper-cases what it reads. */
static pid_t echo_server(uint16_t *port) {
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 4) < 0 || getsockname(s, (struct sockaddr *)&a, &len) < 0) return -1;
  *port = ntohs(a.sin_port);
  pid_t pid = fork();
  if (pid == 0) {
    int c = accept(s, NULL, NULL);
    char buf[256];
    ssize_t n;
    while ((n = read(c, buf, sizeof buf)) > 0) {
      for (ssize_t i = 0; i < n; i++) buf[i] = buf[i] >= 'a' && buf[i] <= 'z' ? buf[i] - 32 : buf[i];
      if (write(c, buf, n) != n) break;
    }
    _exit(0);
  }
  close(s);
  return pid;
}

static int connect_to(uint16_t port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
    close(s);
    return -1;
  }
  return s;
}

int main(void) {
  char err[256];
  struct port_binding b;
  CHECK(parse_port_binding("8080:80", &b, err, sizeof err) == 0 && b.host_port == 8080 && b.container_port == 80 && !b.host_ip,
        "HOSTPORT:PORT");
  CHECK(parse_port_binding("127.0.0.1:8080:80/tcp", &b, err, sizeof err) == 0 && b.host_ip == htonl(INADDR_LOOPBACK) &&
            b.host_port == 8080 && b.container_port == 80,
        "IP:HOSTPORT:PORT/tcp");
  CHECK(parse_port_binding("80", &b, err, sizeof err) == 0 && b.host_port == 0 && b.container_port == 80, "PORT alone: the kernel picks");
  CHECK(parse_port_binding("127.0.0.1::80", &b, err, sizeof err) == 0 && b.host_port == 0, "IP::PORT");
  struct { const char *spec, *want; } bad[] = {
      {"abc:80", "invalid hostPort: abc"},
      {"8080:abc", "invalid containerPort: abc"},
      {"8080:0", "invalid containerPort: 0"},
      {"70000:80", "invalid hostPort: 70000"},
      {"1.2.3:8080:80", "invalid IP address: 1.2.3"},
      {"8080:80/udp", "box publishes tcp ports only, not udp"},
      {"8080:80/xyz", "invalid proto: xyz"},
      {"8000-8010:80", "box publishes single ports, not ranges: 8000-8010:80"},
      {"a:b:c:d", "invalid port specification: \"a:b:c:d\""},
      {"", "invalid containerPort: "},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    err[0] = 0;
    CHECK(parse_port_binding(bad[i].spec, &b, err, sizeof err) == -EINVAL, "rejects '%s'", bad[i].spec);
    CHECK_STR(err, bad[i].want, "in Docker's words");
  }

  /* -p is a list: every value is kept, in order, in every spelling. */
  const char *args[] = {"-p", "8080:80", "--publish=9090:90", "-p8081:81", "web", NULL};
  struct run_opts o;
  CHECK(parse_run(5, (char **)args, &o, err, sizeof err) == 0 && o.nports == 3 && o.ports[0].host_port == 8080 &&
            o.ports[1].container_port == 90 && o.ports[2].host_port == 8081,
        "-p repeated: three bindings");
  run_opts_free(&o);
  const char *badrun[] = {"-p", "8080:abc", "web", NULL};
  CHECK(parse_run(3, (char **)badrun, &o, err, sizeof err) < 0, "a bad -p refuses the run (%s)", err);

  /* An unknown option must end at the table's end (with -p the run table once filled its array,
   * parse_verb read past it, and an unknown flag crashed box run with SIGSEGV in the i386 build). */
  err[0] = 0;
  CHECK(options_table_check(err, sizeof err) == 0, "every verb's option table keeps its end marker %s", err);
  const char *unknown[] = {"-p", "80", "--bogus", "web", NULL};
  err[0] = 0;
  CHECK(parse_run(4, (char **)unknown, &o, err, sizeof err) < 0, "an unknown flag after -p is refused");
  CHECK_STR(err, "unknown flag: --bogus", "naming it");
  const char *unknown_short[] = {"-Z", "web", NULL};
  err[0] = 0;
  CHECK(parse_run(2, (char **)unknown_short, &o, err, sizeof err) < 0, "an unknown shorthand is refused (%s)", err);

  char text[128];
  struct port_binding two[] = {{0, 8080, 80}, {htonl(INADDR_LOOPBACK), 9090, 90}};
  format_port_bindings(two, 2, text, sizeof text);
  CHECK_STR(text, "0.0.0.0:8080->80/tcp, 127.0.0.1:9090->90/tcp", "ps PORTS column");

  /* The proxy for real: publish a kernel-chosen port on the loopback, relay to the echo server. */
  signal(SIGPIPE, SIG_IGN);
  uint16_t target = 0;
  pid_t server = echo_server(&target);
  CHECK(server > 0, "an echo server on 127.0.0.1:%u stands in for the container", target);
  struct port_binding pub = {htonl(INADDR_LOOPBACK), 0, target};
  pid_t proxy = publish_ports(&pub, 1, htonl(INADDR_LOOPBACK), err, sizeof err);
  CHECK(proxy > 0 && pub.host_port != 0, "published on port %u (kernel's choice written back)", pub.host_port);
  int c = connect_to(pub.host_port);
  char got[16] = "";
  CHECK(c >= 0 && write(c, "hello", 5) == 5, "a client connects to the published port");
  shutdown(c, SHUT_WR);
  ssize_t n = 0, r;
  while (n < (ssize_t)sizeof got - 1 && (r = read(c, got + n, sizeof got - 1 - n)) > 0) n += r;
  got[n] = 0;
  CHECK_STR(got, "HELLO", "the reply comes back through the proxy, then end of stream");
  close(c);

  struct port_binding again = {htonl(INADDR_LOOPBACK), pub.host_port, 80};
  err[0] = 0;
  CHECK(publish_ports(&again, 1, htonl(INADDR_LOOPBACK), err, sizeof err) < 0, "the same port twice is refused");
  char want[96];
  snprintf(want, sizeof want, "Bind for 127.0.0.1:%u failed: port is already allocated", pub.host_port);
  CHECK_STR(err, want, "in Docker's words");

  unpublish_ports(proxy);
  CHECK(connect_to(pub.host_port) < 0, "after unpublish the port refuses connections");
  CHECK(kill(proxy, 0) < 0 && errno == ESRCH, "the proxy is gone and reaped");
  struct port_binding none = {0, 0, 80};
  CHECK(publish_ports(&none, 1, 0, err, sizeof err) < 0, "no network, no publishing (%s)", err);
  kill(server, SIGTERM);
  waitpid(server, NULL, 0);
  return tap_done();
}
