-- The admin UI's local administrators (argon2id PHC strings; never a plain password) and OP-authenticated
-- admins seen at login (`source` 'oidc', no password).
CREATE TABLE admin_users (
    username      TEXT   NOT NULL PRIMARY KEY,
    password_hash TEXT,
    source        TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    last_login_at BIGINT
);

-- Server-side sessions of the admin UI. The cookie holds a random token; only its SHA-256 is stored, so a
-- copy of the database signs nobody in. `csrf_token` is what every state-changing call must echo.
CREATE TABLE admin_sessions (
    token_hash TEXT   NOT NULL PRIMARY KEY,
    username   TEXT   NOT NULL,
    csrf_token TEXT   NOT NULL,
    -- The OP's id_token for RP-initiated logout (OIDC sessions), sealed with the node key; empty for local ones.
    id_token   TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX admin_sessions_expires_at ON admin_sessions (expires_at);

-- Every configuration change (Admin API or UI): who, when, which entity, the document before and after with
-- secrets masked, and the comment the caller gave. Written in the change's own transaction.
CREATE TABLE audit_log (
    id          TEXT   NOT NULL PRIMARY KEY,
    -- The configuration version the change produced, and its place among that version's changes.
    version     BIGINT NOT NULL,
    position    BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    actor       TEXT   NOT NULL,
    via         TEXT   NOT NULL,
    action      TEXT   NOT NULL,
    entity_kind TEXT   NOT NULL,
    entity_id   TEXT   NOT NULL,
    before_doc  TEXT,
    after_doc   TEXT,
    comment     TEXT   NOT NULL
);
CREATE INDEX audit_log_by_version ON audit_log (version, position);
CREATE INDEX audit_log_by_entity ON audit_log (entity_kind, entity_id, version);
