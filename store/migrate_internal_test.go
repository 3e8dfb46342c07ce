package store

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func migration(table string) *fstest.MapFile {
	return &fstest.MapFile{Data: []byte("-- +goose Up\nCREATE TABLE " + table + " (id INTEGER PRIMARY KEY);\n-- +goose Down\nDROP TABLE " + table + ";\n")}
}

// Owners add migrations in their own version ranges at different times, so
// a lower version can land after a higher one was applied. The migrator
// must apply it rather than refuse.
func TestMigrateOutOfOrderAcrossOwners(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()

	fsys := fstest.MapFS{
		"00001_a.sql":   migration("a"),
		"00101_s.sql":   migration("s"),
		"00200_c.sql":   migration("c"),
		"README.txt":    {Data: []byte("not a migration")},
		"00300_x.sql~":  {Data: []byte("editor backup")},
		"notes/old.sql": migration("nested_is_ignored"),
	}
	got, err := db.Migrate(ctx, MigrateOptions{fsys: fsys})
	if err != nil {
		t.Fatal(err)
	}
	if v := versions(got); !slices.Equal(v, []int64{1, 101, 200}) {
		t.Fatalf("first run applied %v, want [1 101 200]", v)
	}

	// Later: foundation adds 00002 and audio adds 00300.
	fsys["00002_b.sql"] = migration("b")
	fsys["00300_au.sql"] = migration("au")
	got, err = db.Migrate(ctx, MigrateOptions{fsys: fsys})
	if err != nil {
		t.Fatalf("out-of-order migration refused: %v", err)
	}
	if v := versions(got); !slices.Equal(v, []int64{2, 300}) {
		t.Errorf("second run applied %v, want [2 300]", v)
	}
	for _, table := range []string{"a", "b", "s", "c", "au"} {
		if _, err := db.ExecContext(ctx, "INSERT INTO "+table+" (id) VALUES (1)"); err != nil {
			t.Errorf("table %s missing: %v", table, err)
		}
	}
}

// A broken migration stops the run with an error naming it, and leaves the
// ones before it applied.
func TestMigrateFailureNamesTheFile(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	fsys := fstest.MapFS{
		"00001_a.sql":   migration("a"),
		"00002_bad.sql": {Data: []byte("-- +goose Up\nCREATE TABLE oops (;\n")},
	}
	got, err := db.Migrate(ctx, MigrateOptions{fsys: fsys})
	if err == nil {
		t.Fatal("Migrate = nil error with a broken migration")
	}
	if !strings.Contains(err.Error(), "00002_bad.sql") {
		t.Errorf("error %q does not name the file", err)
	}
	if v := versions(got); !slices.Equal(v, []int64{1}) {
		t.Errorf("applied %v, want [1]", v)
	}
}

func versions(rs []MigrationResult) []int64 {
	var v []int64
	for _, r := range rs {
		v = append(v, r.Version)
	}
	return v
}
