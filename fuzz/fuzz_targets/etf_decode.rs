//! The safe ETF decoder: no panic on any input, and what decodes re-encodes to bytes that
//! decode to the same term.
#![no_main]

use hexyard_term::etf;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(term) = etf::decode(data) {
        let bytes = etf::encode(&term);
        let again = etf::decode(&bytes).expect("encoded term decodes");
        assert_eq!(etf::encode(&again), bytes);
        let _ = hexyard_term::json::to_json(&term);
    }
});
