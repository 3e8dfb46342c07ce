package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// InstanceID returns this installation's id, a random hex string created
// on first call and kept in the meta table. Logs and error reports carry
// it so several servers sharing one database can be told apart from
// several databases.
func (db *DB) InstanceID(ctx context.Context) (string, error) {
	var id string
	err := db.WithTx(ctx, func(tx *Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'instance_id'`).Scan(&id)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var b [8]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
		id = hex.EncodeToString(b[:])
		_, err = tx.ExecContext(ctx,
			`INSERT INTO meta (key, value, updated_at) VALUES ('instance_id', ?, ?)
			 ON CONFLICT (key) DO NOTHING`, id, time.Now().UTC())
		if err != nil {
			return err
		}
		// Another server may have won the race; read what is stored.
		return tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'instance_id'`).Scan(&id)
	})
	if err != nil {
		return "", fmt.Errorf("store: instance id: %w", err)
	}
	return id, nil
}
