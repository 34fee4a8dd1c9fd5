/*
 * A Kafka-protocol cluster for integration tests, built on librdkafka's mock cluster (rdkafka_mock.h).
 *
 * Usage: mock-cluster [brokers]       (default 3; broker ids are 1..brokers)
 *
 * Prints one line `BOOTSTRAP host:port,...` on stdout, then reads one command per line from stdin and answers
 * each with `ok` or `err <message>`:
 *   down <brokerId>               close the broker's connections and refuse new ones
 *   up <brokerId>                 accept connections again
 *   rtt <brokerId> <ms>           delay every response from the broker
 *   topic <name> <partitions>     create a topic (the mock does not implement CreateTopics)
 *   leader <topic> <partition> <brokerId>   move a partition's leadership (clients see NOT_LEADER and
 *                                 refresh their metadata)
 *   quit                          shut down
 * End of stdin also shuts down, so a test process that dies never leaves a cluster behind.
 *
 * Topics the mock creates on its own (on a produce or metadata request) get 4 partitions; librdkafka 2.0.2
 * offers no setting for that, so tests that care create their topics with `topic` first.
 *
 * Build: gcc -O2 -o mock-cluster mock-cluster.c -lrdkafka
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static void reply(rd_kafka_resp_err_t err) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
    printf("ok\n");
  else
    printf("err %s\n", rd_kafka_err2str(err));
  fflush(stdout);
}

int main(int argc, char **argv) {
  int brokers = argc > 1 ? atoi(argv[1]) : 3;
  if (brokers < 1) {
    fprintf(stderr, "mock-cluster: broker count must be >= 1\n");
    return 2;
  }

  /* The mock cluster lives inside a client instance. A producer without bootstrap servers never connects
   * anywhere; it only owns the cluster's threads and listeners. */
  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* Warnings and errors go to stderr, which the test harness keeps for failure messages. */
  rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof errstr);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    fprintf(stderr, "mock-cluster: rd_kafka_new: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t *mcluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (!mcluster) {
    fprintf(stderr, "mock-cluster: rd_kafka_mock_cluster_new failed\n");
    rd_kafka_destroy(rk);
    return 1;
  }

  printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mcluster));
  fflush(stdout);

  /* Topics get a replication factor the cluster can hold: the mock rejects more replicas than brokers. */
  int replication = brokers < 3 ? brokers : 3;
  char line[1024];
  while (fgets(line, sizeof line, stdin)) {
    char name[512];
    int id, value;
    if (strcmp(line, "quit\n") == 0 || strcmp(line, "quit") == 0)
      break;
    if (sscanf(line, "down %d", &id) == 1)
      reply(rd_kafka_mock_broker_set_down(mcluster, id));
    else if (sscanf(line, "up %d", &id) == 1)
      reply(rd_kafka_mock_broker_set_up(mcluster, id));
    else if (sscanf(line, "rtt %d %d", &id, &value) == 2)
      reply(rd_kafka_mock_broker_set_rtt(mcluster, id, value));
    else if (sscanf(line, "topic %511s %d", name, &value) == 2)
      /* The mock accepts 0 partitions and then serves a topic nobody can write to. */
      reply(value < 1 ? RD_KAFKA_RESP_ERR__INVALID_ARG
                      : rd_kafka_mock_topic_create(mcluster, name, value, replication));
    else if (sscanf(line, "leader %511s %d %d", name, &value, &id) == 3)
      reply(rd_kafka_mock_partition_set_leader(mcluster, name, value, id));
    else {
      line[strcspn(line, "\n")] = '\0';
      printf("err unknown command: %s\n", line);
      fflush(stdout);
    }
  }

  rd_kafka_mock_cluster_destroy(mcluster);
  rd_kafka_destroy(rk);
  return 0;
}
