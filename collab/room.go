package collab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/maxbooster/maxbooster/crdt"
	"github.com/maxbooster/maxbooster/crdt/lib0"
)

type eventKind uint8

const (
	evJoin eventKind = iota
	evLeave
	evMessage
	evBus
	evRevoke
	evState   // in-process: Hub.State
	evApply   // in-process: Hub.Apply
	evWatch   // in-process: Hub.Watch
	evUnwatch // in-process: Watcher.Close
)

type roomEvent struct {
	kind   eventKind
	c      *conn
	msg    Message
	frame  []byte            // evBus; the update for evApply
	reply  chan error        // evJoin
	result chan inprocResult // evState, evApply, evWatch
	w      *Watcher          // evWatch, evUnwatch
	userID string            // evRevoke
	role   Role              // evRevoke; 0 = removed
}

// pendingUpdate is an update applied to the room's document but not yet
// durable: nobody else sees it until flush has appended it to the store.
type pendingUpdate struct {
	from  *conn
	store [][]byte // what goes into the log
	relay [][]byte // what other connections receive
}

// room is one project's live document. Its run goroutine owns every field
// below the line; the others are set at creation.
type room struct {
	id  string
	hub *Hub
	log *slog.Logger
	// inbox carries pointers: 128 slots cost 1 KiB per room, not 17 KiB
	// (an idle room of ten connections held 1.7 KB per connection).
	inbox chan *roomEvent
	quit  chan struct{} // closed when the room's loop ends

	// Set up by run for the loop.
	ticker      *time.Ticker
	unsubscribe func() // from the bus; nil without one

	// refs counts connections that joined or are joining; guarded by hub.mu.
	refs     int
	detached bool // removed from hub.rooms; guarded by hub.mu

	// ----- owned by run -----
	doc          *crdt.Doc
	aw           *Awareness
	conns        map[*conn]struct{}
	watchers     map[*Watcher]struct{} // in-process followers (Hub.Watch)
	pending      []pendingUpdate
	pendingBytes int
	emitted      [][]byte
	logLen       int // log entries since the last known snapshot
	logBytes     int // their bytes
	snapBytes    int // size of the last known snapshot
	failed       error
	idleSince    time.Time
	compacting   bool
	compactDone  chan struct{}
	compactSize  int // the snapshot's size, set before compactDone closes; -1 if none was written
}

func newRoom(h *Hub, id string) *room {
	return &room{
		id:    id,
		hub:   h,
		log:   h.log.With(slog.String("room", id)),
		inbox: make(chan *roomEvent, 128),
		quit:  make(chan struct{}),
		aw:    NewAwareness(),
		conns: make(map[*conn]struct{}),
	}
}

// send delivers ev to the room unless it has stopped or ctx ended.
func (r *room) send(ctx context.Context, ev *roomEvent) bool {
	select {
	case r.inbox <- ev:
		return true
	case <-r.quit:
		return false
	case <-ctx.Done():
		return false
	}
}

// run is the room's goroutine: it subscribes to the bus, loads the
// document and runs loop. The room is over (quit closed) once the loop
// ends: idle with no connections, broken, or the hub closing.
func (r *room) run(ctx context.Context) {
	if r.hub.bus != nil {
		cancel, err := r.hub.bus.Subscribe(ctx, r.id, func(msg []byte) {
			r.send(ctx, &roomEvent{kind: evBus, frame: msg})
		})
		if err != nil {
			r.failed = fmt.Errorf("%w: subscribe: %w", ErrRoomUnavailable, err)
		} else {
			r.unsubscribe = cancel
		}
	}
	if r.failed == nil {
		r.load(ctx)
	}
	r.ticker = time.NewTicker(r.hub.opts.Tick)
	r.idleSince = time.Now()
	r.loop(ctx)
}

// loop handles the room's events until the room ends.
//
// A goroutine's stack grows to the deepest call it made (applying an
// update, answering a sync) and shrinks only when the garbage collector
// finds it mostly unused. So after a tick with no event, a loop that has
// handled events hands the room to a fresh goroutine with a small stack:
// a quiet room then waits on 2 KiB instead of the 8 KiB its busy moments
// took (with ten connections per room, 0.6 KB per idle connection).
func (r *room) loop(ctx context.Context) {
	handled, recent := false, false
	for {
		select {
		case ev := <-r.inbox:
			r.handle(ctx, ev)
			if len(r.pending) > 0 && (len(r.inbox) == 0 || len(r.pending) >= maxBatchUpdates || r.pendingBytes >= maxBatchBytes) {
				r.flush(ctx)
			}
			handled, recent = true, true
		case now := <-r.ticker.C:
			r.tick(ctx, now)
			if r.unloadIfIdle(now) {
				r.shutdown(ctx)
				r.end()
				return
			}
			if handled && !recent {
				go r.loop(ctx)
				return
			}
			recent = false
		case <-r.compactDone:
			if r.compactSize >= 0 {
				r.snapBytes = r.compactSize
			}
			r.compactDone, r.compacting = nil, false
		case <-ctx.Done():
			r.shutdown(ctx)
			r.hub.detach(r)
			r.end()
			return
		}
	}
}

// end releases what run set up, marks the room over and ends its count in
// the hub's wait group (the loop may have moved to another goroutine since
// run began, so that goroutine's end is not the room's).
func (r *room) end() {
	r.ticker.Stop()
	if r.unsubscribe != nil {
		r.unsubscribe()
	}
	close(r.quit)
	r.hub.wg.Done()
}

const (
	maxBatchUpdates = 512
	maxBatchBytes   = 4 << 20
)

// load reads the room's document from the store. A document that cannot
// be read or applied leaves the room failed: joins are refused with
// ErrRoomUnavailable and nothing is ever written over it.
func (r *room) load(ctx context.Context) {
	start := time.Now()
	lctx, cancel := context.WithTimeout(ctx, r.hub.opts.StoreTimeout)
	sd, err := r.hub.store.Load(lctx, r.id)
	cancel()
	if err != nil {
		r.failed = fmt.Errorf("%w: load: %w", ErrRoomUnavailable, err)
		r.log.LogAttrs(ctx, slog.LevelError, "collab: room load failed", slog.Any("err", err))
		return
	}
	doc, err := docFromStored(sd)
	if err != nil {
		r.failed = fmt.Errorf("%w: %w", ErrRoomUnavailable, err)
		r.log.LogAttrs(ctx, slog.LevelError, "collab: stored document does not apply", slog.Any("err", err))
		return
	}
	r.doc = doc
	r.logLen = len(sd.Updates)
	r.snapBytes = len(sd.Snapshot)
	for _, u := range sd.Updates {
		r.logBytes += len(u.Update)
	}
	r.doc.OnUpdate(func(u []byte, _ any, _ *crdt.Transaction) { r.emitted = append(r.emitted, u) })
	r.log.LogAttrs(ctx, slog.LevelDebug, "collab: room loaded",
		slog.Int("log", len(sd.Updates)), slog.Int("snapshot_bytes", len(sd.Snapshot)), slog.Duration("took", time.Since(start)))
	if r.shouldCompact() {
		r.startCompaction(ctx)
	}
}

// docFromStored builds a document from a stored snapshot and log.
//
// The log is merged (crdt.MergeUpdates) and applied in one transaction:
// replaying it entry by entry, a transaction each, made a compaction of a
// busy room hold the CPU for milliseconds (its worst fan-out latencies on
// one core). When the merged log does not apply, the document is rebuilt
// entry by entry, which names the entry at fault.
func docFromStored(sd StoredDoc) (*crdt.Doc, error) {
	fresh := func() (*crdt.Doc, error) {
		doc := crdt.NewDoc(nil)
		if len(sd.Snapshot) > 0 {
			if err := crdt.ApplyUpdate(doc, sd.Snapshot, nil); err != nil {
				return nil, fmt.Errorf("collab: snapshot at seq %d: %w", sd.SnapshotSeq, err)
			}
		}
		return doc, nil
	}
	doc, err := fresh()
	if err != nil {
		return nil, err
	}
	if len(sd.Updates) > 1 {
		log := make([][]byte, len(sd.Updates))
		for i, u := range sd.Updates {
			log[i] = u.Update
		}
		if merged, err := crdt.MergeUpdates(log); err == nil {
			if err := crdt.ApplyUpdate(doc, merged, nil); err == nil {
				return doc, nil
			}
			if doc, err = fresh(); err != nil {
				return nil, err
			}
		}
	}
	for _, u := range sd.Updates {
		if err := crdt.ApplyUpdate(doc, u.Update, nil); err != nil {
			return nil, fmt.Errorf("collab: log entry %d: %w", u.Seq, err)
		}
	}
	return doc, nil
}

func (r *room) handle(ctx context.Context, ev *roomEvent) {
	switch ev.kind {
	case evJoin:
		ev.reply <- r.join(ctx, ev.c)
	case evLeave:
		r.leave(ctx, ev.c)
	case evMessage:
		if _, ok := r.conns[ev.c]; ok {
			r.message(ctx, ev.c, ev.msg)
		}
	case evBus:
		r.fromBus(ctx, ev.frame)
	case evRevoke:
		r.revoke(ev.userID, ev.role)
	case evState:
		ev.result <- r.state(ctx)
	case evApply:
		ev.result <- r.applyServer(ctx, ev.frame)
	case evWatch:
		if err := r.watch(ctx, ev.w); err != nil {
			r.hub.dropRef(r)
			ev.result <- inprocResult{err: err}
			return
		}
		ev.result <- inprocResult{}
	case evUnwatch:
		r.endWatch(ev.w, nil)
	}
}

func (r *room) join(ctx context.Context, c *conn) error {
	if r.failed != nil {
		r.release(c)
		return r.failed
	}
	if len(r.conns) >= r.hub.opts.Limits.MaxConnsPerRoom {
		r.release(c)
		return ErrRoomFull
	}
	// A revocation made between the connection's authorization and now
	// reached the room before the connection did: apply it here.
	if role, ok := r.hub.revokedSince(r.id, c.userID, c.authAt); ok {
		if role == 0 {
			r.release(c)
			return ErrForbidden
		}
		c.setRole(role)
	}
	r.flush(ctx)
	if r.failed != nil {
		r.release(c)
		return r.failed
	}
	r.conns[c] = struct{}{}
	if c.Role().CanWrite() {
		// Ask for what the client has and we lack (offline edits). Viewers
		// are not asked: whatever they hold would be refused.
		c.enqueue(EncodeSync(SyncStep1, crdt.EncodeStateVector(r.doc)))
	}
	if states := r.aw.Snapshot(); len(states) > 0 {
		c.enqueue(EncodeAwareness(EncodeAwarenessUpdate(states)))
	}
	return nil
}

// release drops a connection's reference to the room.
func (r *room) release(c *conn) {
	h := r.hub
	h.mu.Lock()
	r.refs--
	h.userConns[c.userID]--
	if h.userConns[c.userID] <= 0 {
		delete(h.userConns, c.userID)
	}
	h.mu.Unlock()
	h.connsGauge.Add(-1)
}

func (r *room) leave(ctx context.Context, c *conn) {
	if _, ok := r.conns[c]; !ok {
		return
	}
	delete(r.conns, c)
	r.release(c)
	if len(r.conns) == 0 {
		r.idleSince = time.Now()
	}
	if gone := r.aw.RemoveOwner(c.id, time.Now()); len(gone) > 0 {
		r.relayAwareness(ctx, nil, gone)
	}
}

func (r *room) message(ctx context.Context, c *conn, m Message) {
	switch m.Type {
	case MessageSync:
		switch m.Sync {
		case SyncStep1:
			r.flush(ctx)
			if r.failed != nil {
				return
			}
			diff, err := crdt.EncodeStateAsUpdate(r.doc, m.Payload)
			if err != nil {
				if errors.Is(err, lib0.ErrUnexpectedEOF) || errors.Is(err, lib0.ErrIntegerOutOfRange) || errors.Is(err, crdt.ErrMalformedUpdate) {
					c.fail(CloseMalformed, "malformed state vector")
					return
				}
				r.log.LogAttrs(ctx, slog.LevelError, "collab: encode state", slog.Any("err", err))
				c.fail(CloseUnavailable, "cannot encode document")
				return
			}
			c.enqueue(EncodeSync(SyncStep2, diff))
		case SyncStep2, SyncUpdate:
			r.applyFrom(ctx, c, m.Payload)
		}
	case MessageAwareness:
		r.awarenessFrom(ctx, c, m.Payload)
	case MessageQueryAwareness:
		c.enqueue(EncodeAwareness(EncodeAwarenessUpdate(r.aw.Snapshot())))
	case MessageAuth:
		// Clients have nothing to say in auth messages; ignore.
	}
}

// applyFrom applies an update written by c. It becomes visible to others
// only after flush made it durable.
func (r *room) applyFrom(ctx context.Context, c *conn, update []byte) {
	if !c.Role().CanWrite() {
		c.denyWrite("read-only: role " + c.Role().String() + " cannot edit this project")
		return
	}
	hadPending := r.doc.HasPending()
	r.emitted = r.emitted[:0]
	if err := applyUpdate(r.doc, update, c); err != nil {
		if errors.Is(err, crdt.ErrDocDamaged) {
			r.docDamaged(ctx, err)
			return
		}
		r.log.LogAttrs(ctx, slog.LevelInfo, "collab: malformed update", append(c.attrs(), slog.Any("err", err))...)
		c.fail(CloseMalformed, "malformed update")
		return
	}
	p := pendingUpdate{from: c, relay: r.emitted}
	r.emitted = nil
	switch {
	case hadPending || r.doc.HasPending():
		// Part of the update waits for structs nobody sent yet: keep the
		// update as received, so the waiting part is durable too.
		p.store = [][]byte{update}
	case len(p.relay) == 0:
		c.ack() // nothing new: already durable
		return
	default:
		p.store = p.relay
	}
	for _, u := range p.store {
		r.pendingBytes += len(u)
	}
	r.pending = append(r.pending, p)
}

// applyUpdate is crdt.ApplyUpdate; tests replace it to simulate an
// integration that fails part-way.
var applyUpdate = crdt.ApplyUpdate

// docDamaged handles an update whose integration failed part-way (a bug,
// reported by crdt as ErrDocDamaged): the in-memory document can no longer
// be trusted. The room makes what is pending durable, closes every
// connection (clients reconnect, and the room then reloads from the log,
// which never holds the failed update) and unloads.
func (r *room) docDamaged(ctx context.Context, err error) {
	r.log.LogAttrs(ctx, slog.LevelError, "collab: an update failed part-way; reloading the document from the log", slog.Any("err", err))
	r.flush(ctx)
	if r.failed == nil {
		r.failed = fmt.Errorf("%w: %w", ErrRoomUnavailable, err)
	}
	for c := range r.conns {
		c.fail(CloseUnavailable, "document reloading: reconnect")
	}
	r.endAllWatches(r.failed)
	r.hub.detach(r)
}

// flush appends pending updates to the store in one call (group commit),
// then relays them to the other connections and nodes. If the store
// refuses, the room's in-memory document holds changes that are not
// durable: the room closes every connection and unloads, and clients
// resend their changes when they reconnect.
func (r *room) flush(ctx context.Context) {
	if len(r.pending) == 0 || r.failed != nil {
		return
	}
	var all [][]byte
	for _, p := range r.pending {
		all = append(all, p.store...)
	}
	// The append must finish even when the hub is shutting down: these
	// updates are in memory only.
	sctx := context.WithoutCancel(ctx)
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		actx, cancel := context.WithTimeout(sctx, r.hub.opts.StoreTimeout)
		_, err = r.hub.store.Append(actx, r.id, all)
		cancel()
		if err == nil {
			break
		}
		time.Sleep(time.Duration(50<<attempt) * time.Millisecond)
	}
	pending := r.pending
	r.pending, r.pendingBytes = nil, 0
	if err != nil {
		r.failed = fmt.Errorf("%w: append: %w", ErrRoomUnavailable, err)
		r.log.LogAttrs(ctx, slog.LevelError, "collab: append failed; closing room", slog.Any("err", err), slog.Int("updates", len(all)))
		for c := range r.conns {
			c.fail(CloseUnavailable, "document storage unavailable")
		}
		r.endAllWatches(r.failed)
		r.hub.detach(r)
		return
	}
	r.logLen += len(all)
	for _, u := range all {
		r.logBytes += len(u)
	}
	for _, p := range pending {
		if p.from != nil { // nil: Hub.Apply
			p.from.ack()
		}
	}
	r.relay(ctx, pending)
	if r.shouldCompact() {
		r.startCompaction(ctx)
	}
}

// relay sends a durable batch to every connection except each update's
// sender, and to the other nodes and in-process watchers. Every update is
// encoded into one frame shared by its receivers: a socket's queued
// frames leave in one write (cork.go), so merging the batch per receiver
// (crdt.MergeUpdates, once for all and once per sender for the others'
// updates) saved no syscall and cost a quarter of the hub's allocations.
// The other nodes get one message per batch: its updates merged.
func (r *room) relay(ctx context.Context, pending []pendingUpdate) {
	var all [][]byte
	for _, p := range pending {
		for _, u := range p.relay {
			all = append(all, u)
			frame := EncodeSync(SyncUpdate, u)
			for c := range r.conns {
				if c != p.from {
					c.enqueue(frame)
				}
			}
		}
	}
	if len(all) == 0 {
		return
	}
	r.notifyWatchers(all...)
	if r.hub.bus == nil {
		return
	}
	if len(all) == 1 {
		r.publish(ctx, busUpdate, all[0])
		return
	}
	merged, err := crdt.MergeUpdates(all)
	if err != nil {
		for _, u := range all {
			r.publish(ctx, busUpdate, u)
		}
		return
	}
	r.publish(ctx, busUpdate, merged)
}

func (r *room) publish(ctx context.Context, kind busKind, payload []byte) {
	if r.hub.bus == nil {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, r.hub.opts.StoreTimeout)
	defer cancel()
	msg := encodeBusMessage(busMessage{node: r.hub.nodeID, kind: kind, payload: payload})
	if err := r.hub.bus.Publish(pctx, r.id, msg); err != nil {
		r.log.LogAttrs(ctx, slog.LevelError, "collab: bus publish failed", slog.Any("err", err))
	}
}

func (r *room) awarenessFrom(ctx context.Context, c *conn, payload []byte) {
	lim := &r.hub.opts.Limits
	entries, err := DecodeAwarenessUpdate(payload, AwarenessLimits{MaxEntries: lim.MaxAwarenessEntries, MaxStateBytes: lim.MaxAwarenessStateBytes})
	if err != nil {
		if errors.Is(err, ErrMessageTooLarge) {
			c.fail(CloseRateLimited, "awareness update too large")
		} else {
			c.fail(CloseMalformed, "malformed awareness update")
		}
		return
	}
	if len(entries) == 0 {
		return
	}
	if !c.awarenessBucket.take(time.Now(), 1, lim.AwarenessPerSecond, lim.AwarenessBurst) {
		// Throttled: keep the newest entry per client and send it when the
		// budget allows (on a tick), so the last cursor position of a burst
		// is never lost.
		c.holdAwareness(entries, lim.MaxAwarenessEntries)
		return
	}
	if c.awarenessHeld != nil {
		entries = c.takeHeldAwareness(entries)
	}
	accepted := r.aw.Apply(entries, c.id, time.Now(), lim.MaxAwarenessPerConn)
	if len(accepted) > 0 {
		r.relayAwareness(ctx, c, accepted)
	}
}

// releaseHeldAwareness sends what throttled connections held back, as far
// as their budgets allow. It runs on each tick.
func (r *room) releaseHeldAwareness(ctx context.Context, now time.Time) {
	lim := &r.hub.opts.Limits
	for c := range r.conns {
		if c.awarenessHeld == nil || !c.awarenessBucket.take(now, 1, lim.AwarenessPerSecond, lim.AwarenessBurst) {
			continue
		}
		accepted := r.aw.Apply(c.takeHeldAwareness(nil), c.id, now, lim.MaxAwarenessPerConn)
		if len(accepted) > 0 {
			r.relayAwareness(ctx, c, accepted)
		}
	}
}

// relayAwareness sends entries to every connection but from, and to the
// other nodes.
func (r *room) relayAwareness(ctx context.Context, from *conn, entries []AwarenessEntry) {
	u := EncodeAwarenessUpdate(entries)
	frame := EncodeAwareness(u)
	for c := range r.conns {
		if c != from {
			c.enqueue(frame)
		}
	}
	if from != nil || r.hub.bus != nil {
		r.publish(ctx, busAwareness, u)
	}
}

func (r *room) fromBus(ctx context.Context, raw []byte) {
	m, err := decodeBusMessage(raw)
	if err != nil {
		r.log.LogAttrs(ctx, slog.LevelWarn, "collab: bad bus message", slog.Any("err", err))
		return
	}
	if m.node == r.hub.nodeID || r.failed != nil || r.doc == nil {
		return
	}
	switch m.kind {
	case busUpdate:
		r.emitted = r.emitted[:0]
		if err := applyUpdate(r.doc, m.payload, nil); err != nil {
			if errors.Is(err, crdt.ErrDocDamaged) {
				r.docDamaged(ctx, err)
				return
			}
			r.log.LogAttrs(ctx, slog.LevelWarn, "collab: bus update does not apply", slog.Any("err", err))
			return
		}
		emitted := r.emitted
		r.emitted = nil
		r.notifyWatchers(emitted...)
		for _, u := range emitted {
			frame := EncodeSync(SyncUpdate, u)
			for c := range r.conns {
				c.enqueue(frame)
			}
		}
	case busAwareness:
		entries, err := DecodeAwarenessUpdate(m.payload, AwarenessLimits{})
		if err != nil {
			return
		}
		if accepted := r.aw.Apply(entries, 0, time.Now(), 0); len(accepted) > 0 {
			frame := EncodeAwareness(EncodeAwarenessUpdate(accepted))
			for c := range r.conns {
				c.enqueue(frame)
			}
		}
	case busRevoke:
		d := lib0.NewDecoder(m.payload)
		user, err1 := d.ReadVarString()
		role, err2 := d.ReadVarUint()
		if err1 == nil && err2 == nil && role <= uint64(RoleOwner) {
			r.hub.mu.Lock()
			r.hub.noteRevocationLocked(r.id, user, Role(role))
			r.hub.mu.Unlock()
			r.revoke(user, Role(role))
		}
	}
}

// revoke applies a membership change to open connections: role 0 cuts
// the user off, a lower role takes effect on their next message.
func (r *room) revoke(userID string, role Role) {
	for c := range r.conns {
		if c.userID != userID {
			continue
		}
		if role == 0 {
			c.fail(CloseForbidden, "access to this project was revoked")
			continue
		}
		c.setRole(role)
	}
}

func (r *room) tick(ctx context.Context, now time.Time) {
	r.releaseHeldAwareness(ctx, now)
	if gone := r.aw.Expire(now, r.hub.opts.AwarenessTimeout); len(gone) > 0 {
		frame := EncodeAwareness(EncodeAwarenessUpdate(gone))
		for c := range r.conns {
			c.enqueue(frame)
		}
	}
}

// unloadIfIdle detaches the room from the hub when nobody used it for
// IdleTimeout (at once when it failed). It reports whether it did.
func (r *room) unloadIfIdle(now time.Time) bool {
	if len(r.conns) > 0 || len(r.watchers) > 0 || r.compacting {
		return false
	}
	if r.failed == nil && now.Sub(r.idleSince) < r.hub.opts.IdleTimeout {
		return false
	}
	h := r.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.refs > 0 {
		if !r.detached {
			return false
		}
		// Detached (broken) with joins still queued: answer them first.
		return false
	}
	if !r.detached {
		delete(h.rooms, r.id)
		r.detached = true
	}
	return true
}

// shutdown closes the room's connections and makes sure nothing pending
// is lost: pending updates are flushed (store before unload).
func (r *room) shutdown(ctx context.Context) {
	// Use a fresh context: the hub's may be cancelled, but the flush must
	// still reach the store.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.hub.opts.StoreTimeout)
	defer cancel()
	r.flush(fctx)
	for c := range r.conns {
		c.fail(CloseGoingAway, "server shutting down")
	}
	r.endAllWatches(ErrHubClosed)
	if r.compactDone != nil {
		<-r.compactDone
	}
	// Answer joins that raced with the unload.
	for {
		select {
		case ev := <-r.inbox:
			switch ev.kind {
			case evJoin:
				r.release(ev.c)
				ev.reply <- ErrHubClosed
			case evWatch:
				r.hub.dropRef(r)
				ev.result <- inprocResult{err: ErrHubClosed}
			case evState, evApply:
				ev.result <- inprocResult{err: ErrHubClosed}
			case evLeave, evMessage, evBus, evRevoke, evUnwatch:
				// Nobody waits for an answer; the room is gone.
			}
		default:
			return
		}
	}
}

// shouldCompact reports whether the log since the snapshot is due for
// compaction: CompactAfter entries, and at least half the snapshot's size
// in bytes. A compaction rebuilds the whole document, so compacting every
// CompactAfter entries made its cost per update grow with the document
// (in a busy room it was 15% of the hub's CPU and its worst latencies);
// this way the cost per update stays flat, and loading a room replays a
// log at most half the snapshot's size.
func (r *room) shouldCompact() bool {
	return r.logLen >= r.hub.opts.CompactAfter && 2*r.logBytes >= r.snapBytes
}

// startCompaction merges the room's log into a new snapshot in the
// background, reading from the store (not from memory), so it is correct
// even when other nodes append to the same room.
func (r *room) startCompaction(ctx context.Context) {
	if r.compacting {
		return
	}
	r.compacting = true
	r.logLen, r.logBytes = 0, 0
	r.compactSize = -1
	done := make(chan struct{})
	r.compactDone = done
	h := r.hub
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer close(done)
		size, err := compact(context.WithoutCancel(ctx), h.store, r.id, h.opts.StoreTimeout)
		if err != nil && !errors.Is(err, ErrCompactConflict) {
			r.log.LogAttrs(ctx, slog.LevelWarn, "collab: compaction failed", slog.Any("err", err))
		}
		r.compactSize = size
	}()
}

// Compact merges room's stored log into a new snapshot: it loads the
// snapshot and log, applies them to a fresh document, and stores that
// document's state as the snapshot covering every entry it read. A
// concurrent compaction elsewhere makes it fail with ErrCompactConflict
// and change nothing.
func Compact(ctx context.Context, store DocStore, roomID string, timeout time.Duration) error {
	_, err := compact(ctx, store, roomID, timeout)
	return err
}

// compact is Compact; it also returns the size of the snapshot it wrote
// (-1 when it wrote none).
func compact(ctx context.Context, store DocStore, roomID string, timeout time.Duration) (int, error) {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sd, err := store.Load(ctx, roomID)
	if err != nil {
		return -1, fmt.Errorf("collab: compact %s: load: %w", roomID, err)
	}
	if len(sd.Updates) == 0 {
		return len(sd.Snapshot), nil
	}
	// Each step below can take milliseconds for a large document; yielding
	// between them lets rooms and writers run in between when the hub has
	// one CPU (one room of 50: p99 2.7-3.2 ms before, 2.4-2.6 ms after).
	runtime.Gosched()
	doc, err := docFromStored(sd)
	if err != nil {
		return -1, fmt.Errorf("collab: compact %s: %w", roomID, err)
	}
	runtime.Gosched()
	state, err := crdt.EncodeStateAsUpdate(doc, nil)
	if err != nil {
		return -1, fmt.Errorf("collab: compact %s: encode: %w", roomID, err)
	}
	runtime.Gosched()
	if err := store.Compact(ctx, roomID, sd.SnapshotSeq, sd.LastSeq(), state); err != nil {
		return -1, fmt.Errorf("collab: compact %s: %w", roomID, err)
	}
	return len(state), nil
}
