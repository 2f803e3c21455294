-- References between entities (route → service, plugin → consumer, ...), for foreign-key checks, nested
-- collections (/services/{s}/routes) and cascading or restricted deletes.
CREATE TABLE entity_refs (
    kind     TEXT NOT NULL,
    id       TEXT COLLATE "C" NOT NULL,
    field    TEXT NOT NULL,
    ref_kind TEXT NOT NULL,
    ref_id   TEXT NOT NULL,
    PRIMARY KEY (kind, id, field),
    FOREIGN KEY (kind, id) REFERENCES entities (kind, id) ON DELETE CASCADE
);
CREATE INDEX entity_refs_by_target ON entity_refs (ref_kind, ref_id, kind, field);
