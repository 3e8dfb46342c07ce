package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// migrationsFS holds every module's migrations, one directory per dialect.
// Files are goose SQL migrations named NNNNN_name.sql in the owner's
// version range (see the package doc).
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationsFS embed.FS

// VersionTable is the one table goose keeps its applied versions in.
const VersionTable = "goose_db_version"

// MigrateOptions tunes Migrate. The zero value applies all pending
// migrations under a PostgreSQL advisory lock and logs nothing.
type MigrateOptions struct {
	// Logger, if set, receives one line per applied migration.
	Logger *slog.Logger
	// NoLock skips the PostgreSQL advisory lock that keeps two servers from
	// migrating at once. Only for databases nobody else can see (tests).
	NoLock bool

	// fsys replaces the embedded migrations (tests of the migrator).
	fsys fs.FS
}

// MigrationResult describes one applied migration.
type MigrationResult struct {
	Version int64
	Name    string
}

// Migrations returns the embedded migration files for d, for inspection.
func Migrations(d Dialect) (fs.FS, error) {
	return fs.Sub(migrationsFS, "migrations/"+d.String())
}

// Migrate applies every pending embedded migration for the database's
// dialect, each in its own transaction, and returns the ones applied
// (none when the schema is current; rerunning is safe). Migrations from
// different owners may land in any order: a lower version added after a
// higher one was applied is still applied (goose's allow-out-of-order).
func (db *DB) Migrate(ctx context.Context, opts MigrateOptions) ([]MigrationResult, error) {
	p, err := db.provider(opts)
	if err != nil {
		return nil, err
	}
	res, err := p.Up(ctx)
	var partial *goose.PartialError
	if errors.As(err, &partial) {
		res = partial.Applied
		if partial.Failed != nil && partial.Failed.Source != nil {
			err = fmt.Errorf("%s: %w", partial.Failed.Source.Path, partial.Err)
		}
	}
	out := make([]MigrationResult, 0, len(res))
	for _, r := range res {
		if r.Error != nil || r.Source == nil {
			continue
		}
		out = append(out, MigrationResult{Version: r.Source.Version, Name: r.Source.Path})
		if opts.Logger != nil {
			opts.Logger.LogAttrs(ctx, slog.LevelInfo, "migration applied",
				slog.Int64("version", r.Source.Version), slog.String("file", r.Source.Path), slog.Duration("took", r.Duration))
		}
	}
	if err != nil {
		return out, fmt.Errorf("store: migrate %s: %w", db.dialect, err)
	}
	return out, nil
}

// MigrationStatus is one embedded migration and whether it is applied.
type MigrationStatus struct {
	Version int64
	Name    string
	Applied bool
}

// MigrationStatus lists every embedded migration and whether the database
// has applied it.
func (db *DB) MigrationStatus(ctx context.Context) ([]MigrationStatus, error) {
	p, err := db.provider(MigrateOptions{NoLock: true})
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: migration status: %w", err)
	}
	out := make([]MigrationStatus, 0, len(st))
	for _, s := range st {
		out = append(out, MigrationStatus{Version: s.Source.Version, Name: s.Source.Path, Applied: s.State == goose.StateApplied})
	}
	return out, nil
}

func (db *DB) provider(opts MigrateOptions) (*goose.Provider, error) {
	fsys := opts.fsys
	if fsys == nil {
		var err error
		if fsys, err = Migrations(db.dialect); err != nil {
			return nil, fmt.Errorf("store: migrations: %w", err)
		}
	}
	var gd goose.Dialect
	switch db.dialect {
	case SQLite:
		gd = goose.DialectSQLite3
	case Postgres:
		gd = goose.DialectPostgres
	default:
		return nil, fmt.Errorf("store: migrations: unknown dialect %v", db.dialect)
	}
	popts := []goose.ProviderOption{
		goose.WithTableName(VersionTable),
		goose.WithAllowOutofOrder(true),
		goose.WithDisableGlobalRegistry(true),
	}
	if db.dialect == Postgres && !opts.NoLock {
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, fmt.Errorf("store: migration lock: %w", err)
		}
		popts = append(popts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(gd, db.sql, fsys, popts...)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	return p, nil
}
