-- Short-lived oxd values (oxd.md §1.9): a code flow's state and nonce, the resources behind a permission
-- ticket. Values are sealed with the node key; each is redeemed once (DELETE … RETURNING) and expires.
CREATE TABLE oxd_expiring (
    key        TEXT   NOT NULL,
    kind       TEXT   NOT NULL,
    value      TEXT   NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (key, kind)
);
CREATE INDEX oxd_expiring_expires_at ON oxd_expiring (expires_at);
