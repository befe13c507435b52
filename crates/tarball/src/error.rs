use crate::SafePathError;

/// Why a tarball was refused. The messages follow hex_core's `format_error`, since that is
/// what hex.pm answers under `errors.tar`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TarballError {
    #[error("empty tarball")]
    Empty,
    #[error("tarball is too big")]
    TooBig,
    #[error("package exceeds max uncompressed size {max} bytes")]
    UnpackedTooBig { max: u64 },
    #[error("package has more than {max} entries")]
    TooManyEntries { max: usize },
    #[error("invalid tarball: {0}")]
    InvalidTar(String),
    #[error("error reading inner tarball: {0}")]
    InvalidContents(String),
    #[error("missing files: {}", .0.join(", "))]
    MissingFiles(Vec<&'static str>),
    #[error("duplicate file in tarball: {0}")]
    DuplicateMember(String),
    #[error("{member} must be a regular file")]
    NotAFile { member: String },
    #[error("{member} is too big")]
    MemberTooBig { member: &'static str },
    #[error("unsupported version: {0:?}")]
    BadVersion(String),
    #[error("invalid tarball checksum")]
    InvalidChecksum,
    #[error("tarball checksum mismatch\n\nExpected (base16-encoded): {expected}\nActual   (base16-encoded): {actual}")]
    ChecksumMismatch { expected: String, actual: String },
    #[error("error reading package metadata: {0}")]
    MetadataSyntax(String),
    #[error("error reading package metadata: {}", FieldError::join(.0))]
    Metadata(Vec<FieldError>),
    #[error("unsafe path in contents: {path:?}: {reason}")]
    UnsafePath { path: String, reason: SafePathError },
    #[error("duplicate path in contents: {0}")]
    DuplicatePath(String),
    #[error("unsupported entry type in contents: {path} is a {kind}")]
    UnsupportedEntry { path: String, kind: &'static str },
    #[error("compression ratio over {max}:1")]
    CompressionRatio { max: u64 },
    #[error("a top-level entry may not be named like a version: {0}")]
    VersionNamedEntry(String),
}

/// A problem with one metadata field, named by its path (`requirements.foo.requirement`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { field: field.into(), message: message.into() }
    }

    fn join(errors: &[FieldError]) -> String {
        errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join(", ")
    }
}
