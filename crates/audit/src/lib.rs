//! Audit event schema and the durable, hash-chained JSONL log.
