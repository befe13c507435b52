//! Building package tarballs the way hex_core does: fixed timestamps and owners, a gzip
//! header without a time, `VERSION`, `CHECKSUM`, `metadata.config`, `contents.tar.gz`.

use std::io::Write;

use flate2::{Compression, GzBuilder};
use sha2::{Digest, Sha256};

use crate::Metadata;

/// 2000-01-01T00:00:00Z, the time hex_core gives every entry.
const EPOCH_2000: u64 = 946_684_800;

/// Builds a tarball of `files` (relative path, bytes) with the given metadata. The result is
/// deterministic: the same input always gives the same bytes, hence the same checksums.
pub fn build(metadata: &Metadata, files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let metadata_config = hexyard_term::text::write(&metadata.to_terms()).into_bytes();
    let contents = gzip(&tar(files.iter().map(|(p, d)| (p.as_str(), d.as_slice()))));
    let mut hasher = Sha256::new();
    hasher.update(b"3");
    hasher.update(&metadata_config);
    hasher.update(&contents);
    let checksum = crate::hex_upper(&hasher.finalize());
    tar([
        ("VERSION", b"3".as_slice()),
        ("CHECKSUM", checksum.as_bytes()),
        ("metadata.config", &metadata_config),
        ("contents.tar.gz", &contents),
    ])
}

fn tar<'a>(entries: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data) in entries {
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(EPOCH_2000);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        // append_data writes a GNU long-name entry for paths over 100 bytes
        builder.append_data(&mut header, path, data).expect("writing to a Vec cannot fail");
    }
    builder.into_inner().expect("writing to a Vec cannot fail")
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzBuilder::new().mtime(0).operating_system(0).write(Vec::new(), Compression::default());
    encoder.write_all(data).expect("writing to a Vec cannot fail");
    encoder.finish().expect("writing to a Vec cannot fail")
}
