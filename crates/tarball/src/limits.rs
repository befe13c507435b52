/// Size limits applied while reading a tarball. The defaults are hex_core's, so that whatever
/// the server accepts, every client can download and unpack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The whole tarball as uploaded (hex_core `tarball_max_size`).
    pub max_tarball_size: u64,
    /// All contents once decompressed (hex_core `tarball_max_uncompressed_size`).
    pub max_unpacked_size: u64,
    /// `metadata.config`.
    pub max_metadata_size: u64,
    /// Entries of `contents.tar.gz` (or of a docs tarball).
    pub max_entries: usize,
    /// Unpacked size over compressed size, for docs tarballs past their first MiB: a gzip bomb
    /// is refused by its ratio long before it reaches `max_unpacked_size`.
    pub max_compression_ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_tarball_size: 16 * 1024 * 1024,
            max_unpacked_size: 128 * 1024 * 1024,
            max_metadata_size: 1024 * 1024,
            max_entries: 50_000,
            max_compression_ratio: 100,
        }
    }
}
