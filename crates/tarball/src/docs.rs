//! Docs tarballs: a gzipped tar of the HTML documentation, checked before it is stored and
//! unpacked in memory to be served.

use hexyard_core::Version;

use crate::read::walk_gzipped_tar;
use crate::{Limits, TarballError};

/// Compression ratios up to this are accepted whatever the size: tar headers and padding of
/// many small files compress far better than the HTML itself.
const RATIO_FREE_BYTES: u64 = 1024 * 1024;

/// A valid docs tarball, unpacked: its regular files in archive order, with their data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Docs {
    pub files: Vec<DocsFile>,
    /// The size of the whole tar stream once decompressed.
    pub unpacked_size: u64,
}

/// One file of a docs tarball.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocsFile {
    /// Normalized relative path (`dist/app.js`).
    pub path: String,
    pub data: Vec<u8>,
}

/// Validates and unpacks a docs tarball: gzip, tar, sizes, the compression ratio, safe relative
/// names, regular files and directories only, an `index.html` at the top, and no top-level
/// entry named like a version (the unversioned copy of the latest docs sits beside the
/// versioned ones, as on hexdocs).
pub fn unpack(bytes: &[u8], limits: &Limits) -> Result<Docs, TarballError> {
    if bytes.is_empty() {
        return Err(TarballError::Empty);
    }
    if bytes.len() as u64 > limits.max_tarball_size {
        return Err(TarballError::TooBig);
    }
    // The ratio bounds the unpacked size as the stream is read, so a bomb is stopped early.
    let by_ratio = limits.max_compression_ratio.saturating_mul(bytes.len() as u64).max(RATIO_FREE_BYTES);
    let bounded = Limits { max_unpacked_size: limits.max_unpacked_size.min(by_ratio), ..*limits };
    let mut files = Vec::new();
    let walked = walk_gzipped_tar(bytes, &bounded, TarballError::InvalidTar, &mut |entry, data| {
        let mut buffer = Vec::with_capacity(entry.size.min(bounded.max_unpacked_size) as usize);
        data.read_to_end(&mut buffer)?;
        files.push(DocsFile { path: entry.path.clone(), data: buffer });
        Ok(())
    });
    let (entries, unpacked_size) = match walked {
        Err(TarballError::UnpackedTooBig { .. }) if by_ratio < limits.max_unpacked_size => {
            return Err(TarballError::CompressionRatio { max: limits.max_compression_ratio });
        }
        other => other?,
    };
    if let Some(entry) = entries.iter().find(|e| Version::parse(top_level(&e.path)).is_ok()) {
        return Err(TarballError::VersionNamedEntry(top_level(&entry.path).to_owned()));
    }
    if !files.iter().any(|f| f.path == "index.html") {
        return Err(TarballError::MissingFiles(vec!["index.html"]));
    }
    Ok(Docs { files, unpacked_size })
}

fn top_level(path: &str) -> &str {
    path.split('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Raw, file, gzip, raw_tar};

    fn unpacked(entries: &[Raw<'_>]) -> Result<Docs, TarballError> {
        unpack(&gzip(&raw_tar(entries)), &Limits::default())
    }

    #[test]
    fn unpacks_files_with_their_data() {
        let docs = unpacked(&[file(b"index.html", b"<h1>hi</h1>"), file(b"dist/app.js", b"run()")]).unwrap();
        let files: Vec<(&str, &[u8])> = docs.files.iter().map(|f| (f.path.as_str(), f.data.as_slice())).collect();
        assert_eq!(files, [("index.html", &b"<h1>hi</h1>"[..]), ("dist/app.js", &b"run()"[..])]);
    }

    #[test]
    fn refuses_what_hexdocs_would_not_serve() {
        assert_eq!(unpacked(&[file(b"readme.html", b"x")]), Err(TarballError::MissingFiles(vec!["index.html"])));
        assert_eq!(unpacked(&[file(b"dist/index.html", b"x")]), Err(TarballError::MissingFiles(vec!["index.html"])));
        assert_eq!(
            unpacked(&[file(b"index.html", b"x"), file(b"1.0.0/index.html", b"x")]),
            Err(TarballError::VersionNamedEntry("1.0.0".into()))
        );
        assert!(unpacked(&[file(b"index.html", b"x"), file(b"v1.0/index.html", b"x")]).is_ok());
    }

    #[test]
    fn refuses_a_gzip_bomb_by_its_ratio() {
        let zeros = vec![0u8; 8 * 1024 * 1024];
        let bomb = gzip(&raw_tar(&[file(b"index.html", b"x"), file(b"zeros.bin", &zeros)]));
        let limits = Limits::default();
        assert!(bomb.len() * 100 < zeros.len(), "the test's tarball is a bomb: {} bytes", bomb.len());
        assert_eq!(unpack(&bomb, &limits), Err(TarballError::CompressionRatio { max: limits.max_compression_ratio }));
        let lenient = Limits { max_compression_ratio: u64::MAX / 2, ..limits };
        assert!(unpack(&bomb, &lenient).is_ok(), "the ratio is what refused it");
    }

    #[test]
    fn refuses_more_than_the_unpacked_limit() {
        let big = vec![7u8; 4096];
        let limits = Limits { max_unpacked_size: 3000, ..Limits::default() };
        let tarball = gzip(&raw_tar(&[file(b"index.html", &big)]));
        assert_eq!(unpack(&tarball, &limits), Err(TarballError::UnpackedTooBig { max: 3000 }));
    }
}
