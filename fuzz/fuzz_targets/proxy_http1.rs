//! libFuzzer entry point; the harness is [`lb_fuzz::proxy`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lb_fuzz::proxy::run(data));
