-- +goose Up
-- assets are uploaded and processed audio files (package api/assets). The
-- bytes live in the content-addressed blob store (audio/blob): sha256 is
-- the original's key, preview_blob / spectrogram_blob / peaks (JSON map of
-- samples per pixel to key) the derived files'. A row turns ready in one
-- UPDATE after every derived blob is written; a processed asset's row is
-- inserted only once its file is complete. upload_id links a finished tus
-- upload to the asset made from it. Times are UTC.
CREATE TABLE assets (
    id               TEXT PRIMARY KEY,
    owner_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    project_id       TEXT,
    filename         TEXT NOT NULL,
    content_type     TEXT NOT NULL,
    size             INTEGER NOT NULL,
    sha256           TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('uploading', 'processing', 'ready', 'failed')),
    error            TEXT,
    job_id           TEXT,
    upload_id        TEXT UNIQUE,
    source_asset_id  TEXT,
    metadata         TEXT NOT NULL DEFAULT '',
    tags             TEXT NOT NULL DEFAULT '',
    analysis         TEXT NOT NULL DEFAULT '',
    preview_blob     TEXT NOT NULL DEFAULT '',
    peaks            TEXT NOT NULL DEFAULT '',
    spectrogram_blob TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);

CREATE INDEX assets_owner ON assets (owner_id, created_at);
CREATE INDEX assets_project ON assets (project_id, created_at);
CREATE INDEX assets_sha256 ON assets (sha256);

-- +goose Down
DROP TABLE assets;
