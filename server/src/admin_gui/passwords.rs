//! Local administrators' passwords: argon2id (the argon2 crate's defaults, OWASP's minimum: 19 MiB, 2 passes),
//! hashed and checked off the async workers, since one hash takes tens of milliseconds of CPU.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use ring::rand::{SecureRandom, SystemRandom};

/// The shortest password a local administrator may have.
pub const MIN_LENGTH: usize = 12;

/// The PHC string (`$argon2id$v=19$…`) of `password` with a fresh random salt.
pub async fn hash(password: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || hash_now(&password)).await.map_err(|e| e.to_string())?
}

fn hash_now(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    SystemRandom::new().fill(&mut salt).map_err(|_| "no randomness for a password salt".to_string())?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Ok(Argon2::default().hash_password(password.as_bytes(), &salt).map_err(|e| e.to_string())?.to_string())
}

/// Whether `password` matches `stored`; with no stored hash (unknown user) a hash is still checked, so the
/// answer takes as long either way.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        static DECOY: OnceLock<String> = OnceLock::new();
        let decoy = DECOY.get_or_init(|| hash_now("not a password anyone has").unwrap_or_default());
        let known = stored.is_some();
        let phc = stored.unwrap_or_else(|| decoy.clone());
        let matches = PasswordHash::new(&phc)
            .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok());
        known && matches
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only_and_is_salted() {
        let first = hash("correct horse battery".into()).await.unwrap();
        let second = hash("correct horse battery".into()).await.unwrap();
        assert!(first.starts_with("$argon2id$"), "{first}");
        assert_ne!(first, second, "each hash has its own salt");
        assert!(verify("correct horse battery".into(), Some(first.clone())).await);
        assert!(!verify("correct horse batterY".into(), Some(first)).await);
        assert!(!verify("not a password anyone has".into(), None).await, "no user, no sign-in");
    }
}
