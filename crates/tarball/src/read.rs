//! Reading and validating a package tarball, in memory.

use std::collections::HashSet;
use std::io::{self, Read};

use flate2::read::GzDecoder;
use sha2::{Digest, Sha256};

use crate::{Checksum, Limits, Metadata, TarballError, check_entry_path, decode_hex};

const VERSION: &str = "VERSION";
const CHECKSUM: &str = "CHECKSUM";
const METADATA: &str = "metadata.config";
const CONTENTS: &str = "contents.tar.gz";

/// A valid package tarball.
#[derive(Debug, Clone)]
pub struct Package {
    pub metadata: Metadata,
    /// SHA-256 of `VERSION ++ metadata.config ++ contents.tar.gz`, as `CHECKSUM` declares.
    pub inner_checksum: Checksum,
    /// SHA-256 of the whole tarball.
    pub outer_checksum: Checksum,
    /// `metadata.config` as the client wrote it.
    pub metadata_config: Vec<u8>,
    /// The entries of `contents.tar.gz`, in archive order.
    pub contents: Vec<ContentEntry>,
}

/// One file or directory of the package contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentEntry {
    /// Normalized relative path.
    pub path: String,
    pub size: u64,
    pub is_dir: bool,
    pub mode: u32,
}

/// Reads and validates a package tarball: the four members, `VERSION` "3", the inner checksum,
/// the metadata, and every entry of the contents (safe relative names, regular files and
/// directories only, no duplicates, within `limits`).
pub fn read(bytes: &[u8], limits: &Limits) -> Result<Package, TarballError> {
    if bytes.is_empty() {
        return Err(TarballError::Empty);
    }
    if bytes.len() as u64 > limits.max_tarball_size {
        return Err(TarballError::TooBig);
    }
    let members = read_members(bytes, limits)?;
    let version = members.version.ok_or(TarballError::MissingFiles(vec![VERSION]))?;
    let missing: Vec<&'static str> = [
        (CHECKSUM, members.checksum.is_none()),
        (METADATA, members.metadata.is_none()),
        (CONTENTS, members.contents.is_none()),
    ]
    .into_iter()
    .filter_map(|(name, missing)| missing.then_some(name))
    .collect();
    if !missing.is_empty() {
        return Err(TarballError::MissingFiles(missing));
    }
    let (checksum, metadata_config, contents) = (
        members.checksum.unwrap_or_default(),
        members.metadata.unwrap_or_default(),
        members.contents.unwrap_or_default(),
    );

    if version != b"3" {
        return Err(TarballError::BadVersion(String::from_utf8_lossy(&version).into_owned()));
    }
    let declared: Checksum = std::str::from_utf8(&checksum)
        .ok()
        .and_then(|text| decode_hex(text.trim()))
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(TarballError::InvalidChecksum)?;
    let mut hasher = Sha256::new();
    hasher.update(&version);
    hasher.update(&metadata_config);
    hasher.update(&contents);
    let actual: Checksum = hasher.finalize().into();
    if actual != declared {
        return Err(TarballError::ChecksumMismatch {
            expected: crate::hex_upper(&declared),
            actual: crate::hex_upper(&actual),
        });
    }

    let terms = hexyard_term::text::parse(&metadata_config).map_err(|e| TarballError::MetadataSyntax(e.to_string()))?;
    let metadata = Metadata::from_terms(&terms)?;
    let contents = read_contents(&contents, limits)?;

    Ok(Package {
        metadata,
        inner_checksum: declared,
        outer_checksum: Sha256::digest(bytes).into(),
        metadata_config,
        contents,
    })
}

#[derive(Default)]
struct Members {
    version: Option<Vec<u8>>,
    checksum: Option<Vec<u8>>,
    metadata: Option<Vec<u8>>,
    contents: Option<Vec<u8>>,
}

fn tar_error(e: io::Error) -> TarballError {
    TarballError::InvalidTar(describe(&e))
}

/// A short description of a read error. The tar crate's own messages can quote header bytes,
/// which would echo the upload back in an API error.
fn describe(e: &io::Error) -> String {
    let text = e.to_string().to_ascii_lowercase();
    if e.kind() == io::ErrorKind::UnexpectedEof {
        "unexpected end of data".into()
    } else if ["gzip", "deflate", "crc", "corrupt"].iter().any(|w| text.contains(w)) {
        "corrupt gzip data".into()
    } else {
        "malformed tar archive".into()
    }
}

/// The four members of the outer tar. Unknown extra members are skipped, as hex_core does.
fn read_members(bytes: &[u8], limits: &Limits) -> Result<Members, TarballError> {
    let mut members = Members::default();
    let mut archive = tar::Archive::new(bytes);
    for entry in archive.entries().map_err(tar_error)? {
        let mut entry = entry.map_err(tar_error)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let (slot, max, member) = match name.as_str() {
            VERSION => (&mut members.version, 32, VERSION),
            CHECKSUM => (&mut members.checksum, 128, CHECKSUM),
            METADATA => (&mut members.metadata, limits.max_metadata_size, METADATA),
            CONTENTS => (&mut members.contents, limits.max_tarball_size, CONTENTS),
            _ => continue,
        };
        if slot.is_some() {
            return Err(TarballError::DuplicateMember(name));
        }
        if !matches!(entry.header().entry_type(), tar::EntryType::Regular | tar::EntryType::Continuous) {
            return Err(TarballError::NotAFile { member: name });
        }
        let size = entry.header().entry_size().map_err(tar_error)?;
        if size > max {
            return Err(TarballError::MemberTooBig { member });
        }
        let mut data = Vec::with_capacity(size as usize);
        entry.read_to_end(&mut data).map_err(tar_error)?;
        *slot = Some(data);
    }
    Ok(members)
}

/// Counts what passes through, and fails once more than `max` bytes have.
struct Limited<R> {
    inner: R,
    read: u64,
    max: u64,
    exceeded: bool,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.max {
            self.exceeded = true;
            return Err(io::Error::other("unpacked size limit"));
        }
        Ok(n)
    }
}

/// What a walk hands each regular file: its entry and a reader of its data.
pub(crate) type OnFile<'a> = &'a mut dyn FnMut(&ContentEntry, &mut dyn Read) -> io::Result<()>;

/// Walks a gzipped tar in memory and checks every entry, giving each regular file to `on_file`;
/// shared with docs tarballs. Returns the entries and the unpacked size of the whole stream.
pub(crate) fn walk_gzipped_tar(
    gz: &[u8],
    limits: &Limits,
    invalid: fn(String) -> TarballError,
    on_file: OnFile<'_>,
) -> Result<(Vec<ContentEntry>, u64), TarballError> {
    let mut limited = Limited { inner: GzDecoder::new(gz), read: 0, max: limits.max_unpacked_size, exceeded: false };
    let result = walk(&mut limited, limits, invalid, on_file);
    let result = result.and_then(|entries| {
        // Read to the end of the gzip stream, so a truncated or corrupt trailer is caught.
        io::copy(&mut limited, &mut io::sink()).map_err(|e| invalid(describe(&e)))?;
        Ok(entries)
    });
    match result {
        Err(_) if limited.exceeded => Err(TarballError::UnpackedTooBig { max: limits.max_unpacked_size }),
        other => other.map(|entries| (entries, limited.read)),
    }
}

fn walk<R: Read>(
    reader: &mut R,
    limits: &Limits,
    invalid: fn(String) -> TarballError,
    on_file: OnFile<'_>,
) -> Result<Vec<ContentEntry>, TarballError> {
    let mut archive = tar::Archive::new(reader);
    let mut seen = HashSet::new();
    let mut entries = Vec::new();
    for entry in archive.entries().map_err(|e| invalid(describe(&e)))? {
        let mut entry = entry.map_err(|e| invalid(describe(&e)))?;
        let header = entry.header();
        let raw_path = entry.path_bytes();
        let kind = match header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => false,
            tar::EntryType::Directory => true,
            // pax headers carry attributes of the entries that follow; nothing to unpack
            tar::EntryType::XHeader | tar::EntryType::XGlobalHeader => continue,
            other => {
                return Err(TarballError::UnsupportedEntry {
                    path: String::from_utf8_lossy(&raw_path).into_owned(),
                    kind: entry_kind(other),
                });
            }
        };
        let path = check_entry_path(&raw_path).map_err(|reason| TarballError::UnsafePath {
            path: String::from_utf8_lossy(&raw_path).into_owned(),
            reason,
        })?;
        if !seen.insert(path.clone()) {
            return Err(TarballError::DuplicatePath(path));
        }
        if entries.len() >= limits.max_entries {
            return Err(TarballError::TooManyEntries { max: limits.max_entries });
        }
        let size = header.entry_size().map_err(|e| invalid(describe(&e)))?;
        let mode = header.mode().map_err(|e| invalid(describe(&e)))?;
        let content = ContentEntry { path, size, is_dir: kind, mode };
        if !content.is_dir {
            on_file(&content, &mut entry).map_err(|e| invalid(describe(&e)))?;
        }
        entries.push(content);
    }
    Ok(entries)
}

fn read_contents(contents: &[u8], limits: &Limits) -> Result<Vec<ContentEntry>, TarballError> {
    let (entries, _) = walk_gzipped_tar(contents, limits, TarballError::InvalidContents, &mut |_, _| Ok(()))?;
    Ok(entries)
}

fn entry_kind(kind: tar::EntryType) -> &'static str {
    match kind {
        tar::EntryType::Symlink => "symlink",
        tar::EntryType::Link => "hard link",
        tar::EntryType::Char => "character device",
        tar::EntryType::Block => "block device",
        tar::EntryType::Fifo => "fifo",
        tar::EntryType::GNUSparse => "sparse file",
        tar::EntryType::GNULongName | tar::EntryType::GNULongLink => "long name header",
        _ => "special file",
    }
}
