//! libFuzzer entry point; the harness is [`lb_fuzz::fault`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lb_fuzz::fault::run(data));
