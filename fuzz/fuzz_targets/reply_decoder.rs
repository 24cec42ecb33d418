#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| rsredis::fuzzing::reply_decoder(data));
