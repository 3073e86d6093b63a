//! libFuzzer entry point; the harness is [`lb_fuzz::admin`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lb_fuzz::admin::run(data));
