package collab

import (
	"context"
	"slices"
	"sync"
)

// DocStore is the durable home of room documents: per room, an append-only
// log of v1 updates plus a snapshot (one merged update) that stands for
// every log entry up to its sequence number.
//
// Implementations: MemStore (tests, one process), store.DocStore (SQLite
// and PostgreSQL). All of them pass collabtest.TestDocStore.
type DocStore interface {
	// Load returns room's snapshot and the log entries after it, in
	// order. An unknown room is empty, not an error.
	Load(ctx context.Context, room string) (StoredDoc, error)
	// Append durably appends updates, in order, to room's log and returns
	// the sequence number of the last one. When it returns nil the updates
	// survive a crash. Sequence numbers of one room increase by one per
	// update in commit order.
	Append(ctx context.Context, room string, updates [][]byte) (lastSeq int64, err error)
	// Compact replaces room's snapshot by snapshot, which must contain
	// every update up to and including upTo, and drops those log entries.
	// It fails with ErrCompactConflict, changing nothing, when the stored
	// snapshot is no longer the one at baseSeq (someone else compacted).
	Compact(ctx context.Context, room string, baseSeq, upTo int64, snapshot []byte) error
}

// StoredDoc is what a DocStore holds for one room.
type StoredDoc struct {
	// Snapshot is a v1 update holding every update with sequence number up
	// to SnapshotSeq; nil when the room was never compacted.
	Snapshot    []byte
	SnapshotSeq int64
	// Updates are the log entries after the snapshot, ascending.
	Updates []StoredUpdate
}

// LastSeq returns the highest sequence number the stored document covers.
func (d StoredDoc) LastSeq() int64 {
	if n := len(d.Updates); n > 0 {
		return d.Updates[n-1].Seq
	}
	return d.SnapshotSeq
}

// StoredUpdate is one log entry.
type StoredUpdate struct {
	Seq    int64
	Update []byte
}

// MemStore is a DocStore in memory, for tests and single-process demos.
// Nothing survives the process.
type MemStore struct {
	mu    sync.Mutex
	rooms map[string]*memRoom
}

type memRoom struct {
	snapshot    []byte
	snapshotSeq int64
	nextSeq     int64
	updates     []StoredUpdate
}

var _ DocStore = (*MemStore)(nil)

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{rooms: make(map[string]*memRoom)} }

// Load implements DocStore.
func (m *MemStore) Load(ctx context.Context, room string) (StoredDoc, error) {
	if err := ctx.Err(); err != nil {
		return StoredDoc{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.rooms[room]
	if r == nil {
		return StoredDoc{}, nil
	}
	d := StoredDoc{Snapshot: slices.Clone(r.snapshot), SnapshotSeq: r.snapshotSeq}
	for _, u := range r.updates {
		d.Updates = append(d.Updates, StoredUpdate{Seq: u.Seq, Update: slices.Clone(u.Update)})
	}
	return d, nil
}

// Append implements DocStore.
func (m *MemStore) Append(ctx context.Context, room string, updates [][]byte) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.rooms[room]
	if r == nil {
		r = &memRoom{}
		m.rooms[room] = r
	}
	for _, u := range updates {
		r.nextSeq++
		r.updates = append(r.updates, StoredUpdate{Seq: r.nextSeq, Update: slices.Clone(u)})
	}
	return r.nextSeq, nil
}

// Compact implements DocStore.
func (m *MemStore) Compact(ctx context.Context, room string, baseSeq, upTo int64, snapshot []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.rooms[room]
	if r == nil {
		r = &memRoom{}
		m.rooms[room] = r
	}
	if r.snapshotSeq != baseSeq || upTo < baseSeq || upTo > r.nextSeq {
		return ErrCompactConflict
	}
	r.snapshot, r.snapshotSeq = slices.Clone(snapshot), upTo
	r.updates = slices.DeleteFunc(r.updates, func(u StoredUpdate) bool { return u.Seq <= upTo })
	return nil
}
