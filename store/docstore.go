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
		err = s.commitPostgres(ctx, live, groups, seqs)
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

// pgAppend is a PostgreSQL batch in one statement, so one round trip and
// one implicit transaction: the upsert reserves every room's sequence
// numbers (taking the rooms' row locks in the order given, which is room
// order), and the insert numbers each room's updates after the room's old
// last_seq. The last column counts the rows written.
const pgAppend = `WITH d AS (
	INSERT INTO collab_docs (room, snapshot_seq, last_seq, updated_at)
	SELECT r.room, 0, r.n, $1 FROM unnest($2::text[], $3::bigint[]) AS r(room, n)
	ON CONFLICT (room) DO UPDATE SET last_seq = collab_docs.last_seq + excluded.last_seq, updated_at = excluded.updated_at
	RETURNING room, last_seq
), ins AS (
	INSERT INTO collab_updates (room, seq, data)
	SELECT u.room, d.last_seq - u.n + u.ord, u.data
	FROM unnest($4::text[], $5::bigint[], $6::bigint[], $7::bytea[]) AS u(room, n, ord, data)
	JOIN d ON d.room = u.room
	RETURNING 1
)
SELECT room, last_seq, (SELECT count(*) FROM ins) FROM d`

// commitPostgres writes a batch with pgAppend, retrying a deadlock or
// serialization failure. It was a transaction of four round trips (BEGIN,
// the upsert, a multi-row insert, COMMIT): with PostgreSQL on the same
// 2-vCPU machine a commit took 1.2-1.5 ms in collabbench's one room of 50
// clients (p50 3.2-3.5 ms); as one statement 0.8 ms (p50 2.4-2.7 ms).
func (s *DocStore) commitPostgres(ctx context.Context, live []*appendReq, groups []roomGroup, seqs []int64) error {
	rooms := make([]string, len(groups))
	counts := make([]int64, len(groups))
	var uRoom []string
	var uN, uOrd []int64
	var uData [][]byte
	for gi, g := range groups {
		rooms[gi], counts[gi] = g.room, int64(g.n)
		ord := int64(0)
		for k := g.i; k < g.j; k++ {
			for _, u := range live[k].updates {
				if u == nil {
					u = []byte{} // a nil element would be NULL
				}
				ord++
				uRoom, uN, uOrd, uData = append(uRoom, g.room), append(uN, int64(g.n)), append(uOrd, ord), append(uData, u)
			}
		}
	}
	last := make(map[string]int64, len(groups))
	err := retryTransient(ctx, func() error {
		clear(last)
		rows, err := s.db.SQL().QueryContext(ctx, pgAppend, time.Now().UTC(), rooms, counts, uRoom, uN, uOrd, uData)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var room string
			var l, written int64
			if err := rows.Scan(&room, &l, &written); err != nil {
				return err
			}
			if written != int64(len(uData)) {
				return fmt.Errorf("store: append wrote %d of %d updates", written, len(uData))
			}
			last[room] = l
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	for _, g := range groups {
		l, ok := last[g.room]
		if !ok {
			return fmt.Errorf("store: no sequence returned for room %s", g.room)
		}
		// The sequence numbers go out in request order.
		seq := l - int64(g.n)
		for k := g.i; k < g.j; k++ {
			seq += int64(len(live[k].updates))
			seqs[k] = seq
		}
	}
	return nil
}

// retryTransient runs fn until it succeeds, fails with an error that is
// not IsRetryable, or has failed five times, sleeping a doubling backoff
// (5 ms, up to 500 ms) between tries.
func retryTransient(ctx context.Context, fn func() error) error {
	backoff := 5 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || !IsRetryable(err) || attempt >= 5 {
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
	return retryTransient(ctx, func() error {
		if s.lite == nil {
			c, err := openSQLiteCommitter(ctx, s.db.SQL())
			if err != nil {
				return fmt.Errorf("store: prepare appends: %w", err)
			}
			s.lite = c
		}
		err := s.lite.write(ctx, live, groups, seqs)
		if err != nil {
			// A connection in an unknown state is not reused.
			s.lite.close()
			s.lite = nil
		}
		return err
	})
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
