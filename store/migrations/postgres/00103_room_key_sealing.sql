-- +goose Up
-- Room-token signing keys are sealed at rest (AES-256-GCM with the
-- secrets key, session.SecretKeys): sealed_with is the id of the key that
-- sealed private_key, NULL for a plain seed. Plain rows are sealed when a
-- node with a secrets key loads them.
ALTER TABLE room_keys ADD COLUMN sealed_with TEXT;

-- +goose Down
-- Older code reads only plain seeds; sealed keys go (a node makes a new
-- one at the next room token, tokens signed by the old ones stop working).
DELETE FROM room_keys WHERE sealed_with IS NOT NULL;
ALTER TABLE room_keys DROP COLUMN sealed_with;
