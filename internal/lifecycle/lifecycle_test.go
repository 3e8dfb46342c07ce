package lifecycle_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/maxbooster/maxbooster/internal/lifecycle"
)

func TestShutdownClosesTrackedConnections(t *testing.T) {
	g := lifecycle.New()
	var closed atomic.Int32
	for range 3 {
		var done func()
		done, ok := g.Track("conn", func(ctx context.Context) error {
			closed.Add(1)
			go done() // the connection's read loop notices the close and ends
			return nil
		})
		if !ok {
			t.Fatal("Track refused before shutdown")
		}
		_ = done
	}
	// One connection ends by itself before shutdown.
	selfDone, _ := g.Track("short", func(context.Context) error {
		t.Error("close called on a connection that already ended")
		return nil
	})
	selfDone()
	selfDone() // idempotent

	if g.Active() != 3 {
		t.Fatalf("Active = %d, want 3", g.Active())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if closed.Load() != 3 || g.Active() != 0 {
		t.Errorf("closed %d, active %d; want 3, 0", closed.Load(), g.Active())
	}
	if !g.Draining() {
		t.Error("Draining = false after Shutdown")
	}
	if _, ok := g.Track("late", func(context.Context) error { return nil }); ok {
		t.Error("Track accepted a connection after Shutdown")
	}
	if err := g.Go(func(context.Context) {}); !errors.Is(err, lifecycle.ErrShuttingDown) {
		t.Errorf("Go after Shutdown = %v, want ErrShuttingDown", err)
	}
}

func TestShutdownDeadlineWithStuckConnection(t *testing.T) {
	g := lifecycle.New()
	boom := errors.New("write close frame: broken pipe")
	_, _ = g.Track("stuck", func(context.Context) error { return boom }) // never calls done
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := g.Shutdown(ctx)
	if !errors.Is(err, boom) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want the close error and DeadlineExceeded", err)
	}
}

func TestWorkersStopAtShutdown(t *testing.T) {
	g := lifecycle.New()
	var stopped atomic.Bool
	if err := g.Go(func(ctx context.Context) {
		<-ctx.Done()
		time.Sleep(10 * time.Millisecond) // finishing up
		stopped.Store(true)
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if !stopped.Load() {
		t.Error("Shutdown returned before the worker finished")
	}
}

func TestFlushRunsAllHooksInOrder(t *testing.T) {
	g := lifecycle.New()
	var order []string
	bad := errors.New("disk full")
	g.OnFlush("a", func(context.Context) error { order = append(order, "a"); return nil })
	g.OnFlush("b", func(context.Context) error { order = append(order, "b"); return bad })
	g.OnFlush("c", func(context.Context) error { order = append(order, "c"); return nil })
	err := g.Flush(context.Background())
	if !errors.Is(err, bad) {
		t.Errorf("Flush = %v, want disk full", err)
	}
	if want := []string{"a", "b", "c"}; !slices.Equal(order, want) {
		t.Errorf("order = %v, want %v", order, want)
	}
}
