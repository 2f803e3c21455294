-- The configuration version the proxy reloads from: bumped by every configuration write.
CREATE TABLE config_state (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT  NOT NULL
);
INSERT INTO config_state (id, version) VALUES (1, 0);

-- Every Admin API entity, as the JSON document the model validated (TEXT: read back through sqlx::Any).
CREATE TABLE entities (
    kind       TEXT   NOT NULL,
    -- "C" collation: keyset pagination walks ids in byte order, as on SQLite.
    id         TEXT   COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    doc        TEXT   NOT NULL,
    PRIMARY KEY (kind, id)
);

-- Unique keys of entities (name, username, custom_id, ...): a second row with the same key is refused.
CREATE TABLE entity_keys (
    kind  TEXT NOT NULL,
    name  TEXT NOT NULL,
    value TEXT NOT NULL,
    id    TEXT NOT NULL,
    PRIMARY KEY (kind, name, value),
    FOREIGN KEY (kind, id) REFERENCES entities (kind, id) ON DELETE CASCADE
);
CREATE INDEX entity_keys_by_entity ON entity_keys (kind, id);

CREATE TABLE entity_tags (
    tag  TEXT NOT NULL,
    kind TEXT NOT NULL,
    id   TEXT NOT NULL,
    PRIMARY KEY (tag, kind, id),
    FOREIGN KEY (kind, id) REFERENCES entities (kind, id) ON DELETE CASCADE
);
CREATE INDEX entity_tags_by_entity ON entity_tags (kind, id);
