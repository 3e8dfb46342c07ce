package collab

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/maxbooster/maxbooster/crdt"
)

// The in-process API: server-side code (REST, previews, features that add
// clips) reads, edits and follows a project's document through the hub,
// so it sees exactly what connected editors see and its edits take the
// same path as theirs: durably appended, then relayed to every
// connection and node.

// ErrSlowWatcher ends a Watcher whose consumer fell more than
// WatchBuffer updates behind. Watch again to resynchronise.
var ErrSlowWatcher = errors.New("collab: watcher fell behind")

// WatchBuffer is how many updates a Watcher holds for its consumer.
const WatchBuffer = 1024

type inprocResult struct {
	update []byte
	err    error
}

// holdRoom returns the room for id, loading it on first use, with a
// reference held that keeps it loaded until dropRef.
func (h *Hub) holdRoom(id string) (*room, error) {
	if !roomIDPattern.MatchString(id) {
		return nil, fmt.Errorf("collab: invalid room id %q", id)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrHubClosed
	}
	rm := h.roomLocked(id)
	rm.refs++
	return rm, nil
}

func (h *Hub) dropRef(rm *room) {
	h.mu.Lock()
	rm.refs--
	h.mu.Unlock()
}

// ask sends ev (with a fresh result channel) to room id and waits for the
// answer.
func (h *Hub) ask(ctx context.Context, id string, ev *roomEvent) ([]byte, error) {
	rm, err := h.holdRoom(id)
	if err != nil {
		return nil, err
	}
	defer h.dropRef(rm)
	ev.result = make(chan inprocResult, 1)
	if !rm.send(ctx, ev) {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, ErrHubClosed
	}
	select {
	case res := <-ev.result:
		return res.update, res.err
	case <-rm.quit:
		// The room unloaded before answering (the hub is closing).
		select {
		case res := <-ev.result:
			return res.update, res.err
		default:
			return nil, ErrHubClosed
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// State returns room's whole document as a Yjs v1 update, including every
// update accepted so far. A room that is not loaded is loaded (and later
// unloaded when idle). A document that cannot be loaded is an error
// wrapping ErrRoomUnavailable.
func (h *Hub) State(ctx context.Context, roomID string) ([]byte, error) {
	return h.ask(ctx, roomID, &roomEvent{kind: evState})
}

// Apply applies a server-side edit, a Yjs v1 update, to room. It returns
// once the update is durable in the store; it is then relayed to every
// connection and node like an editor's. A malformed update is an error
// wrapping crdt.ErrMalformedUpdate and changes nothing.
func (h *Hub) Apply(ctx context.Context, roomID string, update []byte) error {
	_, err := h.ask(ctx, roomID, &roomEvent{kind: evApply, frame: update})
	return err
}

// Watcher follows one room's document: Updates yields the whole state
// first, then every update the room applies, in order (from connections,
// Apply, and other nodes). Apply them to a crdt.Doc to keep a live copy.
type Watcher struct {
	hub  *Hub
	rm   *room
	ch   chan []byte
	once sync.Once
	err  error // set by the room goroutine before ch closes
}

// Watch starts following roomID. Close the Watcher when done: it keeps
// the room loaded.
func (h *Hub) Watch(ctx context.Context, roomID string) (*Watcher, error) {
	rm, err := h.holdRoom(roomID)
	if err != nil {
		return nil, err
	}
	w := &Watcher{hub: h, rm: rm, ch: make(chan []byte, WatchBuffer)}
	ev := &roomEvent{kind: evWatch, w: w, result: make(chan inprocResult, 1)}
	if !rm.send(ctx, ev) {
		h.dropRef(rm)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, ErrHubClosed
	}
	// From here the room owns the reference: it drops it when it ends the
	// watch.
	select {
	case res := <-ev.result:
		if res.err != nil {
			return nil, res.err
		}
		return w, nil
	case <-rm.quit:
		select {
		case res := <-ev.result:
			if res.err != nil {
				return nil, res.err
			}
			return w, nil
		default:
			h.dropRef(rm)
			return nil, ErrHubClosed
		}
	case <-ctx.Done():
		w.Close()
		return nil, ctx.Err()
	}
}

// Updates returns the channel of updates. It is closed when the watch
// ends; Err then says why.
func (w *Watcher) Updates() <-chan []byte { return w.ch }

// Err returns why Updates was closed: nil after Close, ErrSlowWatcher,
// ErrHubClosed when the hub or room shut down, or the room's failure.
// It is meaningful once Updates is closed.
func (w *Watcher) Err() error { return w.err }

// Close ends the watch. It does not wait for the room.
func (w *Watcher) Close() {
	w.once.Do(func() {
		select {
		case w.rm.inbox <- &roomEvent{kind: evUnwatch, w: w}:
		case <-w.rm.quit:
		default:
			// The inbox is full: do not block the caller.
			go w.rm.send(w.hub.base, &roomEvent{kind: evUnwatch, w: w})
		}
	})
}

// ----- room side (run goroutine) -----

func (r *room) state(ctx context.Context) inprocResult {
	if r.failed != nil {
		return inprocResult{err: r.failed}
	}
	r.flush(ctx)
	if r.failed != nil {
		return inprocResult{err: r.failed}
	}
	u, err := crdt.EncodeStateAsUpdate(r.doc, nil)
	if err != nil {
		return inprocResult{err: fmt.Errorf("collab: encode state: %w", err)}
	}
	return inprocResult{update: u}
}

// applyServer applies a server-side update and flushes at once, so the
// caller's return means durable.
func (r *room) applyServer(ctx context.Context, update []byte) inprocResult {
	if r.failed != nil {
		return inprocResult{err: r.failed}
	}
	hadPending := r.doc.HasPending()
	r.emitted = r.emitted[:0]
	if err := applyUpdate(r.doc, update, serverOrigin{}); err != nil {
		r.emitted = nil
		if errors.Is(err, crdt.ErrDocDamaged) {
			r.docDamaged(ctx, err)
		}
		return inprocResult{err: fmt.Errorf("collab: apply: %w", err)}
	}
	p := pendingUpdate{relay: r.emitted}
	r.emitted = nil
	switch {
	case hadPending || r.doc.HasPending():
		p.store = [][]byte{update}
	case len(p.relay) == 0:
		return inprocResult{} // nothing new
	default:
		p.store = p.relay
	}
	for _, u := range p.store {
		r.pendingBytes += len(u)
	}
	r.pending = append(r.pending, p)
	r.flush(ctx)
	return inprocResult{err: r.failed}
}

// serverOrigin is the transaction origin of Apply's edits.
type serverOrigin struct{}

func (r *room) watch(ctx context.Context, w *Watcher) error {
	if r.failed != nil {
		return r.failed
	}
	res := r.state(ctx)
	if res.err != nil {
		return res.err
	}
	w.ch <- res.update // the channel is new and buffered
	if r.watchers == nil {
		r.watchers = make(map[*Watcher]struct{})
	}
	r.watchers[w] = struct{}{}
	return nil
}

// endWatch closes w with err and drops its room reference.
func (r *room) endWatch(w *Watcher, err error) {
	if _, ok := r.watchers[w]; !ok {
		return
	}
	delete(r.watchers, w)
	w.err = err
	close(w.ch)
	r.hub.dropRef(r)
	if len(r.conns) == 0 && len(r.watchers) == 0 {
		r.idleSince = time.Now()
	}
}

// notifyWatchers hands applied updates to every watcher; one that is full
// is ended with ErrSlowWatcher rather than blocking the room.
func (r *room) notifyWatchers(updates ...[]byte) {
	for w := range r.watchers {
		for _, u := range updates {
			select {
			case w.ch <- u:
			default:
				r.endWatch(w, ErrSlowWatcher)
			}
			if _, ok := r.watchers[w]; !ok {
				break
			}
		}
	}
}

// endAllWatches ends every watch with err (room unloading or failed).
func (r *room) endAllWatches(err error) {
	for w := range r.watchers {
		r.endWatch(w, err)
	}
}
