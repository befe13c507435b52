//! Signing and gzipping resources, and the reverse with every check a client makes.

use std::io::{Read, Write};

use flate2::{Compression, GzBuilder, bufread::GzDecoder};
use prost::Message;

use crate::proto;
use crate::{SigningKey, VerifyingKey};

/// The largest resource this crate will gunzip. hex.pm's `/versions` is a few MiB.
pub const MAX_RESOURCE_SIZE: u64 = 256 * 1024 * 1024;

/// Why a resource was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("resource is not gzip: {0}")]
    Gzip(String),
    #[error("resource is larger than {MAX_RESOURCE_SIZE} bytes unpacked")]
    TooLarge,
    #[error("resource is not a valid protobuf message: {0}")]
    Protobuf(String),
    #[error("resource has no signature")]
    MissingSignature,
    #[error("resource signature does not verify")]
    BadSignature,
    #[error("resource belongs to repository {found:?}, expected {expected:?}")]
    WrongRepository { expected: String, found: String },
    #[error("resource is for package {found:?}, expected {expected:?}")]
    WrongName { expected: String, found: String },
}

/// Encodes `message`, wraps it in a signed envelope, and gzips that, as clients fetch it.
pub fn sign_and_gzip(message: &impl Message, key: &SigningKey) -> Vec<u8> {
    let payload = message.encode_to_vec();
    let signature = key.sign(&payload);
    let signed = proto::signed::Signed { payload, signature: Some(signature) };
    // the large index resources are rebuilt often: a fast level keeps that cheap, at a few
    // per cent of size; small package resources get the default
    let level = if signed.payload.len() > 64 * 1024 { Compression::fast() } else { Compression::default() };
    let mut gz = GzBuilder::new().mtime(0).write(Vec::new(), level);
    gz.write_all(&signed.encode_to_vec()).expect("writing to a Vec cannot fail");
    gz.finish().expect("writing to a Vec cannot fail")
}

/// Gunzips, decodes the envelope and verifies it; returns the payload bytes. The gzip stream
/// must end where the bytes end: anything after it (another gzip member a client's gunzip might
/// decode too) would be served unverified.
pub fn verified_payload(gzipped: &[u8], key: &VerifyingKey) -> Result<Vec<u8>, RegistryError> {
    let mut bytes = Vec::new();
    let mut decoder = GzDecoder::new(gzipped);
    (&mut decoder)
        .take(MAX_RESOURCE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| RegistryError::Gzip(e.to_string()))?;
    if bytes.len() as u64 > MAX_RESOURCE_SIZE {
        return Err(RegistryError::TooLarge);
    }
    if !decoder.into_inner().is_empty() {
        return Err(RegistryError::Gzip("bytes after the end of the gzip stream".into()));
    }
    let signed = proto::signed::Signed::decode(bytes.as_slice()).map_err(|e| RegistryError::Protobuf(e.to_string()))?;
    let signature = signed.signature.ok_or(RegistryError::MissingSignature)?;
    if !key.verify(&signed.payload, &signature) {
        return Err(RegistryError::BadSignature);
    }
    Ok(signed.payload)
}

fn check_repository(expected: &str, found: &str) -> Result<(), RegistryError> {
    if expected == found {
        Ok(())
    } else {
        Err(RegistryError::WrongRepository { expected: expected.to_owned(), found: found.to_owned() })
    }
}

fn decode<M: Message + Default>(payload: &[u8]) -> Result<M, RegistryError> {
    M::decode(payload).map_err(|e| RegistryError::Protobuf(e.to_string()))
}

/// A verified `/names` of `repository`.
pub fn decode_names(
    gzipped: &[u8],
    key: &VerifyingKey,
    repository: &str,
) -> Result<proto::names::Names, RegistryError> {
    let names: proto::names::Names = decode(&verified_payload(gzipped, key)?)?;
    check_repository(repository, &names.repository)?;
    Ok(names)
}

/// A verified `/versions` of `repository`.
pub fn decode_versions(
    gzipped: &[u8],
    key: &VerifyingKey,
    repository: &str,
) -> Result<proto::versions::Versions, RegistryError> {
    let versions: proto::versions::Versions = decode(&verified_payload(gzipped, key)?)?;
    check_repository(repository, &versions.repository)?;
    Ok(versions)
}

/// A verified `/packages/NAME` of `repository`.
pub fn decode_package(
    gzipped: &[u8],
    key: &VerifyingKey,
    repository: &str,
    name: &str,
) -> Result<proto::package::Package, RegistryError> {
    let package: proto::package::Package = decode(&verified_payload(gzipped, key)?)?;
    check_repository(repository, &package.repository)?;
    if package.name != name {
        return Err(RegistryError::WrongName { expected: name.to_owned(), found: package.name });
    }
    Ok(package)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_after_the_gzip_stream_are_refused() {
        let key = SigningKey::generate().unwrap();
        let names = crate::build::names("hexpm", &[]);
        let mut body = sign_and_gzip(&names, &key);
        assert!(decode_names(&body, key.verifying_key(), "hexpm").is_ok());
        // a second member, itself signed, appended
        body.extend_from_slice(&sign_and_gzip(&names, &key));
        assert!(matches!(decode_names(&body, key.verifying_key(), "hexpm"), Err(RegistryError::Gzip(_))));
    }
}
