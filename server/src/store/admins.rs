//! The admin UI's administrators and their server-side sessions. Passwords are kept as argon2id PHC strings;
//! a session is known by the SHA-256 of its cookie token, never the token itself.

use base64::Engine;
use sqlx::Row;

use super::{Result, Store, unix_now};

/// A signed-in admin's session, as the guard reads it for each request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSession {
    pub username: String,
    pub csrf_token: String,
    /// The OP's id_token (OIDC sign-in), for RP-initiated logout; empty for local admins.
    pub id_token: String,
    pub expires_at: i64,
}

/// Why an admin could not be created.
#[derive(Debug, thiserror::Error)]
pub enum NewAdminError {
    #[error("an administrator named '{0}' already exists")]
    Exists(String),
    #[error(transparent)]
    Store(#[from] super::StoreError),
}

/// The stored form of a session token.
pub fn token_hash(token: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
}

impl Store {
    /// How many administrators exist (the first-start setup is open while there are none).
    pub async fn admin_count(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM admin_users").fetch_one(&self.pool).await?.try_get("n")?)
    }

    /// Adds a local administrator with an argon2id `password_hash`.
    pub async fn create_admin(&self, username: &str, password_hash: &str) -> Result<(), NewAdminError> {
        let _turn = self.write_turn().await;
        sqlx::query(
            "INSERT INTO admin_users (username, password_hash, source, created_at) VALUES ($1, $2, 'local', $3)",
        )
        .bind(username)
        .bind(password_hash)
        .bind(unix_now())
        .execute(&self.pool)
        .await
        .map_err(|error| match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => NewAdminError::Exists(username.to_string()),
            _ => NewAdminError::Store(error.into()),
        })?;
        Ok(())
    }

    /// Records an admin the OP authenticated (no password), or notes the sign-in of a known one.
    pub async fn seen_oidc_admin(&self, username: &str) -> Result<()> {
        let _turn = self.write_turn().await;
        let now = unix_now();
        sqlx::query(
            "INSERT INTO admin_users (username, password_hash, source, created_at, last_login_at) \
             VALUES ($1, NULL, 'oidc', $2, $2) ON CONFLICT (username) DO UPDATE SET last_login_at = $2",
        )
        .bind(username)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The password hash of a local administrator; `None` for unknown users and OP-authenticated ones.
    pub async fn admin_password_hash(&self, username: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT password_hash FROM admin_users WHERE username = $1 AND source = 'local'")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.and_then(|row| row.try_get::<Option<String>, _>("password_hash").ok().flatten()))
    }

    /// Starts a session for `username` under the cookie `token`, valid for `lifetime_secs`.
    pub async fn create_session(
        &self,
        token: &str,
        username: &str,
        csrf_token: &str,
        id_token: &str,
        lifetime_secs: i64,
    ) -> Result<()> {
        let _turn = self.write_turn().await;
        let now = unix_now();
        sqlx::query("DELETE FROM admin_sessions WHERE expires_at <= $1").bind(now).execute(&self.pool).await?;
        sqlx::query(
            "INSERT INTO admin_sessions (token_hash, username, csrf_token, id_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash(token))
        .bind(username)
        .bind(csrf_token)
        .bind(id_token)
        .bind(now)
        .bind(now + lifetime_secs)
        .execute(&self.pool)
        .await?;
        sqlx::query("UPDATE admin_users SET last_login_at = $2 WHERE username = $1")
            .bind(username)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The live session behind a cookie token, if any.
    pub async fn session(&self, token: &str) -> Result<Option<AdminSession>> {
        let row = sqlx::query(
            "SELECT username, csrf_token, id_token, expires_at FROM admin_sessions \
             WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash(token))
        .bind(unix_now())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(AdminSession {
                username: row.try_get("username")?,
                csrf_token: row.try_get("csrf_token")?,
                id_token: row.try_get("id_token")?,
                expires_at: row.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    /// Ends the session behind a cookie token.
    pub async fn end_session(&self, token: &str) -> Result<()> {
        let _turn = self.write_turn().await;
        sqlx::query("DELETE FROM admin_sessions WHERE token_hash = $1")
            .bind(token_hash(token))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The oxd site the UI signs admins in with at `op_host` for `redirect_uri`, if one was registered.
    pub async fn admin_gui_site(&self, op_host: &str, redirect_uri: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT oxd_id FROM admin_gui_oidc WHERE op_host = $1 AND redirect_uri = $2")
            .bind(op_host)
            .bind(redirect_uri)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|row| row.try_get("oxd_id")).transpose()?)
    }

    /// Keeps `oxd_id` as the UI's site unless another node kept one first; answers the one kept.
    pub async fn keep_admin_gui_site(&self, op_host: &str, redirect_uri: &str, oxd_id: &str) -> Result<String> {
        {
            let _turn = self.write_turn().await;
            sqlx::query(
                "INSERT INTO admin_gui_oidc (op_host, redirect_uri, oxd_id, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (op_host, redirect_uri) DO NOTHING",
            )
            .bind(op_host)
            .bind(redirect_uri)
            .bind(oxd_id)
            .bind(unix_now())
            .execute(&self.pool)
            .await?;
        }
        Ok(self.admin_gui_site(op_host, redirect_uri).await?.unwrap_or_else(|| oxd_id.to_string()))
    }
}
