-- The oxd module's sites (OP clients): one sealed JSON document per oxd_id (oxd.md §1.9). The document holds
-- the client secret and the registration access token, so it is sealed as a whole with the node key.
CREATE TABLE oxd_sites (
    oxd_id     TEXT   NOT NULL PRIMARY KEY,
    data       TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);
