//! The metadata.config parser: no panic on any input, and what parses writes back to text that
//! parses to the same terms.
#![no_main]

use hexyard_term::text;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(terms) = text::parse(data) {
        let written = text::write(&terms);
        let again = text::parse(written.as_bytes()).expect("written text parses");
        assert_eq!(again, terms);
    }
});
