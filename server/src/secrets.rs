//! Secrets at rest: values such as OP client secrets and registration access tokens are stored sealed with
//! AES-256-GCM under a node key kept in the prefix (`<prefix>/secrets.key`, created on first start with mode
//! 0600), or in the file `secrets_key_file` names — every node of a cluster must use the same key.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

/// The prefix of a sealed value, so a reader can tell sealed from plain text (and later key versions apart).
const SEALED: &str = "sealed:v1:";

pub struct SecretBox {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    pub fn from_key(bytes: &[u8; 32]) -> SecretBox {
        let key = UnboundKey::new(&AES_256_GCM, bytes).expect("32 bytes make an AES-256 key");
        SecretBox { key: LessSafeKey::new(key), rng: SystemRandom::new() }
    }

    /// Reads the key file, creating it with a fresh random key when it does not exist.
    pub fn load_or_create(path: &Path) -> Result<SecretBox, String> {
        let describe = |e: std::io::Error| format!("secrets key {}: {e}", path.display());
        if !path.exists() {
            let mut key = [0u8; 32];
            SystemRandom::new().fill(&mut key).map_err(|_| "no randomness for the secrets key".to_string())?;
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(describe)?;
            }
            write_private(path, STANDARD.encode(key).as_bytes()).map_err(describe)?;
            tracing::info!(path = %path.display(), "created the key that seals secrets at rest");
        }
        let text = std::fs::read_to_string(path).map_err(describe)?;
        let bytes = STANDARD.decode(text.trim()).map_err(|_| format!("secrets key {}: not base64", path.display()))?;
        let key: [u8; 32] =
            bytes.try_into().map_err(|_| format!("secrets key {}: must be 32 bytes (base64)", path.display()))?;
        Ok(SecretBox::from_key(&key))
    }

    pub fn is_sealed(text: &str) -> bool {
        text.starts_with(SEALED)
    }

    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).expect("the system random generator works");
        let mut data = plain.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut data)
            .expect("AES-GCM sealing of in-memory data does not fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        format!("{SEALED}{}", STANDARD.encode(out))
    }

    /// Opens a sealed value; a value that was never sealed is returned as it is.
    pub fn open(&self, text: &str) -> Result<String, String> {
        let Some(sealed) = text.strip_prefix(SEALED) else { return Ok(text.to_string()) };
        let bytes = STANDARD.decode(sealed).map_err(|_| "sealed value is not base64".to_string())?;
        if bytes.len() < NONCE_LEN {
            return Err("sealed value too short".into());
        }
        let (nonce, data) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| "bad nonce".to_string())?;
        let mut data = data.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::empty(), &mut data)
            .map_err(|_| "sealed value does not open with this node's key (wrong secrets_key_file?)".to_string())?;
        String::from_utf8(plain.to_vec()).map_err(|_| "sealed value is not text".to_string())
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// Whether two secrets (tokens, CSRF values) are equal, in time that depends only on their lengths; an empty one
/// equals nothing.
pub fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    !expected.is_empty()
        && given.len() == expected.len()
        && given.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_never_show_the_plain_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.key");
        let secrets = SecretBox::load_or_create(&path).unwrap();
        let sealed = secrets.seal("client-secret-123");
        assert!(sealed.starts_with(SEALED) && !sealed.contains("client-secret-123"));
        assert_ne!(sealed, secrets.seal("client-secret-123"), "a fresh nonce every time");
        assert_eq!(SecretBox::load_or_create(&path).unwrap().open(&sealed).unwrap(), "client-secret-123");
        assert_eq!(secrets.open("plain").unwrap(), "plain");
        let other = SecretBox::from_key(&[7; 32]);
        assert!(other.open(&sealed).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
