#include "cqrs/kafka/bus.h"

#include <librdkafka/rdkafka.h>

#include <charconv>

namespace cqrs::kafka {

Result<BusOptions> ParseBusUrl(std::string_view url, const BusOptions& defaults) {
  constexpr std::string_view kScheme = "kafka://";
  if (!url.starts_with(kScheme)) return InvalidArgument("bus: expected kafka://HOST:PORT[?partitions=N&topic=NAME]");
  url.remove_prefix(kScheme.size());
  BusOptions o = defaults;
  const auto q = url.find('?');
  o.brokers = std::string(url.substr(0, q));
  if (o.brokers.empty()) return InvalidArgument("bus: no broker address in the URL");
  std::string_view query = q == std::string_view::npos ? std::string_view() : url.substr(q + 1);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view kv = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const auto eq = kv.find('=');
    if (eq == std::string_view::npos) return InvalidArgument("bus: bad query parameter '" + std::string(kv) + "'");
    const std::string_view key = kv.substr(0, eq), value = kv.substr(eq + 1);
    if (key == "partitions") {
      int n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || n < 1 || n > 10'000) {
        return InvalidArgument("bus: partitions must be 1-10000, got '" + std::string(value) + "'");
      }
      o.partitions = n;
    } else if (key == "topic") {
      if (value.empty() || value.size() > 249) return InvalidArgument("bus: topic must be 1-249 characters");
      o.topic = std::string(value);
    } else {
      return InvalidArgument("bus: unknown parameter '" + std::string(key) + "' (partitions, topic)");
    }
  }
  return o;
}

Result<std::unique_ptr<RdKafka::Conf>> MakeConf(const BusOptions& bus,
                                                std::initializer_list<std::pair<const char*, std::string>> settings) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  if (conf->set("bootstrap.servers", bus.brokers, err) != RdKafka::Conf::CONF_OK) return InvalidArgument("bus: " + err);
  // Errors only: connection errors are also surfaced as statuses and retried.
  conf->set("log_level", "3", err);
  // Back to a restarted broker within a second (the default backoff grows to 10 s).
  conf->set("reconnect.backoff.ms", "100", err);
  conf->set("reconnect.backoff.max.ms", "1000", err);
  for (const auto& [k, v] : settings) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) {
      return InvalidArgument("bus: setting " + std::string(k) + "=" + v + ": " + err);
    }
  }
  return conf;
}

Result<std::unique_ptr<RdKafka::Producer>> OpenProducer(const BusOptions& bus, RdKafka::DeliveryReportCb* reports,
                                                        std::chrono::milliseconds linger,
                                                        std::chrono::milliseconds message_timeout) {
  ASSIGN_OR_RETURN(auto conf, MakeConf(bus, {{"enable.idempotence", "true"},
                                             {"acks", "all"},
                                             {"linger.ms", std::to_string(linger.count())},
                                             {"partitioner", "murmur2_random"},
                                             {"message.timeout.ms", std::to_string(message_timeout.count())}}));
  std::string err;
  if (conf->set("dr_cb", reports, err) != RdKafka::Conf::CONF_OK) return Internal("bus: " + err);
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), err));
  if (!producer) return Unavailable("bus: producer: " + err);
  return producer;
}

Status EnsureTopic(const BusOptions& bus) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", bus.brokers.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    return InvalidArgument(std::string("bus: ") + err);
  }
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Unavailable(std::string("bus: ") + err);
  }
  struct Cleanup {
    rd_kafka_t* rk;
    rd_kafka_queue_t* q = nullptr;
    rd_kafka_NewTopic_t* topic = nullptr;
    rd_kafka_AdminOptions_t* options = nullptr;
    ~Cleanup() {
      if (options) rd_kafka_AdminOptions_destroy(options);
      if (topic) rd_kafka_NewTopic_destroy(topic);
      if (q) rd_kafka_queue_destroy(q);
      rd_kafka_destroy(rk);
    }
  } c{rk};
  // A single broker cannot hold three replicas: ask the cluster how many brokers it has.
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_metadata(rk, 0, nullptr, &md, 10'000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Unavailable("bus: no answer from the brokers at " + bus.brokers);
  }
  const int replication = md->broker_cnt >= 3 ? 3 : 1;
  rd_kafka_metadata_destroy(md);
  c.topic = rd_kafka_NewTopic_new(bus.topic.c_str(), bus.partitions, replication, err, sizeof err);
  if (c.topic == nullptr) return InvalidArgument(std::string("bus: topic: ") + err);
  if (replication == 3) {
    // With acks=all, a write is acknowledged once every in-sync replica has it; without this
    // setting the in-sync set may shrink to the leader alone (the brokers' default is 1) and an
    // acknowledged event would then live on one broker. With 2, a write needs two copies or
    // fails (NOT_ENOUGH_REPLICAS, retried by the producer), so losing any one broker loses
    // nothing acknowledged. Unclean election stays off: an out-of-sync replica never leads.
    for (const auto& [name, value] :
         {std::pair{"min.insync.replicas", "2"}, std::pair{"unclean.leader.election.enable", "false"}}) {
      if (rd_kafka_NewTopic_set_config(c.topic, name, value) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return Internal(std::string("bus: topic config ") + name);
      }
    }
  }
  c.q = rd_kafka_queue_new(rk);
  c.options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(c.options, 10'000, err, sizeof err);
  rd_kafka_CreateTopics(rk, &c.topic, 1, c.options, c.q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(c.q, 15'000);
  if (ev == nullptr) return Unavailable("bus: no answer to creating topic " + bus.topic);
  Status st;
  if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    st = Unavailable(std::string("bus: creating topic: ") + rd_kafka_event_error_string(ev));
  } else {
    std::size_t n = 0;
    const rd_kafka_topic_result_t** results =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    for (std::size_t i = 0; i < n; ++i) {
      const rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        st = Unavailable("bus: creating topic " + bus.topic + ": " + rd_kafka_err2str(e));
      }
    }
  }
  rd_kafka_event_destroy(ev);
  return st;
}

}  // namespace cqrs::kafka
