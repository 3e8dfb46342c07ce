-- +goose Up
-- A resumable (tus) upload is an asset from its creation on (package
-- api/assets, tus.go): the row is inserted with status 'uploading', the
-- announced size and sha256 '' when the upload is created, and the same row
-- turns 'processing' when its last byte arrives. uploaded_bytes is how much
-- of it the server holds (meaningful while uploading); updated_at moves
-- whenever bytes arrive, and the sweep removes uploading rows whose
-- updated_at is older than the abandonment limit (assets_uploading).
ALTER TABLE assets ADD COLUMN uploaded_bytes BIGINT NOT NULL DEFAULT 0;
CREATE INDEX assets_uploading ON assets (updated_at) WHERE status = 'uploading';

-- +goose Down
DROP INDEX assets_uploading;
ALTER TABLE assets DROP COLUMN uploaded_bytes;
