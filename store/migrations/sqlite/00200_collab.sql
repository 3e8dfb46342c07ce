-- +goose Up
-- collab_docs holds one row per collaboration room (project document):
-- the compacted snapshot (a merged yjs v1 update covering every log entry
-- up to snapshot_seq) and the last sequence number handed out. Appends
-- take this row's lock, so sequence numbers follow commit order.
CREATE TABLE collab_docs (
    room         TEXT PRIMARY KEY,
    snapshot     BLOB,
    snapshot_seq INTEGER NOT NULL DEFAULT 0,
    last_seq     INTEGER NOT NULL DEFAULT 0,
    updated_at   TIMESTAMP NOT NULL
);

-- collab_updates is the append-only update log after the snapshot.
CREATE TABLE collab_updates (
    room TEXT    NOT NULL,
    seq  INTEGER NOT NULL,
    data BLOB    NOT NULL,
    PRIMARY KEY (room, seq)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE collab_updates;
DROP TABLE collab_docs;
