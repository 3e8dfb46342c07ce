package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/maxbooster/maxbooster/collab"
)

// DocStore implements collab.DocStore on the database: an append-only log
// of yjs updates per room (collab_updates) and a compacted snapshot
// (collab_docs), migrations 00200_collab.sql.
//
// Appends are group-committed: one goroutine gathers every Append waiting
// (from any room) into a single transaction, so under load many updates
// share one commit while each caller still returns only once its updates
// are durable. Close stops that goroutine.
type DocStore struct {
	db       *DB
	reqs     chan *appendReq
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	maxBatch int
	maxBytes int

	// SQLite only: the committer's own connection, with its statements
	// prepared once (see sqliteCommitter). Used by commitLoop only.
	lite *sqliteCommitter
	// SQLite only: compactions, run by commitLoop between batches.
	compacts chan *compactReq
}

// compactReq is a Compact waiting for the SQLite committer.
type compactReq struct {
	ctx           context.Context
	room          string
	baseSeq, upTo int64
	snapshot      []byte
	res           chan error
}

var _ collab.DocStore = (*DocStore)(nil)

// DocStoreOptions tune NewDocStore. Zero values mean the defaults.
type DocStoreOptions struct {
	MaxBatchAppends int // Append calls in one commit; 256
	MaxBatchBytes   int // update bytes in one commit; 16 MiB
}

type appendReq struct {
	ctx     context.Context
	room    string
	updates [][]byte
	res     chan appendRes
}

type appendRes struct {
	lastSeq int64
	err     error
}

// ErrDocStoreClosed is returned by Append after Close.
var ErrDocStoreClosed = errors.New("store: document store closed")

// NewDocStore returns a DocStore on db and starts its committer.
func NewDocStore(db *DB, opts *DocStoreOptions) *DocStore {
	var o DocStoreOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxBatchAppends <= 0 {
		o.MaxBatchAppends = 256
	}
	if o.MaxBatchBytes <= 0 {
		o.MaxBatchBytes = 16 << 20
	}
	s := &DocStore{
		db: db, reqs: make(chan *appendReq, 1024), compacts: make(chan *compactReq), stop: make(chan struct{}), done: make(chan struct{}),
		maxBatch: o.MaxBatchAppends, maxBytes: o.MaxBatchBytes,
	}
	go s.commitLoop()
	return s
}

// Close finishes the appends already queued and stops the committer.
func (s *DocStore) Close() error {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
	if s.lite != nil {
		s.lite.close()
		s.lite = nil
	}
	return nil
}

// Append implements collab.DocStore.
func (s *DocStore) Append(ctx context.Context, room string, updates [][]byte) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if len(updates) == 0 {
		return 0, errors.New("store: append of no updates")
	}
	req := &appendReq{ctx: ctx, room: room, updates: updates, res: make(chan appendRes, 1)}
	select {
	case s.reqs <- req:
	case <-s.stop:
		return 0, ErrDocStoreClosed
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	select {
	case r := <-req.res:
		return r.lastSeq, r.err
	case <-ctx.Done():
		// The commit may still happen; the caller treats the outcome as
		// unknown, which is safe for CRDT updates (re-applying is a no-op).
		return 0, ctx.Err()
	}
}

func (s *DocStore) commitLoop() {
	defer close(s.done)
	for {
		var first *appendReq
		select {
		case first = <-s.reqs:
		case c := <-s.compacts:
			c.res <- s.compactSQLite(c)
			continue
		case <-s.stop:
			// Finish what is queued, then stop.
			for {
				select {
				case r := <-s.reqs:
					s.commit([]*appendReq{r})
				case c := <-s.compacts:
					c.res <- s.compactSQLite(c)
				default:
					return
				}
			}
		}
		batch := []*appendReq{first}
		size := reqBytes(first)
	gather:
		for len(batch) < s.maxBatch && size < s.maxBytes {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
				size += reqBytes(r)
			default:
				break gather
			}
		}
		s.commit(batch)
	}
}

func reqBytes(r *appendReq) int {
	n := 0
	for _, u := range r.updates {
		n += len(u)
	}
	return n
}

// commit writes batch in one transaction. If that fails and the batch has
// several requests, each is retried alone so one bad request cannot fail
// the others.
func (s *DocStore) commit(batch []*appendReq) {
	live := batch[:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.res <- appendRes{err: err}
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	// A stable order by room: locks are taken in the same order by every
	// node (no deadlocks), and a room's appends keep their order.
	slices.SortStableFunc(live, func(a, b *appendReq) int { return strings.Compare(a.room, b.room) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	seqs := make([]int64, len(live))
	var groups []roomGroup
	for i := 0; i < len(live); {
		g := roomGroup{room: live[i].room, i: i, j: i}
		for g.j < len(live) && live[g.j].room == g.room {
			g.n += len(live[g.j].updates)
			g.j++
		}
		groups = append(groups, g)
		i = g.j
	}
	var err error
	if s.db.Dialect() == SQLite {
		err = s.commitSQLite(ctx, live, groups, seqs)
	} else {
		err = s.commitSQL(ctx, live, groups, seqs)
	}
	if err != nil && len(live) > 1 {
		for _, r := range live {
			s.commit([]*appendReq{r})
		}
		return
	}
	for i, r := range live {
		if err != nil {
			r.res <- appendRes{err: fmt.Errorf("store: append to room %s: %w", r.room, err)}
		} else {
			r.res <- appendRes{lastSeq: seqs[i]}
		}
	}
}

// commitSQL writes a batch in one transaction with multi-row statements
// (PostgreSQL: one round trip per few hundred rows).
func (s *DocStore) commitSQL(ctx context.Context, live []*appendReq, groups []roomGroup, seqs []int64) error {
	return s.db.WithTx(ctx, func(tx *Tx) error {
		// One upsert reserves the sequence numbers of every room in the
		// batch (taking the rooms' row locks in room order), one insert
		// per few hundred rows writes the updates.
		last := make(map[string]int64, len(groups))
		now := time.Now().UTC()
		const groupChunk = 200
		for lo := 0; lo < len(groups); lo += groupChunk {
			hi := min(lo+groupChunk, len(groups))
			var sb strings.Builder
			args := make([]any, 0, 3*(hi-lo))
			for k, g := range groups[lo:hi] {
				if k > 0 {
					sb.WriteString(", ")
				}
				sb.WriteString("(?, 0, ?, ?)")
				args = append(args, g.room, g.n, now)
			}
			if err := reserveSeqs(ctx, tx, sb.String(), args, last); err != nil {
				return err
			}
		}
		ins := newRowInserter(tx)
		for _, g := range groups {
			l, ok := last[g.room]
			if !ok {
				return fmt.Errorf("no sequence returned for room %s", g.room)
			}
			// Hand out the sequence numbers in request order.
			seq := l - int64(g.n)
			for k := g.i; k < g.j; k++ {
				for _, u := range live[k].updates {
					seq++
					if err := ins.add(ctx, g.room, seq, u); err != nil {
						return err
					}
				}
				seqs[k] = seq
			}
		}
		return ins.flush(ctx)
	})
}

// reserveSeqs runs the multi-row upsert on collab_docs (values holds one
// "(?, 0, ?, ?)" per room) and records each room's new last_seq in last.
func reserveSeqs(ctx context.Context, tx *Tx, values string, args []any, last map[string]int64) error {
	rows, err := tx.QueryContext(ctx, `INSERT INTO collab_docs (room, snapshot_seq, last_seq, updated_at) VALUES `+values+`
		ON CONFLICT (room) DO UPDATE SET last_seq = collab_docs.last_seq + excluded.last_seq, updated_at = excluded.updated_at
		RETURNING room, last_seq`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var room string
		var l int64
		if err := rows.Scan(&room, &l); err != nil {
			return err
		}
		last[room] = l
	}
	return rows.Err()
}

// rowInserter writes collab_updates rows in multi-row INSERTs.
type rowInserter struct {
	tx   *Tx
	sb   strings.Builder
	args []any
}

func newRowInserter(tx *Tx) *rowInserter { return &rowInserter{tx: tx} }

const insertChunk = 300 // rows per statement (3 parameters each)

func (w *rowInserter) add(ctx context.Context, room string, seq int64, data []byte) error {
	if data == nil {
		data = []byte{}
	}
	if len(w.args) > 0 {
		w.sb.WriteString(", ")
	}
	w.sb.WriteString("(?, ?, ?)")
	w.args = append(w.args, room, seq, data)
	if len(w.args) >= 3*insertChunk {
		return w.flush(ctx)
	}
	return nil
}

func (w *rowInserter) flush(ctx context.Context) error {
	if len(w.args) == 0 {
		return nil
	}
	_, err := w.tx.ExecContext(ctx, "INSERT INTO collab_updates (room, seq, data) VALUES "+w.sb.String(), w.args...)
	w.sb.Reset()
	w.args = w.args[:0]
	return err
}

// Load implements collab.DocStore. It reads the log before the snapshot:
// a compaction committed in between then only duplicates entries the
// snapshot also holds (harmless for CRDT updates), never loses any.
func (s *DocStore) Load(ctx context.Context, room string) (collab.StoredDoc, error) {
	var sd collab.StoredDoc
	rows, err := s.db.QueryContext(ctx, `SELECT seq, data FROM collab_updates WHERE room = ? ORDER BY seq`, room)
	if err != nil {
		return sd, fmt.Errorf("store: load room %s: %w", room, err)
	}
	defer rows.Close()
	var ups []collab.StoredUpdate
	for rows.Next() {
		var u collab.StoredUpdate
		if err := rows.Scan(&u.Seq, &u.Update); err != nil {
			return sd, fmt.Errorf("store: load room %s: %w", room, err)
		}
		ups = append(ups, u)
	}
	if err := rows.Err(); err != nil {
		return sd, fmt.Errorf("store: load room %s: %w", room, err)
	}
	err = s.db.QueryRowContext(ctx, `SELECT snapshot, snapshot_seq FROM collab_docs WHERE room = ?`, room).Scan(&sd.Snapshot, &sd.SnapshotSeq)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return sd, fmt.Errorf("store: load room %s snapshot: %w", room, err)
	}
	for _, u := range ups {
		if u.Seq > sd.SnapshotSeq {
			sd.Updates = append(sd.Updates, u)
		}
	}
	return sd, nil
}

// Compact implements collab.DocStore.
//
// On SQLite the committer runs it between batches, on its own connection:
// as a second writer, a compaction's transaction (a large snapshot, many
// deleted rows) made the committer's BEGIN IMMEDIATE wait in SQLite's busy
// handler, which sleeps 1, 2, 5, 10 ms…, and those waits were the hub's
// worst update latencies.
func (s *DocStore) Compact(ctx context.Context, room string, baseSeq, upTo int64, snapshot []byte) error {
	if s.db.Dialect() != SQLite {
		return s.db.WithTx(ctx, func(tx *Tx) error {
			return compactIn(ctx, tx, Postgres, room, baseSeq, upTo, snapshot)
		})
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	req := &compactReq{ctx: ctx, room: room, baseSeq: baseSeq, upTo: upTo, snapshot: snapshot, res: make(chan error, 1)}
	select {
	case s.compacts <- req:
	case <-s.stop:
		return ErrDocStoreClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.res:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// compactSQLite runs a compaction in one transaction on the committer's
// connection, retrying transient conflicts like commitSQLite.
func (s *DocStore) compactSQLite(c *compactReq) error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	ctx := context.WithoutCancel(c.ctx)
	backoff := 5 * time.Millisecond
	for attempt := 1; ; attempt++ {
		if s.lite == nil {
			lc, err := openSQLiteCommitter(ctx, s.db.SQL())
			if err != nil {
				return fmt.Errorf("store: compact room %s: %w", c.room, err)
			}
			s.lite = lc
		}
		err := s.lite.inTx(ctx, func() error {
			return compactIn(ctx, s.lite.conn, SQLite, c.room, c.baseSeq, c.upTo, c.snapshot)
		})
		if err == nil || errors.Is(err, collab.ErrCompactConflict) {
			return err
		}
		if !IsRetryable(err) || attempt >= 5 {
			s.lite.close()
			s.lite = nil
			return err
		}
		time.Sleep(backoff)
		backoff = min(backoff*2, 500*time.Millisecond)
	}
}

// execQuerier is what compactIn needs of a transaction: *Tx (placeholders
// rebound) or the SQLite committer's *sql.Conn inside BEGIN … COMMIT.
type execQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// compactIn replaces room's snapshot and drops the log entries it covers,
// inside the caller's transaction.
func compactIn(ctx context.Context, tx execQuerier, dialect Dialect, room string, baseSeq, upTo int64, snapshot []byte) error {
	q := `SELECT snapshot_seq, last_seq FROM collab_docs WHERE room = ?`
	if dialect == Postgres {
		q += ` FOR UPDATE`
	}
	var snapSeq, lastSeq int64
	err := tx.QueryRowContext(ctx, q, room).Scan(&snapSeq, &lastSeq)
	if errors.Is(err, sql.ErrNoRows) {
		return collab.ErrCompactConflict
	}
	if err != nil {
		return fmt.Errorf("store: compact room %s: %w", room, err)
	}
	if dialect == SQLite {
		// last_seq is a lower bound there (see sqliteLastLogSeq).
		var m sql.NullInt64
		if err := tx.QueryRowContext(ctx, sqliteLastLogSeq, room).Scan(&m); err != nil {
			return fmt.Errorf("store: compact room %s: %w", room, err)
		}
		lastSeq = max(lastSeq, m.Int64)
	}
	if snapSeq != baseSeq || upTo < baseSeq || upTo > lastSeq {
		return collab.ErrCompactConflict
	}
	if snapshot == nil {
		snapshot = []byte{}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE collab_docs SET snapshot = ?, snapshot_seq = ?, last_seq = ?, updated_at = ? WHERE room = ?`,
		snapshot, upTo, lastSeq, time.Now().UTC(), room); err != nil {
		return fmt.Errorf("store: compact room %s: %w", room, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM collab_updates WHERE room = ? AND seq <= ?`, room, upTo); err != nil {
		return fmt.Errorf("store: compact room %s: %w", room, err)
	}
	return nil
}

// Delete removes room's snapshot and log for good (the projects module
// purges a project's document this way). Connections to the room should
// be gone first: a hub that still holds the room would append to it again.
func (s *DocStore) Delete(ctx context.Context, room string) error {
	return s.db.WithTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM collab_updates WHERE room = ?`, room); err != nil {
			return fmt.Errorf("store: delete room %s: %w", room, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM collab_docs WHERE room = ?`, room); err != nil {
			return fmt.Errorf("store: delete room %s: %w", room, err)
		}
		return nil
	})
}

// roomGroup is a run of live requests for one room: live[i:j], n updates.
type roomGroup struct {
	room string
	i, j int
	n    int
}

// SQLite appends do not write the room's collab_docs row: it holds the
// snapshot, and SQLite rewrites a whole row (reading a large snapshot's
// overflow pages) for any change to it, which made every append cost in
// proportion to the document once a room was compacted. The SQLite
// committer is the only writer of the log (BEGIN IMMEDIATE serializes it
// with any other), so it numbers entries after the log's last one, or,
// when the log is empty, after the row's snapshot_seq and last_seq.
// last_seq is therefore a lower bound on SQLite (compaction raises it);
// PostgreSQL keeps it exact, its row lock ordering appends across nodes.
const (
	sqliteLastLogSeq   = `SELECT MAX(seq) FROM collab_updates WHERE room = ?`
	sqliteEnsureDoc    = `INSERT INTO collab_docs (room, snapshot_seq, last_seq, updated_at) VALUES (?, 0, 0, ?) ON CONFLICT (room) DO NOTHING`
	sqliteDocSeqs      = `SELECT snapshot_seq, last_seq FROM collab_docs WHERE room = ?`
	sqliteInsertUpdate = `INSERT INTO collab_updates (room, seq, data) VALUES (?, ?, ?)`
)

// sqliteCommitter is the SQLite committer's own connection. Everything it
// runs is prepared once on it, including BEGIN IMMEDIATE and COMMIT: the
// pool, database/sql's transaction wrapper and parsing the same few
// statements for every batch cost more than SQLite's own work on a batch
// of one update (which is what a quiet room sends). Parsing a multi-row
// statement of a new shape per batch cost more still, so rows go one
// prepared statement at a time (there is no network between us and
// SQLite).
//
// Durability is SQLite's in WAL mode with synchronous=NORMAL (store.Open):
// COMMIT returns once the transaction is in the WAL file, so an
// acknowledged append survives the process being killed (kill -9); a
// power loss can lose the last commits before the next checkpoint's fsync.
type sqliteCommitter struct {
	conn                  *sql.Conn
	begin, end, rollback  *sql.Stmt
	lastLogSeq, ensureDoc *sql.Stmt
	docSeqs, insert       *sql.Stmt
}

func openSQLiteCommitter(ctx context.Context, db *sql.DB) (*sqliteCommitter, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	c := &sqliteCommitter{conn: conn}
	for _, p := range []struct {
		st **sql.Stmt
		q  string
	}{
		{&c.begin, "BEGIN IMMEDIATE"}, {&c.end, "COMMIT"}, {&c.rollback, "ROLLBACK"},
		{&c.lastLogSeq, sqliteLastLogSeq}, {&c.ensureDoc, sqliteEnsureDoc},
		{&c.docSeqs, sqliteDocSeqs}, {&c.insert, sqliteInsertUpdate},
	} {
		if *p.st, err = conn.PrepareContext(ctx, p.q); err != nil { //nolint:sqlclosecheck // closed by sqliteCommitter.close
			c.close()
			return nil, err
		}
	}
	return c, nil
}

func (c *sqliteCommitter) close() {
	for _, st := range []*sql.Stmt{c.begin, c.end, c.rollback, c.lastLogSeq, c.ensureDoc, c.docSeqs, c.insert} {
		if st != nil {
			_ = st.Close()
		}
	}
	_ = c.conn.Close()
}

// commitSQLite writes a batch in one transaction on the committer's
// connection, retrying like DB.WithTx when SQLite reports a transient
// conflict (another writer held the database past the busy timeout).
func (s *DocStore) commitSQLite(ctx context.Context, live []*appendReq, groups []roomGroup, seqs []int64) error {
	backoff := 5 * time.Millisecond
	for attempt := 1; ; attempt++ {
		if s.lite == nil {
			c, err := openSQLiteCommitter(ctx, s.db.SQL())
			if err != nil {
				return fmt.Errorf("store: prepare appends: %w", err)
			}
			s.lite = c
		}
		err := s.lite.write(ctx, live, groups, seqs)
		if err == nil {
			return nil
		}
		if !IsRetryable(err) || attempt >= 5 {
			// A connection in an unknown state is not reused.
			s.lite.close()
			s.lite = nil
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("store: append retry: %w (last error: %w)", ctx.Err(), err)
		case <-t.C:
		}
		backoff = min(backoff*2, 500*time.Millisecond)
	}
}

// inTx runs fn between BEGIN IMMEDIATE and COMMIT on the committer's
// connection; when fn or COMMIT fails it rolls back. ctx must not be
// cancellable (see write).
func (c *sqliteCommitter) inTx(ctx context.Context, fn func() error) (err error) {
	if _, err := c.begin.ExecContext(ctx); err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_, _ = c.rollback.ExecContext(ctx)
		}
	}()
	if err := fn(); err != nil {
		return err
	}
	if _, err := c.end.ExecContext(ctx); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// lastSeq returns the last sequence number handed out in room (see
// sqliteLastLogSeq), creating the room's row on its first append.
func (c *sqliteCommitter) lastSeq(ctx context.Context, room string, now time.Time) (int64, error) {
	var m sql.NullInt64
	if err := c.lastLogSeq.QueryRowContext(ctx, room).Scan(&m); err != nil {
		return 0, err
	}
	if m.Valid {
		return m.Int64, nil
	}
	if _, err := c.ensureDoc.ExecContext(ctx, room, now); err != nil {
		return 0, err
	}
	var snap, last int64
	if err := c.docSeqs.QueryRowContext(ctx, room).Scan(&snap, &last); err != nil {
		return 0, err
	}
	return max(snap, last), nil
}

// write reserves each room's sequence numbers and writes its rows, in
// room order, in one transaction; on error it rolls back. The statements
// run without a cancellable context: modernc.org/sqlite starts a watcher
// goroutine per statement for one, and SQLite's busy timeout (5 s)
// already bounds the only wait.
func (c *sqliteCommitter) write(ctx context.Context, live []*appendReq, groups []roomGroup, seqs []int64) error {
	ctx = context.WithoutCancel(ctx)
	return c.inTx(ctx, func() error {
		now := time.Now().UTC()
		for _, g := range groups {
			seq, err := c.lastSeq(ctx, g.room, now)
			if err != nil {
				return err
			}
			for k := g.i; k < g.j; k++ {
				for _, u := range live[k].updates {
					seq++
					if u == nil {
						u = []byte{}
					}
					if _, err := c.insert.ExecContext(ctx, g.room, seq, u); err != nil {
						return err
					}
				}
				seqs[k] = seq
			}
		}
		return nil
	})
}
