//! Any bytes given to the tarball reader give a package or a typed error, never a panic.
#![no_main]

use hexyard_tarball::{Limits, docs, read};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // small limits keep each run fast while still reaching every limit check
    let limits = Limits { max_unpacked_size: 1 << 20, max_entries: 64, ..Limits::default() };
    if let Ok(package) = read(data, &limits) {
        // what was accepted must build back into a tarball that reads to the same metadata
        let files: Vec<(String, Vec<u8>)> = vec![("lib/a.ex".into(), b"x".to_vec())];
        let again = read(&hexyard_tarball::build(&package.metadata, &files), &Limits::default())
            .expect("a built tarball reads back");
        assert_eq!(again.metadata, package.metadata);
    }
    let _ = docs::validate(data, &limits);
});
