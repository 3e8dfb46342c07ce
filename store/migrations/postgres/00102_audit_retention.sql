-- +goose Up
-- The audit log is trimmed by age (session.Options.AuditRetention).
CREATE INDEX audit_log_created ON audit_log(created_at);

-- +goose Down
DROP INDEX audit_log_created;
