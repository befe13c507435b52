//! Raw tar writing for tests: unlike `tar::Builder`, it writes any name and entry type, so
//! tests can build the hostile tarballs the reader must refuse. Only with the `testing` feature.

use std::io::Write;

use flate2::{Compression, write::GzEncoder};
use sha2::{Digest, Sha256};

/// One raw tar entry.
#[derive(Debug)]
pub struct Raw<'a> {
    pub name: &'a [u8],
    pub kind: tar::EntryType,
    pub data: &'a [u8],
    pub link: &'a [u8],
}

/// A regular file entry.
pub fn file<'a>(name: &'a [u8], data: &'a [u8]) -> Raw<'a> {
    Raw { name, kind: tar::EntryType::Regular, data, link: b"" }
}

/// A tar of the given entries, with the end-of-archive blocks.
pub fn raw_tar(entries: &[Raw<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let mut header = tar::Header::new_old();
        {
            let old = header.as_old_mut();
            old.name[..e.name.len()].copy_from_slice(e.name);
            old.linkname[..e.link.len()].copy_from_slice(e.link);
        }
        header.set_size(e.data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(946_684_800);
        header.set_entry_type(e.kind);
        header.set_cksum();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(e.data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// Gzips bytes.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// A valid `metadata.config` for a package `evil` 1.0.0.
pub const GOOD_METADATA: &[u8] = b"{<<\"app\">>,<<\"evil\">>}.\n{<<\"name\">>,<<\"evil\">>}.\n\
{<<\"version\">>,<<\"1.0.0\">>}.\n{<<\"requirements\">>,[]}.\n{<<\"build_tools\">>,[<<\"mix\">>]}.\n";

/// An outer tarball around the given parts, with a correct CHECKSUM unless one is given.
pub fn package(version: &[u8], metadata: &[u8], contents: &[u8], checksum: Option<&[u8]>) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(version);
    hasher.update(metadata);
    hasher.update(contents);
    let good: String = hasher.finalize().iter().map(|b| format!("{b:02X}")).collect();
    raw_tar(&[
        file(b"VERSION", version),
        file(b"CHECKSUM", checksum.unwrap_or(good.as_bytes())),
        file(b"metadata.config", metadata),
        file(b"contents.tar.gz", contents),
    ])
}

/// A package whose contents are the given raw entries.
pub fn package_with_contents(entries: &[Raw<'_>]) -> Vec<u8> {
    package(b"3", GOOD_METADATA, &gzip(&raw_tar(entries)), None)
}
