// Package lifecycle coordinates graceful shutdown of the parts of the
// server that http.Server.Shutdown does not know about: long-lived
// connections (WebSockets, which are hijacked and so invisible to the
// server), background workers, and flush hooks that write buffered state
// to storage before the process exits.
//
// A module registers with the Group it is given:
//
//	done, ok := g.Track("collab "+room, func(ctx context.Context) error {
//		return conn.Close(websocket.StatusGoingAway, "server shutting down")
//	})
//	if !ok { /* shutting down: refuse the connection with 503 */ }
//	defer done() // the connection ended by itself
//
//	g.OnFlush("collab docs", hub.FlushAll)
//
// Main calls Shutdown (close connections, stop workers) and then Flush
// (run hooks) after the HTTP server has stopped taking requests.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrShuttingDown is returned by Go once Shutdown has begun.
var ErrShuttingDown = errors.New("lifecycle: shutting down")

// Group is a registry of long-lived connections, background workers and
// flush hooks. The zero value is not usable; call New.
type Group struct {
	stopCtx context.Context // canceled when Shutdown begins; the parent of workers' contexts
	stop    context.CancelFunc

	mu       sync.Mutex
	draining bool
	conns    map[*tracked]struct{}
	flushers []hook
	workers  sync.WaitGroup
}

type tracked struct {
	name  string
	close func(ctx context.Context) error
	once  sync.Once
	ended chan struct{} // closed by done()
}

type hook struct {
	name string
	fn   func(ctx context.Context) error
}

// New returns an empty Group.
func New() *Group {
	ctx, cancel := context.WithCancel(context.Background())
	return &Group{stopCtx: ctx, stop: cancel, conns: make(map[*tracked]struct{})}
}

// Draining reports whether Shutdown has begun. /readyz answers 503 then,
// so load balancers stop sending new work.
func (g *Group) Draining() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.draining
}

// Track registers a long-lived connection. At shutdown, closeFn is called
// once, with a context that ends at the shutdown deadline; it should say
// goodbye properly (e.g. a WebSocket close frame) and return. The caller
// must call done when the connection ends by itself; done is idempotent,
// and Shutdown waits for it after calling closeFn (until the deadline).
// ok is false if shutdown has begun: refuse the connection.
func (g *Group) Track(name string, closeFn func(ctx context.Context) error) (done func(), ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.draining {
		return func() {}, false
	}
	t := &tracked{name: name, close: closeFn, ended: make(chan struct{})}
	g.conns[t] = struct{}{}
	return func() {
		t.once.Do(func() {
			// Forget the connection before announcing its end, so that
			// Active is already 0 when Shutdown returns.
			g.mu.Lock()
			delete(g.conns, t)
			g.mu.Unlock()
			close(t.ended)
		})
	}, true
}

// Active returns the number of tracked connections.
func (g *Group) Active() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.conns)
}

// Go runs fn in a goroutine owned by the Group. fn's context is canceled
// when Shutdown begins, and Shutdown waits for fn to return. It returns
// ErrShuttingDown (and does not run fn) once Shutdown has begun.
func (g *Group) Go(fn func(ctx context.Context)) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.draining {
		return ErrShuttingDown
	}
	g.workers.Go(func() { fn(g.stopCtx) })
	return nil
}

// OnFlush registers fn to run during Flush. Hooks run one after another,
// in the order registered.
func (g *Group) OnFlush(name string, fn func(ctx context.Context) error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.flushers = append(g.flushers, hook{name: name, fn: fn})
}

// Shutdown stops the Group: it refuses new connections and workers,
// cancels workers' contexts, calls every tracked connection's close
// function concurrently, and waits until all connections have called done
// and all workers have returned, or ctx ends. It returns the close errors
// joined, plus ctx's error if the deadline cut the wait short. Calling it
// again waits again.
func (g *Group) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	g.draining = true
	conns := make([]*tracked, 0, len(g.conns))
	for t := range g.conns {
		conns = append(conns, t)
	}
	g.mu.Unlock()
	g.stop()

	var (
		wg   sync.WaitGroup
		emu  sync.Mutex
		errs []error
	)
	for _, t := range conns {
		wg.Go(func() {
			if err := t.close(ctx); err != nil {
				emu.Lock()
				errs = append(errs, fmt.Errorf("lifecycle: close %s: %w", t.name, err))
				emu.Unlock()
			}
			select {
			case <-t.ended:
			case <-ctx.Done():
			}
		})
	}
	wg.Wait()

	workersDone := make(chan struct{})
	go func() { // exits when the workers do; Shutdown may stop waiting earlier
		g.workers.Wait()
		close(workersDone)
	}()
	select {
	case <-workersDone:
	case <-ctx.Done():
	}
	if err := ctx.Err(); err != nil {
		errs = append(errs, fmt.Errorf("lifecycle: shutdown cut short with %d connections open: %w", g.Active(), err))
	}
	return errors.Join(errs...)
}

// Flush runs every flush hook in order, even after one fails, and returns
// their errors joined. Hooks get ctx; a hook that ignores it may delay
// exit past the deadline.
func (g *Group) Flush(ctx context.Context) error {
	g.mu.Lock()
	hooks := append([]hook(nil), g.flushers...)
	g.mu.Unlock()
	var errs []error
	for _, h := range hooks {
		if err := h.fn(ctx); err != nil {
			errs = append(errs, fmt.Errorf("lifecycle: flush %s: %w", h.name, err))
		}
	}
	return errors.Join(errs...)
}
