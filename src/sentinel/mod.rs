//! Sentinel mode. Not built yet (see the sentinel issue): the CLI refuses to
//! start rather than pretend to monitor anything.

pub const NOT_YET: &str = "sentinel mode is not implemented in this version of rsredis yet; \
run a real redis-sentinel for now (rsredis data nodes can be monitored by it)";

pub mod core;
