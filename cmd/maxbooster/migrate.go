package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/maxbooster/maxbooster/store"
)

// runMigrate applies pending migrations (`migrate` or `migrate up`) or
// lists them (`migrate status`). It takes the same settings as serve; only
// the database ones matter.
func runMigrate(ctx context.Context, c *cli, args []string) int {
	cfg, rest, code, ok := c.configOrExit("migrate", args)
	if !ok {
		return code
	}
	action := "up"
	if len(rest) > 0 {
		action = rest[0]
	}
	if len(rest) > 1 || (action != "up" && action != "status") {
		fmt.Fprintf(c.stderr, "maxbooster: migrate takes `up` (the default) or `status`, got %q\n", rest)
		return exitUsage
	}
	logger := newLogger(c.stderr, cfg)

	db, err := store.Open(ctx, cfg.Database())
	if err != nil {
		fmt.Fprintf(c.stderr, "maxbooster: %v\n", err)
		return exitFailed
	}
	defer func() { _ = db.Close() }()

	if action == "status" {
		st, err := db.MigrationStatus(ctx)
		if err != nil {
			fmt.Fprintf(c.stderr, "maxbooster: %v\n", err)
			return exitFailed
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "VERSION\tSTATE\tFILE\n")
		for _, s := range st {
			state := "pending"
			if s.Applied {
				state = "applied"
			}
			fmt.Fprintf(tw, "%05d\t%s\t%s\n", s.Version, state, s.Name)
		}
		_ = tw.Flush()
		return exitOK
	}

	applied, err := db.Migrate(ctx, store.MigrateOptions{Logger: logger})
	if err != nil {
		fmt.Fprintf(c.stderr, "maxbooster: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(c.stdout, "%s: %d migration(s) applied; schema is current\n", db, len(applied))
	return exitOK
}
