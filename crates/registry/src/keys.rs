//! RSA keys of a repository. Signing uses ring (RSASSA-PKCS1-v1_5, SHA-512); key generation
//! and PEM handling use the `rsa` crate, which never signs here.

use std::fmt;

use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_2048_8192_SHA512, RSA_PKCS1_SHA512, RsaKeyPair, UnparsedPublicKey};
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey, EncodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};

/// The size of generated keys.
pub const GENERATED_KEY_BITS: usize = 2048;
/// The sizes every client accepts (Gleam's verifier takes 2048 to 8192 bits).
pub const KEY_BITS: std::ops::RangeInclusive<usize> = 2048..=8192;

/// Why a key could not be loaded or made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not an RSA private key in PEM (PKCS#1 or PKCS#8)")]
    BadPrivateKey,
    #[error("not an RSA public key in PEM (SubjectPublicKeyInfo or PKCS#1)")]
    BadPublicKey,
    #[error("RSA keys must have 2048 to 8192 bits, this one has {0}")]
    BadSize(usize),
    #[error("generating a key failed: {0}")]
    Generate(String),
}

/// A repository's private key.
pub struct SigningKey {
    pair: RsaKeyPair,
    private: RsaPrivateKey,
    public: VerifyingKey,
}

/// A repository's public key, as clients are given it.
#[derive(Clone)]
pub struct VerifyingKey {
    key: RsaPublicKey,
    pkcs1_der: Vec<u8>,
}

impl SigningKey {
    /// Makes a new 2048-bit key.
    pub fn generate() -> Result<Self, KeyError> {
        let mut rng = rsa::rand_core::OsRng;
        let private =
            RsaPrivateKey::new(&mut rng, GENERATED_KEY_BITS).map_err(|e| KeyError::Generate(e.to_string()))?;
        Self::from_private(private)
    }

    /// Loads a PEM private key: `BEGIN RSA PRIVATE KEY` (PKCS#1) or `BEGIN PRIVATE KEY` (PKCS#8).
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let private = RsaPrivateKey::from_pkcs1_pem(pem)
            .or_else(|_| RsaPrivateKey::from_pkcs8_pem(pem))
            .map_err(|_| KeyError::BadPrivateKey)?;
        Self::from_private(private)
    }

    fn from_private(private: RsaPrivateKey) -> Result<Self, KeyError> {
        let bits = private.size() * 8;
        if !KEY_BITS.contains(&bits) {
            return Err(KeyError::BadSize(bits));
        }
        let der = private.to_pkcs1_der().map_err(|_| KeyError::BadPrivateKey)?;
        let pair = RsaKeyPair::from_der(der.as_bytes()).map_err(|_| KeyError::BadPrivateKey)?;
        let public = VerifyingKey::from_rsa(RsaPublicKey::from(&private))?;
        Ok(SigningKey { pair, private, public })
    }

    /// The key as PKCS#8 PEM (`BEGIN PRIVATE KEY`), for keeping in a file.
    pub fn to_pem(&self) -> String {
        self.private.to_pkcs8_pem(LineEnding::LF).map(|pem| pem.to_string()).expect("an RSA key always encodes")
    }

    /// RSASSA-PKCS1-v1_5 with SHA-512 over `payload`.
    pub fn sign(&self, payload: &[u8]) -> Vec<u8> {
        let mut signature = vec![0; self.pair.public().modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA512, &SystemRandom::new(), payload, &mut signature)
            .expect("signing with a valid key and a correctly sized buffer");
        signature
    }

    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.public
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey").field("public", &self.public.fingerprint()).finish_non_exhaustive()
    }
}

impl VerifyingKey {
    /// Loads a PEM public key: `BEGIN PUBLIC KEY` (SubjectPublicKeyInfo) or
    /// `BEGIN RSA PUBLIC KEY` (PKCS#1, as `mix hex.registry build` writes it).
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let key = RsaPublicKey::from_public_key_pem(pem.trim())
            .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem.trim()))
            .map_err(|_| KeyError::BadPublicKey)?;
        Self::from_rsa(key)
    }

    fn from_rsa(key: RsaPublicKey) -> Result<Self, KeyError> {
        let bits = key.size() * 8;
        if !KEY_BITS.contains(&bits) {
            return Err(KeyError::BadSize(bits));
        }
        let pkcs1_der = key.to_pkcs1_der().map_err(|_| KeyError::BadPublicKey)?.into_vec();
        Ok(VerifyingKey { key, pkcs1_der })
    }

    /// PEM `BEGIN PUBLIC KEY` (SubjectPublicKeyInfo): the one form every client accepts.
    pub fn to_pem(&self) -> String {
        self.key.to_public_key_pem(LineEnding::LF).expect("an RSA key always encodes")
    }

    /// Whether `signature` is this key's RSASSA-PKCS1-v1_5 SHA-512 signature of `payload`.
    pub fn verify(&self, payload: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA512, &self.pkcs1_der).verify(payload, signature).is_ok()
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        self.key.size() * 8
    }

    /// The SSH-style SHA-256 fingerprint (`SHA256:…`), what
    /// `mix hex.repo add NAME URL --fetch-public-key FINGERPRINT` compares against.
    pub fn fingerprint(&self) -> String {
        let mut wire = Vec::new();
        let mut put = |bytes: &[u8]| {
            wire.extend((bytes.len() as u32).to_be_bytes());
            wire.extend(bytes);
        };
        put(b"ssh-rsa");
        put(&mpint(&self.key.e().to_bytes_be()));
        put(&mpint(&self.key.n().to_bytes_be()));
        let digest = ring::digest::digest(&ring::digest::SHA256, &wire);
        format!("SHA256:{}", base64_unpadded(digest.as_ref()))
    }
}

impl PartialEq for VerifyingKey {
    fn eq(&self, other: &Self) -> bool {
        self.pkcs1_der == other.pkcs1_der
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyingKey({})", self.fingerprint())
    }
}

/// An SSH mpint body: big-endian, with a zero byte in front when the top bit is set.
fn mpint(be: &[u8]) -> Vec<u8> {
    let trimmed = &be[be.iter().take_while(|&&b| b == 0).count()..];
    let mut out = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_some_and(|&b| b & 0x80 != 0) {
        out.push(0);
    }
    out.extend(trimmed);
    out
}

fn base64_unpadded(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_unpadded(input.as_bytes()), want);
        }
    }

    #[test]
    fn mpint_pads_high_bit() {
        assert_eq!(mpint(&[0x80, 1]), [0, 0x80, 1]);
        assert_eq!(mpint(&[0, 0, 0x7f]), [0x7f]);
        assert_eq!(mpint(&[1, 0, 1]), [1, 0, 1]);
    }
}
