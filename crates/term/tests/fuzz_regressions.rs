//! Inputs the fuzzers once crashed on; each must now give a result or an error, not a panic.

use hexyard_term::etf;

#[test]
fn etf_map_keys_mixing_integers_floats_and_nan() {
    // sorting the keys panicked: the integer/float order was not total
    let bytes = include_bytes!("regressions/etf_sort_total_order.bin");
    let _ = etf::decode(bytes);
}
