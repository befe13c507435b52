//! Hex package tarballs, version 3 (`VERSION`, `CHECKSUM`, `metadata.config`,
//! `contents.tar.gz`), and docs tarballs.
//!
//! [`read`] validates a tarball entirely in memory: limits, checksums, the metadata and every
//! entry of the contents, without touching the disk. [`build`] makes one from a [`Metadata`] and
//! files, the way hex_core does. [`docs::unpack`] checks a docs tarball and unpacks it in memory.

mod build;
pub mod docs;
mod error;
mod limits;
mod metadata;
mod read;
mod safe_path;
#[cfg(feature = "testing")]
pub mod testing;

pub use build::build;
pub use error::{FieldError, TarballError};
pub use limits::Limits;
pub use metadata::{Dependency, Metadata};
pub use read::{ContentEntry, Package, read};
pub use safe_path::{SafePathError, check_entry_path};

/// A SHA-256 digest.
pub type Checksum = [u8; 32];

/// Uppercase hexadecimal, as in a tarball's `CHECKSUM` file.
pub fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Lowercase hexadecimal, as in the API's `checksum` field and mix.lock.
pub fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Decodes hexadecimal of either case.
pub fn decode_hex(text: &str) -> Option<Vec<u8>> {
    // from_str_radix alone would take a sign ("+1")
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| text.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let bytes = [0x00, 0xab, 0x7f, 0xff];
        assert_eq!(hex_upper(&bytes), "00AB7FFF");
        assert_eq!(hex_lower(&bytes), "00ab7fff");
        assert_eq!(decode_hex("00AB7fff"), Some(bytes.to_vec()));
        assert_eq!(decode_hex("0"), None);
        assert_eq!(decode_hex("zz"), None);
        assert_eq!(decode_hex("+1"), None);
        assert_eq!(decode_hex("é1"), None);
    }
}
