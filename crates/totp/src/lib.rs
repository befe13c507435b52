//! Two-factor authentication, with no I/O: TOTP codes (RFC 6238: SHA-1, 6 digits, 30 s, one
//! step of skew, as every authenticator app does), the rule for a code used twice, recovery
//! codes, a QR code of the enrolment URL as SVG, and secrets sealed at rest with AES-256-GCM
//! under a key derived from the server secret.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use totp_rs::{Builder, Totp};

/// What went wrong with a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    #[error("invalid TOTP secret")]
    InvalidSecret,
    #[error("a sealed secret could not be opened")]
    Unseal,
}

/// A new 160-bit secret, the size RFC 4226 recommends.
pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; 20];
    SystemRandom::new().fill(&mut secret).expect("the system random source");
    secret
}

fn totp(secret: &[u8], account: &str) -> Result<Totp, TotpError> {
    Builder::new()
        .with_secret(secret.to_vec())
        .with_account_name(account.replace(':', ""))
        .with_issuer(Some("hexyard"))
        .build()
        .map_err(|_| TotpError::InvalidSecret)
}

/// The time step a code belongs to, if it is valid at `unix_time` (one step either side).
pub fn verify(secret: &[u8], code: &str, unix_time: u64) -> Option<u64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    totp(secret, "user").ok()?.check(code, unix_time)
}

/// The code at a time: what the user's app shows.
pub fn code_at(secret: &[u8], unix_time: u64) -> Result<String, TotpError> {
    Ok(totp(secret, "user")?.generate(unix_time).to_string())
}

/// The base32 form users can type into an app.
pub fn base32(secret: &[u8]) -> String {
    totp_rs::Secret::from(secret.to_vec()).to_base32()
}

/// A secret from its base32 form.
pub fn from_base32(text: &str) -> Option<Vec<u8>> {
    totp_rs::Secret::try_from_base32(text.trim()).ok().map(|s| s.as_bytes().to_vec())
}

/// The `otpauth://` URL an authenticator app reads from the QR code.
pub fn otpauth_url(secret: &[u8], account: &str) -> Result<String, TotpError> {
    totp(secret, account)?.to_url().map_err(|_| TotpError::InvalidSecret)
}

/// A QR code of `text` as an SVG document, drawn here (no image service is involved).
pub fn qr_svg(text: &str) -> String {
    let qr = qrcodegen::QrCode::encode_text(text, qrcodegen::QrCodeEcc::Medium).expect("an otpauth URL fits a QR code");
    let border = 4;
    let size = qr.size() + 2 * border;
    let mut path = String::new();
    for y in 0..qr.size() {
        for x in 0..qr.size() {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + border, y + border));
            }
        }
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" width=\"240\" height=\"240\" \
         shape-rendering=\"crispEdges\"><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    )
}

/// What to do with a valid code, given the last use of a code on this account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeUse {
    /// A step never used before: accept and remember it.
    Fresh,
    /// The step last used, by the same holder (one CLI run reusing its code): accept.
    SameHolder,
    /// An older step, or the last one from someone else: refuse.
    Replay,
}

/// The replay rule: a code is single use, except that the holder (an OAuth token, a session)
/// that used it may use it again within its window — mix sends one code with the publish, the
/// docs upload and the owner call of a run.
pub fn classify(step: u64, last: Option<(u64, &str)>, holder: &str) -> CodeUse {
    match last {
        None => CodeUse::Fresh,
        Some((last_step, _)) if step > last_step => CodeUse::Fresh,
        Some((last_step, last_holder)) if step == last_step && last_holder == holder => CodeUse::SameHolder,
        Some(_) => CodeUse::Replay,
    }
}

/// Ten single-use recovery codes, `xxxx-xxxx-xxxx-xxxx` in lowercase base32hex.
pub fn recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuv";
    let rng = SystemRandom::new();
    (0..10)
        .map(|_| {
            let mut bytes = [0u8; 16];
            rng.fill(&mut bytes).expect("the system random source");
            let chars: Vec<char> = bytes.iter().map(|b| char::from(ALPHABET[(b & 31) as usize])).collect();
            chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-")
        })
        .collect()
}

/// A recovery code as typed: lowercase, spaces dropped.
pub fn normalize_recovery_code(typed: &str) -> String {
    typed.trim().to_ascii_lowercase().replace(' ', "")
}

/// Seals secrets at rest with AES-256-GCM.
pub struct Sealer {
    key: LessSafeKey,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// A sealer for TOTP secrets, its key derived from the server secret.
    pub fn new(server_secret: &[u8]) -> Self {
        Self::with_purpose(b"hexyard totp sealing key", server_secret)
    }

    /// A sealer whose key is derived from the server secret for one purpose, so that keys of
    /// different purposes never coincide.
    pub fn with_purpose(purpose: &[u8], server_secret: &[u8]) -> Self {
        let mut material = purpose.to_vec();
        material.push(0);
        material.extend_from_slice(server_secret);
        let digest = ring::digest::digest(&ring::digest::SHA256, &material);
        let key = UnboundKey::new(&AES_256_GCM, digest.as_ref()).expect("a 32-byte key");
        Sealer { key: LessSafeKey::new(key) }
    }

    /// A random nonce, then the ciphertext and its tag.
    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).expect("the system random source");
        let mut sealed = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut sealed)
            .expect("sealing a small buffer");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        out
    }

    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, TotpError> {
        if sealed.len() < NONCE_LEN {
            return Err(TotpError::Unseal);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| TotpError::Unseal)?;
        let mut body = body.to_vec();
        let plain = self.key.open_in_place(nonce, Aad::empty(), &mut body).map_err(|_| TotpError::Unseal)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_vector() {
        // RFC 6238 appendix B, SHA-1, secret "12345678901234567890", T = 59: 94287082 (8 digits)
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, 59).unwrap(), "287082");
        assert_eq!(verify(secret, "287082", 59), Some(1));
        assert_eq!(verify(secret, "287082", 59 + 30), Some(1), "one step of skew");
        assert_eq!(verify(secret, "287082", 59 + 90), None);
        assert_eq!(verify(secret, "28708", 59), None);
        assert_eq!(verify(secret, "abcdef", 59), None);
    }

    #[test]
    fn replay_rule() {
        assert_eq!(classify(10, None, "a"), CodeUse::Fresh);
        assert_eq!(classify(11, Some((10, "a")), "b"), CodeUse::Fresh);
        assert_eq!(classify(10, Some((10, "a")), "a"), CodeUse::SameHolder);
        assert_eq!(classify(10, Some((10, "a")), "b"), CodeUse::Replay);
        assert_eq!(classify(9, Some((10, "a")), "a"), CodeUse::Replay);
    }

    #[test]
    fn sealing_round_trips_and_detects_tampering() {
        let sealer = Sealer::new(b"server secret");
        let secret = new_secret();
        let sealed = sealer.seal(&secret);
        assert_ne!(&sealed[NONCE_LEN..NONCE_LEN + 20], &secret[..]);
        assert_eq!(sealer.open(&sealed).unwrap(), secret);
        let mut tampered = sealed.clone();
        tampered[NONCE_LEN] ^= 1;
        assert_eq!(sealer.open(&tampered), Err(TotpError::Unseal));
        assert_eq!(Sealer::new(b"another").open(&sealed), Err(TotpError::Unseal));
    }

    #[test]
    fn codes_urls_and_qr() {
        let codes = recovery_codes();
        assert_eq!(codes.len(), 10);
        assert!(codes.iter().all(|c| c.len() == 19 && c.split('-').count() == 4));
        assert_ne!(codes[0], codes[1]);
        let secret = new_secret();
        assert_eq!(from_base32(&base32(&secret)), Some(secret.clone()));
        let url = otpauth_url(&secret, "alice").unwrap();
        assert!(
            url.starts_with("otpauth://totp/hexyard:alice?") && url.contains(&format!("secret={}", base32(&secret))),
            "{url}"
        );
        let svg = qr_svg(&url);
        assert!(svg.starts_with("<svg") && svg.contains("<path d=\"M"));
    }
}
