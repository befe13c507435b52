//! Fixtures for the tarball tests; raw tar writing is in `hexyard_tarball::testing`.

#![allow(dead_code)]

use std::path::PathBuf;

pub fn fixtures() -> PathBuf {
    match std::env::var_os("HEXYARD_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"),
    }
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = fixtures().join("tarballs").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
