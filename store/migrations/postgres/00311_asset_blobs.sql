-- +goose Up
-- Safe deletion of content-addressed blobs (package api/assets, gc.go).
-- asset_blob_refs says which asset uses which blob (original, preview,
-- spectrogram, every peaks level); the rows go with their asset, also when
-- a deleted user's assets are removed by ON DELETE CASCADE.
-- asset_blobs lists every blob key the module wrote or let go of, with the
-- last time something claimed it: a writer claims a key before its row
-- refers to it, and the collector deletes a blob only when no asset refers
-- to it and its claim is older than a grace period, in one transaction
-- that removes the asset_blobs row first (so a concurrent claim waits).
CREATE TABLE asset_blob_refs (
    asset_id TEXT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    blob_key TEXT NOT NULL,
    PRIMARY KEY (asset_id, blob_key)
);
CREATE INDEX asset_blob_refs_key ON asset_blob_refs (blob_key);

CREATE TABLE asset_blobs (
    blob_key   TEXT PRIMARY KEY,
    claimed_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX asset_blobs_claimed ON asset_blobs (claimed_at);

INSERT INTO asset_blob_refs (asset_id, blob_key)
    SELECT id, sha256 FROM assets WHERE sha256 <> ''
    UNION SELECT id, preview_blob FROM assets WHERE preview_blob <> ''
    UNION SELECT id, spectrogram_blob FROM assets WHERE spectrogram_blob <> ''
    UNION SELECT a.id, j.value FROM assets a, jsonb_each_text(a.peaks::jsonb) j WHERE a.peaks <> '';
INSERT INTO asset_blobs (blob_key, claimed_at)
    SELECT DISTINCT blob_key, CURRENT_TIMESTAMP FROM asset_blob_refs;

-- +goose Down
DROP TABLE asset_blobs;
DROP TABLE asset_blob_refs;
