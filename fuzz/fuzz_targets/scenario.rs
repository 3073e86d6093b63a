//! libFuzzer entry point; the harness is [`lb_fuzz::scenario`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lb_fuzz::scenario::run(data));
