#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rsredis::fuzzing::rdb_loader(data));
