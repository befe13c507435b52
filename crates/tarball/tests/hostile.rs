//! Hostile and broken tarballs: each one gives a typed error, never a panic.

mod common;

use common::*;
use hexyard_tarball::testing::*;
use hexyard_tarball::{Limits, SafePathError, TarballError, docs, read};

fn refuse(bytes: &[u8]) -> TarballError {
    read(bytes, &Limits::default()).expect_err("must be refused")
}

#[test]
fn path_traversal_and_absolute_paths() {
    let e = refuse(&package_with_contents(&[file(b"../../etc/cron.d/x", b"boom")]));
    assert!(matches!(e, TarballError::UnsafePath { reason: SafePathError::ParentDir, .. }), "{e}");
    let e = refuse(&package_with_contents(&[file(b"lib/../../x", b"boom")]));
    assert!(matches!(e, TarballError::UnsafePath { reason: SafePathError::ParentDir, .. }), "{e}");
    let e = refuse(&package_with_contents(&[file(b"/etc/passwd", b"boom")]));
    assert!(matches!(e, TarballError::UnsafePath { reason: SafePathError::Absolute, .. }), "{e}");
}

#[test]
fn links_and_devices() {
    let link = |kind| Raw { name: b"lib/x", kind, data: b"", link: b"/etc/passwd" };
    for (kind, name) in [
        (tar::EntryType::Symlink, "symlink"),
        (tar::EntryType::Link, "hard link"),
        (tar::EntryType::Char, "character device"),
        (tar::EntryType::Block, "block device"),
        (tar::EntryType::Fifo, "fifo"),
    ] {
        let e = refuse(&package_with_contents(&[link(kind)]));
        assert_eq!(e, TarballError::UnsupportedEntry { path: "lib/x".into(), kind: name });
    }
}

#[test]
fn duplicate_entries() {
    let e = refuse(&package_with_contents(&[file(b"lib/a.ex", b"1"), file(b"./lib/a.ex", b"2")]));
    assert_eq!(e, TarballError::DuplicatePath("lib/a.ex".into()));
    let mut outer = package(b"3", GOOD_METADATA, &gzip(&raw_tar(&[])), None);
    // a second VERSION member after the first four
    outer.truncate(outer.len() - 1024);
    outer.extend(raw_tar(&[file(b"VERSION", b"3")]));
    assert_eq!(refuse(&outer), TarballError::DuplicateMember("VERSION".into()));
}

#[test]
fn bad_checksum_and_version() {
    let contents = gzip(&raw_tar(&[file(b"lib/a.ex", b"1")]));
    let bad = package(b"3", GOOD_METADATA, &contents, Some(&[b'A'; 64]));
    assert!(matches!(refuse(&bad), TarballError::ChecksumMismatch { .. }));
    let garbage = package(b"3", GOOD_METADATA, &contents, Some(b"not hex"));
    assert_eq!(refuse(&garbage), TarballError::InvalidChecksum);
    assert_eq!(refuse(&package(b"2", GOOD_METADATA, &contents, None)), TarballError::BadVersion("2".into()));
    assert_eq!(refuse(&package(b"3\n", GOOD_METADATA, &contents, None)), TarballError::BadVersion("3\n".into()));
}

#[test]
fn lowercase_checksum_is_accepted() {
    let contents = gzip(&raw_tar(&[file(b"lib/a.ex", b"1")]));
    let upper = package(b"3", GOOD_METADATA, &contents, None);
    let p = read(&upper, &Limits::default()).unwrap();
    let lower = hexyard_tarball::hex_lower(&p.inner_checksum);
    assert!(read(&package(b"3", GOOD_METADATA, &contents, Some(lower.as_bytes())), &Limits::default()).is_ok());
}

#[test]
fn truncated_and_corrupt_gzip() {
    let contents = gzip(&raw_tar(&[file(b"lib/a.ex", &[7u8; 5000])]));
    for cut in [10, contents.len() / 2, contents.len() - 4] {
        let e = refuse(&package(b"3", GOOD_METADATA, &contents[..cut], None));
        assert!(matches!(e, TarballError::InvalidContents(_)), "cut at {cut}: {e}");
    }
    let e = refuse(&package(b"3", GOOD_METADATA, b"not gzip at all", None));
    assert!(matches!(e, TarballError::InvalidContents(_)), "{e}");
    // a truncated outer tar
    let whole = package(b"3", GOOD_METADATA, &contents, None);
    assert!(read(&whole[..700], &Limits::default()).is_err());
}

#[test]
fn gzip_bomb_past_the_unpacked_limit() {
    let limits = Limits::default();
    // 129 MiB of zeros in one file: about 130 KiB compressed
    let zeros = vec![0u8; (limits.max_unpacked_size + (1 << 20)) as usize];
    let bomb = gzip(&raw_tar(&[file(b"lib/zeros", &zeros)]));
    drop(zeros);
    assert!(bomb.len() < 1 << 20);
    let e = refuse(&package(b"3", GOOD_METADATA, &bomb, None));
    assert_eq!(e, TarballError::UnpackedTooBig { max: limits.max_unpacked_size });
    // a docs tarball is stopped sooner, by its compression ratio
    let e = docs::unpack(&bomb, &limits).unwrap_err();
    assert_eq!(e, TarballError::CompressionRatio { max: limits.max_compression_ratio });
}

#[test]
fn metadata_bombs() {
    let contents = gzip(&raw_tar(&[file(b"lib/a.ex", b"1")]));
    let mut huge = GOOD_METADATA.to_vec();
    huge.extend(std::iter::repeat_n(b' ', 1024 * 1024));
    assert_eq!(
        refuse(&package(b"3", &huge, &contents, None)),
        TarballError::MemberTooBig { member: "metadata.config" }
    );
    let deep = format!("{{<<\"extra\">>,{}{}}}.", "[".repeat(10_000), "]".repeat(10_000));
    let e = refuse(&package(b"3", deep.as_bytes(), &contents, None));
    assert!(matches!(e, TarballError::MetadataSyntax(ref m) if m.contains("deeper")), "{e}");
}

#[test]
fn bad_metadata_gives_field_errors() {
    let contents = gzip(&raw_tar(&[file(b"lib/a.ex", b"1")]));
    let meta = b"{<<\"name\">>,<<\"Bad-Name\">>}.\n{<<\"version\">>,<<\"1.0\">>}.\n\
        {<<\"requirements\">>,[{<<\"dep\">>,[{<<\"requirement\">>,<<\"!= 1.0.0\">>}]},\
        {<<\"other\">>,[{<<\"requirement\">>,<<\"nil\">>},{<<\"optional\">>,maybe}]}]}.\n";
    let TarballError::Metadata(errors) = refuse(&package(b"3", meta, &contents, None)) else { panic!() };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "name",
            "version",
            "app",
            "requirements.dep.requirement",
            "requirements.other.requirement",
            "requirements.other.optional"
        ]
    );
    assert!(errors[4].message.contains(">= 0.0.0"));
    let e = refuse(&package(b"3", b"[1,2].\n", &contents, None));
    assert_eq!(e, TarballError::MetadataSyntax("not in key-value format".into()));
    let e = refuse(&package(b"3", b"{<<\"a\">>, 1.5}.", &contents, None));
    assert!(matches!(e, TarballError::MetadataSyntax(ref m) if m.contains("floats")), "{e}");
}

#[test]
fn non_utf8_names() {
    let e = refuse(&package_with_contents(&[file(b"lib/caf\xe9.ex", b"1")]));
    assert!(matches!(e, TarballError::UnsafePath { reason: SafePathError::NotUtf8, .. }), "{e}");
}

#[test]
fn missing_members() {
    let contents = gzip(&raw_tar(&[]));
    let only = |entries: &[Raw<'_>]| refuse(&raw_tar(entries));
    assert_eq!(only(&[file(b"CHECKSUM", b"x")]), TarballError::MissingFiles(vec!["VERSION"]));
    assert_eq!(
        only(&[file(b"VERSION", b"3"), file(b"contents.tar.gz", &contents)]),
        TarballError::MissingFiles(vec!["CHECKSUM", "metadata.config"])
    );
    assert_eq!(refuse(&[]), TarballError::Empty);
    let dir = Raw { name: b"VERSION", kind: tar::EntryType::Directory, data: b"", link: b"" };
    assert_eq!(only(&[dir]), TarballError::NotAFile { member: "VERSION".into() });
}

#[test]
fn too_big_and_too_many() {
    let limits = Limits { max_tarball_size: 4096, max_entries: 3, ..Limits::default() };
    let big = package_with_contents(&[file(b"lib/a", &[1u8; 8192])]);
    assert!(matches!(read(&big, &limits), Err(TarballError::TooBig)));
    let limits = Limits { max_entries: 3, ..Limits::default() };
    let many = package_with_contents(&[file(b"a", b""), file(b"b", b""), file(b"c", b""), file(b"d", b"")]);
    assert!(matches!(read(&many, &limits), Err(TarballError::TooManyEntries { max: 3 })));
}

#[test]
fn garbage_never_panics() {
    // every prefix and a few bit flips of a real tarball
    let real = fixture("bar-1.2.0-rc.1.tar");
    for cut in (0..real.len()).step_by(97) {
        let _ = read(&real[..cut], &Limits::default());
    }
    for i in (0..real.len()).step_by(13) {
        let mut flipped = real.clone();
        flipped[i] ^= 0x5a;
        let _ = read(&flipped, &Limits::default());
    }
}
