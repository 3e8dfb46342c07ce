package store

import "testing"

func TestRebind(t *testing.T) {
	tests := []struct {
		name, in, pg string
	}{
		{"none", "SELECT 1", "SELECT 1"},
		{"simple", "SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = $1 AND b = $2"},
		{"in string", "SELECT '?' , ? FROM t", "SELECT '?' , $1 FROM t"},
		{"escaped quote", "SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1"},
		{"identifier", `SELECT "odd?col" FROM t WHERE x = ?`, `SELECT "odd?col" FROM t WHERE x = $1`},
		{"line comment", "SELECT ? -- why?\n, ?", "SELECT $1 -- why?\n, $2"},
		{"block comment", "SELECT /* ? */ ?", "SELECT /* ? */ $1"},
		{"literal ??", "SELECT data ?? 'k' FROM t WHERE id = ?", "SELECT data ? 'k' FROM t WHERE id = $1"},
		{"unterminated string", "SELECT 'abc ?", "SELECT 'abc ?"},
		{"comment at end", "SELECT ? --?", "SELECT $1 --?"},
		{"many", "VALUES (?,?,?,?,?,?,?,?,?,?,?)", "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Postgres.Rebind(tt.in); got != tt.pg {
				t.Errorf("Postgres.Rebind(%q) = %q, want %q", tt.in, got, tt.pg)
			}
			if got := SQLite.Rebind(tt.in); got != tt.in {
				t.Errorf("SQLite.Rebind changed the query: %q", got)
			}
		})
	}
}

func FuzzRebind(f *testing.F) {
	f.Add("SELECT '?' , ? FROM t -- ?\n/* ? */ ??")
	f.Fuzz(func(t *testing.T, q string) {
		_ = Postgres.Rebind(q) // must not panic or loop
	})
}

func TestDialectString(t *testing.T) {
	if SQLite.String() != "sqlite" || Postgres.String() != "postgres" || Dialect(9).String() != "dialect(9)" {
		t.Errorf("names: %s %s %s", SQLite, Postgres, Dialect(9))
	}
}
