-- The oxd module's own keys (oxd.md §1.5, enable_jwks_generation): the RP signing key, sealed with the node key
-- and shared by every node of a cluster, so a request object one node signed verifies with any node's JWKS.
CREATE TABLE oxd_keys (
    name       TEXT   NOT NULL PRIMARY KEY,
    data       TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
