/*
 * orderpulse dev/test Kafka broker: librdkafka's mock cluster behind a tiny CLI.
 *
 * The mock cluster speaks the real Kafka protocol but serves no CreateTopics, so
 * every topic the project uses is created here, up front. A line-based control
 * channel on loopback TCP takes fault commands for reliability tests.
 *
 *   kafka-mock [--brokers N] [--topic NAME:PARTITIONS]... [--ready-file PATH]
 *
 * Prints "BOOTSTRAP=host:port,..." and "CONTROL=127.0.0.1:port" on stdout (and
 * to --ready-file, written atomically once everything is up), then serves until
 * SIGINT/SIGTERM. Control commands, one per line, each answered "ok" or "error ...":
 *   ping | down <broker-id> | up <broker-id> | rtt <broker-id> <ms>
 *   fail <api-key> <error-code> [count]   the next count requests of that
 *                                         type (default 1) get that error
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define MAX_TOPICS 64

static volatile sig_atomic_t stopping = 0;
static void on_signal(int sig) { (void)sig; stopping = 1; }

static void die(const char *msg) {
  fprintf(stderr, "kafka-mock: %s\n", msg);
  exit(2);
}

static int listen_loopback(int *port_out) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("cannot create control socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) die("cannot bind control socket");
  if (listen(fd, 8) != 0) die("cannot listen on control socket");
  socklen_t len = sizeof addr;
  getsockname(fd, (struct sockaddr *)&addr, &len);
  *port_out = ntohs(addr.sin_port);
  return fd;
}

#define MAX_INJECTED 64

static void run_command(rd_kafka_mock_cluster_t *mc, int brokers, char *line, char *reply, size_t n) {
  char cmd[16] = {0};
  int id = 0, ms = 0, count = 1;
  int got = sscanf(line, "%15s %d %d %d", cmd, &id, &ms, &count);
  if (got >= 1 && strcmp(cmd, "ping") == 0) {
    snprintf(reply, n, "ok\n");
    return;
  }
  if (strcmp(cmd, "fail") == 0) {
    /* id = ApiKey, ms = error code: makes client-side handling of broker errors testable. */
    if (got < 3 || id < 0 || id > 32767 || ms <= 0 || ms > 32767 || count < 1 || count > MAX_INJECTED) {
      snprintf(reply, n, "error usage: fail <api-key> <error-code> [1..%d]\n", MAX_INJECTED);
      return;
    }
    rd_kafka_resp_err_t errors[MAX_INJECTED];
    for (int i = 0; i < count; i++) errors[i] = (rd_kafka_resp_err_t)ms;
    rd_kafka_mock_push_request_errors_array(mc, (int16_t)id, (size_t)count, errors);
    snprintf(reply, n, "ok\n");
    return;
  }
  if (got < 2 || id < 1 || id > brokers) {
    snprintf(reply, n, "error usage: ping | down <1..%d> | up <1..%d> | rtt <1..%d> <ms> | fail <api-key> <error-code> [count]\n", brokers, brokers, brokers);
    return;
  }
  rd_kafka_resp_err_t err;
  if (strcmp(cmd, "down") == 0) err = rd_kafka_mock_broker_set_down(mc, id);
  else if (strcmp(cmd, "up") == 0) err = rd_kafka_mock_broker_set_up(mc, id);
  else if (strcmp(cmd, "rtt") == 0 && got >= 3 && ms >= 0) err = rd_kafka_mock_broker_set_rtt(mc, id, ms);
  else {
    snprintf(reply, n, "error unknown command '%s'\n", cmd);
    return;
  }
  if (err) snprintf(reply, n, "error %s\n", rd_kafka_err2str(err));
  else snprintf(reply, n, "ok\n");
}

static void serve_client(rd_kafka_mock_cluster_t *mc, int brokers, int cfd) {
  char buf[256];
  size_t used = 0;
  for (;;) {
    ssize_t r = read(cfd, buf + used, sizeof buf - 1 - used);
    if (r <= 0) break;
    used += (size_t)r;
    buf[used] = '\0';
    char *nl;
    while ((nl = strchr(buf, '\n')) != NULL) {
      *nl = '\0';
      char reply[160];
      run_command(mc, brokers, buf, reply, sizeof reply);
      if (write(cfd, reply, strlen(reply)) < 0) return;
      used -= (size_t)(nl + 1 - buf);
      memmove(buf, nl + 1, used + 1);
    }
    if (used == sizeof buf - 1) break; /* line too long: drop the client */
  }
}

int main(int argc, char **argv) {
  int brokers = 1;
  const char *ready_file = NULL;
  char *topics[MAX_TOPICS];
  int partitions[MAX_TOPICS];
  int ntopics = 0;

  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc) {
      brokers = atoi(argv[++i]);
      if (brokers < 1 || brokers > 9) die("--brokers must be 1..9");
    } else if (strcmp(argv[i], "--topic") == 0 && i + 1 < argc) {
      char *spec = argv[++i];
      char *colon = strrchr(spec, ':');
      if (!colon || ntopics == MAX_TOPICS) die("--topic takes NAME:PARTITIONS");
      *colon = '\0';
      partitions[ntopics] = atoi(colon + 1);
      if (partitions[ntopics] < 1 || partitions[ntopics] > 1000 || !*spec) die("--topic takes NAME:PARTITIONS (1..1000)");
      topics[ntopics++] = spec;
    } else if (strcmp(argv[i], "--ready-file") == 0 && i + 1 < argc) {
      ready_file = argv[++i];
    } else {
      die("usage: kafka-mock [--brokers N] [--topic NAME:PARTITIONS]... [--ready-file PATH]");
    }
  }

  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGPIPE, SIG_IGN);

  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) die(errstr);

  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (!mc) die("cannot create mock cluster");
  for (int t = 0; t < ntopics; t++) {
    int rf = brokers < 3 ? brokers : 3;
    if (rd_kafka_mock_topic_create(mc, topics[t], partitions[t], rf)) die("cannot create topic");
  }

  int control_port = 0;
  int lfd = listen_loopback(&control_port);
  const char *bootstrap = rd_kafka_mock_cluster_bootstraps(mc);

  char info[1024];
  snprintf(info, sizeof info, "BOOTSTRAP=%s\nCONTROL=127.0.0.1:%d\nPID=%d\n", bootstrap, control_port, (int)getpid());
  fputs(info, stdout);
  fflush(stdout);
  if (ready_file) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", ready_file);
    FILE *f = fopen(tmp, "w");
    if (!f) die("cannot write --ready-file");
    fputs(info, f);
    fclose(f);
    if (rename(tmp, ready_file) != 0) die("cannot rename --ready-file");
  }

  while (!stopping) {
    fd_set rfds;
    FD_ZERO(&rfds);
    FD_SET(lfd, &rfds);
    struct timeval tv = {0, 200000};
    int n = select(lfd + 1, &rfds, NULL, NULL, &tv);
    if (n < 0 && errno != EINTR) break;
    if (n > 0 && FD_ISSET(lfd, &rfds)) {
      int cfd = accept(lfd, NULL, NULL);
      if (cfd >= 0) {
        struct timeval to = {5, 0};
        setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &to, sizeof to);
        serve_client(mc, brokers, cfd);
        close(cfd);
      }
    }
  }

  close(lfd);
  if (ready_file) unlink(ready_file);
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
