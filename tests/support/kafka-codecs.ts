/**
 * Registers orderpulse's Kafka compression codecs (Snappy, LZ4, ZSTD) in each
 * integration test file's process, so the tests' own kafkajs clients read what
 * the workers read. The registration lives in workers/shared/kafka.ts.
 */
import "../../workers/shared/kafka.ts";
