/// Why an entry name may not be unpacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SafePathError {
    #[error("name is not UTF-8")]
    NotUtf8,
    #[error("name is empty")]
    Empty,
    #[error("name is absolute")]
    Absolute,
    #[error("name points above the package root")]
    ParentDir,
    #[error("name holds a NUL, a backslash or a drive letter")]
    ForbiddenCharacter,
}

/// Checks an entry name of a contents or docs tarball and returns it normalized: relative,
/// `/`-separated, without `.` components or a trailing slash. Names that could land outside
/// the unpack directory on any platform are refused.
pub fn check_entry_path(raw: &[u8]) -> Result<String, SafePathError> {
    let text = std::str::from_utf8(raw).map_err(|_| SafePathError::NotUtf8)?;
    if text.starts_with('/') {
        return Err(SafePathError::Absolute);
    }
    if text.contains(['\0', '\\']) {
        return Err(SafePathError::ForbiddenCharacter);
    }
    let mut parts = Vec::new();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(SafePathError::ParentDir),
            p => parts.push(p),
        }
    }
    let Some(first) = parts.first() else { return Err(SafePathError::Empty) };
    let bytes = first.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err(SafePathError::ForbiddenCharacter);
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_safe_names() {
        assert_eq!(check_entry_path(b"lib/foo.ex"), Ok("lib/foo.ex".into()));
        assert_eq!(check_entry_path(b"./lib//foo.ex"), Ok("lib/foo.ex".into()));
        assert_eq!(check_entry_path(b"dist/"), Ok("dist".into()));
        assert_eq!(check_entry_path(b"a..b/c.."), Ok("a..b/c..".into()));
    }

    #[test]
    fn refuses_unsafe_names() {
        assert_eq!(check_entry_path(b"/etc/passwd"), Err(SafePathError::Absolute));
        assert_eq!(check_entry_path(b"../x"), Err(SafePathError::ParentDir));
        assert_eq!(check_entry_path(b"lib/../../x"), Err(SafePathError::ParentDir));
        assert_eq!(check_entry_path(b"lib/.."), Err(SafePathError::ParentDir));
        assert_eq!(check_entry_path(b""), Err(SafePathError::Empty));
        assert_eq!(check_entry_path(b"./"), Err(SafePathError::Empty));
        assert_eq!(check_entry_path(b"C:/x"), Err(SafePathError::ForbiddenCharacter));
        assert_eq!(check_entry_path(b"a\\..\\b"), Err(SafePathError::ForbiddenCharacter));
        assert_eq!(check_entry_path(b"a\0b"), Err(SafePathError::ForbiddenCharacter));
        assert_eq!(check_entry_path(b"caf\xe9"), Err(SafePathError::NotUtf8));
    }
}
