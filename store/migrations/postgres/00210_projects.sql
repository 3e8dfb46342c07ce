-- +goose Up
-- Projects, their members, pending invites and named checkpoints (package
-- api/projects). A project's document lives in the collab update log
-- (collab_docs / collab_updates), keyed by the project id. Times are UTC.
CREATE TABLE projects (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    owner_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    -- deleted_at is set while the project is in the trash; the purge job
    -- removes it for good 30 days later.
    deleted_at TIMESTAMPTZ
);
CREATE INDEX projects_owner ON projects(owner_id);
CREATE INDEX projects_deleted ON projects(deleted_at);

CREATE TABLE project_members (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    joined_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX project_members_user ON project_members(user_id);

-- project_invites are pending invitations by email; the mailed secret is
-- stored as its SHA-256 and the row is deleted when it is accepted.
CREATE TABLE project_invites (
    id         TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    role       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    invited_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX project_invites_project ON project_invites(project_id, email);

-- project_checkpoints hold the document's full state (a yjs v1 update) at
-- the moment a member named it.
CREATE TABLE project_checkpoints (
    id         TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    size       BIGINT  NOT NULL,
    state      BYTEA NOT NULL
);
CREATE INDEX project_checkpoints_project ON project_checkpoints(project_id, created_at);

-- +goose Down
DROP TABLE project_checkpoints;
DROP TABLE project_invites;
DROP TABLE project_members;
DROP TABLE projects;
