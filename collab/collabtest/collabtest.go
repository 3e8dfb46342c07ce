// Package collabtest holds the conformance suites that every
// implementation of collab.DocStore and collab.Bus runs (the perkeep
// kvtest pattern): MemStore and store.DocStore on SQLite and PostgreSQL
// run TestDocStore; LocalBus and redisbus.Bus run TestBus.
package collabtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/maxbooster/maxbooster/collab"
)

// roomName returns a room id unique to this run, so implementations that
// share a database or Redis between cases (and between concurrently
// running test binaries) never see each other's rooms.
func roomName(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return "ct-" + hex.EncodeToString(b)
}

func ctx(tb testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	tb.Cleanup(cancel)
	return c
}

// TestDocStore checks a DocStore. newStore returns the store under test;
// it may return the same store every time.
func TestDocStore(t *testing.T, newStore func(t *testing.T) collab.DocStore) {
	t.Run("EmptyRoom", func(t *testing.T) {
		s := newStore(t)
		sd, err := s.Load(ctx(t), roomName(t))
		if err != nil {
			t.Fatalf("Load of an unknown room: %v", err)
		}
		if sd.Snapshot != nil || len(sd.Updates) != 0 || sd.LastSeq() != 0 {
			t.Errorf("unknown room not empty: %+v", sd)
		}
	})
	t.Run("AppendLoadInOrder", func(t *testing.T) {
		s := newStore(t)
		room := roomName(t)
		var want [][]byte
		var last int64
		for i := 0; i < 5; i++ {
			batch := [][]byte{[]byte(fmt.Sprintf("u%d-a", i)), []byte(fmt.Sprintf("u%d-b", i)), {}}
			seq, err := s.Append(ctx(t), room, batch)
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			if seq != last+int64(len(batch)) {
				t.Errorf("Append returned seq %d, want %d", seq, last+int64(len(batch)))
			}
			last = seq
			want = append(want, batch...)
		}
		sd, err := s.Load(ctx(t), room)
		if err != nil {
			t.Fatal(err)
		}
		if len(sd.Updates) != len(want) {
			t.Fatalf("loaded %d updates, want %d", len(sd.Updates), len(want))
		}
		for i, u := range sd.Updates {
			if u.Seq != int64(i+1) || !bytes.Equal(u.Update, want[i]) {
				t.Errorf("update %d = seq %d %q, want seq %d %q", i, u.Seq, u.Update, i+1, want[i])
			}
		}
		if sd.LastSeq() != last {
			t.Errorf("LastSeq = %d, want %d", sd.LastSeq(), last)
		}
	})
	t.Run("RoomsIsolated", func(t *testing.T) {
		s := newStore(t)
		r1, r2 := roomName(t), roomName(t)
		if _, err := s.Append(ctx(t), r1, [][]byte{[]byte("one")}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx(t), r2, [][]byte{[]byte("two"), []byte("three")}); err != nil {
			t.Fatal(err)
		}
		sd, err := s.Load(ctx(t), r1)
		if err != nil || len(sd.Updates) != 1 || string(sd.Updates[0].Update) != "one" || sd.Updates[0].Seq != 1 {
			t.Errorf("room 1 = %+v, %v", sd, err)
		}
	})
	t.Run("LargeUpdate", func(t *testing.T) {
		s := newStore(t)
		room := roomName(t)
		big := make([]byte, 4<<20)
		_, _ = rand.Read(big)
		if _, err := s.Append(ctx(t), room, [][]byte{big}); err != nil {
			t.Fatal(err)
		}
		sd, err := s.Load(ctx(t), room)
		if err != nil || len(sd.Updates) != 1 || !bytes.Equal(sd.Updates[0].Update, big) {
			t.Errorf("4 MiB update did not round-trip (%v)", err)
		}
	})
	t.Run("Compact", func(t *testing.T) {
		s := newStore(t)
		room := roomName(t)
		if _, err := s.Append(ctx(t), room, [][]byte{[]byte("a"), []byte("b"), []byte("c")}); err != nil {
			t.Fatal(err)
		}
		// Wrong base: nothing changes.
		if err := s.Compact(ctx(t), room, 7, 2, []byte("ab")); !errors.Is(err, collab.ErrCompactConflict) {
			t.Errorf("Compact with a stale base = %v, want ErrCompactConflict", err)
		}
		// Beyond the log: refused.
		if err := s.Compact(ctx(t), room, 0, 9, []byte("abc")); !errors.Is(err, collab.ErrCompactConflict) {
			t.Errorf("Compact beyond the log = %v, want ErrCompactConflict", err)
		}
		if err := s.Compact(ctx(t), room, 0, 2, []byte("ab")); err != nil {
			t.Fatalf("Compact: %v", err)
		}
		sd, err := s.Load(ctx(t), room)
		if err != nil {
			t.Fatal(err)
		}
		if string(sd.Snapshot) != "ab" || sd.SnapshotSeq != 2 || len(sd.Updates) != 1 || string(sd.Updates[0].Update) != "c" || sd.Updates[0].Seq != 3 {
			t.Errorf("after compaction: %+v", sd)
		}
		// The same base again conflicts: someone (us) already compacted.
		if err := s.Compact(ctx(t), room, 0, 3, []byte("abc")); !errors.Is(err, collab.ErrCompactConflict) {
			t.Errorf("second Compact from base 0 = %v, want ErrCompactConflict", err)
		}
		seq, err := s.Append(ctx(t), room, [][]byte{[]byte("d")})
		if err != nil || seq != 4 {
			t.Errorf("Append after compaction = %d, %v; want seq 4", seq, err)
		}
		if err := s.Compact(ctx(t), room, 2, 4, []byte("abcd")); err != nil {
			t.Fatal(err)
		}
		sd, err = s.Load(ctx(t), room)
		if err != nil || string(sd.Snapshot) != "abcd" || len(sd.Updates) != 0 || sd.LastSeq() != 4 {
			t.Errorf("after second compaction: %+v, %v", sd, err)
		}
		// The log is empty now: numbering goes on after the snapshot.
		if seq, err := s.Append(ctx(t), room, [][]byte{[]byte("e"), []byte("f")}); err != nil || seq != 6 {
			t.Errorf("Append after compacting the whole log = %d, %v; want seq 6", seq, err)
		}
		if err := s.Compact(ctx(t), room, 4, 6, []byte("abcdef")); err != nil {
			t.Errorf("Compact of the entries after an emptied log: %v", err)
		}
	})
	t.Run("ConcurrentAppends", func(t *testing.T) {
		s := newStore(t)
		room := roomName(t)
		const writers, each = 8, 10
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		var mu sync.Mutex
		seqOf := make(map[string]int64) // update → the sequence number Append returned
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					u := fmt.Sprintf("w%d-%d", w, i)
					seq, err := s.Append(ctx(t), room, [][]byte{[]byte(u)})
					if err != nil {
						errs <- err
						continue
					}
					mu.Lock()
					seqOf[u] = seq
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("Append: %v", err)
		}
		sd, err := s.Load(ctx(t), room)
		if err != nil {
			t.Fatal(err)
		}
		if len(sd.Updates) != writers*each {
			t.Fatalf("%d updates, want %d", len(sd.Updates), writers*each)
		}
		// Appends batched together each get their own update's number.
		for _, u := range sd.Updates {
			if seq := seqOf[string(u.Update)]; seq != u.Seq {
				t.Errorf("Append of %q returned seq %d; it is stored at %d", u.Update, seq, u.Seq)
			}
		}
		var got []string
		for i, u := range sd.Updates {
			if u.Seq != int64(i+1) {
				t.Errorf("update %d has seq %d", i, u.Seq)
			}
			got = append(got, string(u.Update))
		}
		// Each writer's updates keep their order.
		for w := 0; w < writers; w++ {
			prev := -1
			for i, g := range got {
				var gw, gi int
				if _, err := fmt.Sscanf(g, "w%d-%d", &gw, &gi); err == nil && gw == w {
					if gi <= prev {
						t.Errorf("writer %d: update %d at position %d after %d", w, gi, i, prev)
					}
					prev = gi
				}
			}
		}
		slices.Sort(got)
		if len(slices.Compact(got)) != writers*each {
			t.Errorf("duplicate updates stored")
		}
	})
	t.Run("ConcurrentRooms", func(t *testing.T) {
		s := newStore(t)
		const rooms, each = 20, 5
		names := make([]string, rooms)
		for i := range names {
			names[i] = roomName(t)
		}
		var wg sync.WaitGroup
		errs := make(chan error, rooms*each)
		for _, room := range names {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					// Two updates per append, the second (empty) after
					// the first.
					seq, err := s.Append(ctx(t), room, [][]byte{[]byte(fmt.Sprintf("%s-%d", room, i)), {}})
					if err != nil {
						errs <- err
					} else if seq != int64(2*i+2) {
						errs <- fmt.Errorf("room %s append %d got seq %d, want %d", room, i, seq, 2*i+2)
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		for _, room := range names {
			sd, err := s.Load(ctx(t), room)
			if err != nil {
				t.Fatal(err)
			}
			if len(sd.Updates) != 2*each {
				t.Fatalf("room %s has %d updates, want %d", room, len(sd.Updates), 2*each)
			}
			for i, u := range sd.Updates {
				want := ""
				if i%2 == 0 {
					want = fmt.Sprintf("%s-%d", room, i/2)
				}
				if string(u.Update) != want || u.Seq != int64(i+1) {
					t.Errorf("room %s entry %d = %d %q, want %d %q", room, i, u.Seq, u.Update, i+1, want)
				}
			}
		}
	})
	t.Run("CanceledContext", func(t *testing.T) {
		s := newStore(t)
		c, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := s.Append(c, roomName(t), [][]byte{[]byte("x")}); err == nil {
			t.Errorf("Append with a canceled context succeeded")
		}
	})
}

// TestBus checks a Bus. newBus returns a bus connected to the shared
// medium; calling it twice must give two nodes' views of the same medium.
func TestBus(t *testing.T, newBus func(t *testing.T) collab.Bus) {
	collect := func(t *testing.T, b collab.Bus, room string) (func() [][]byte, func()) {
		t.Helper()
		var mu sync.Mutex
		var got [][]byte
		cancel, err := b.Subscribe(ctx(t), room, func(m []byte) {
			mu.Lock()
			got = append(got, bytes.Clone(m))
			mu.Unlock()
		})
		if err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
		t.Cleanup(cancel)
		return func() [][]byte {
			mu.Lock()
			defer mu.Unlock()
			return slices.Clone(got)
		}, cancel
	}
	wait := func(t *testing.T, what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timeout waiting for %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	t.Run("DeliversInOrderToAll", func(t *testing.T) {
		b1, b2 := newBus(t), newBus(t)
		room := roomName(t)
		got1, _ := collect(t, b1, room)
		got2, _ := collect(t, b2, room)
		const n = 200
		for i := 0; i < n; i++ {
			if err := b1.Publish(ctx(t), room, []byte(fmt.Sprintf("m%03d", i))); err != nil {
				t.Fatalf("Publish: %v", err)
			}
		}
		for name, got := range map[string]func() [][]byte{"publisher": got1, "other node": got2} {
			wait(t, name+" receives all", func() bool { return len(got()) >= n })
			msgs := got()
			if len(msgs) != n {
				t.Errorf("%s received %d messages, want %d", name, len(msgs), n)
			}
			for i, m := range msgs {
				if want := fmt.Sprintf("m%03d", i); string(m) != want {
					t.Errorf("%s message %d = %q, want %q", name, i, m, want)
					break
				}
			}
		}
	})
	t.Run("RoomsIsolated", func(t *testing.T) {
		b := newBus(t)
		r1, r2 := roomName(t), roomName(t)
		got1, _ := collect(t, b, r1)
		got2, _ := collect(t, b, r2)
		if err := b.Publish(ctx(t), r2, []byte("for r2")); err != nil {
			t.Fatal(err)
		}
		wait(t, "r2 delivery", func() bool { return len(got2()) == 1 })
		time.Sleep(50 * time.Millisecond)
		if n := len(got1()); n != 0 {
			t.Errorf("room 1 received %d messages of room 2", n)
		}
	})
	t.Run("BinarySafe", func(t *testing.T) {
		b := newBus(t)
		room := roomName(t)
		got, _ := collect(t, b, room)
		msg := []byte{0, 1, 2, 0xff, 0xfe, 0, '\n', '*'}
		big := make([]byte, 1<<20)
		_, _ = rand.Read(big)
		for _, m := range [][]byte{msg, big} {
			if err := b.Publish(ctx(t), room, m); err != nil {
				t.Fatal(err)
			}
		}
		wait(t, "delivery", func() bool { return len(got()) == 2 })
		if g := got(); !bytes.Equal(g[0], msg) || !bytes.Equal(g[1], big) {
			t.Errorf("binary messages changed in transit")
		}
	})
	t.Run("CancelStopsDelivery", func(t *testing.T) {
		b := newBus(t)
		room := roomName(t)
		got, cancel := collect(t, b, room)
		if err := b.Publish(ctx(t), room, []byte("1")); err != nil {
			t.Fatal(err)
		}
		wait(t, "first delivery", func() bool { return len(got()) == 1 })
		cancel()
		if err := b.Publish(ctx(t), room, []byte("2")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		if n := len(got()); n != 1 {
			t.Errorf("received %d messages after cancel, want 1", n)
		}
	})
}
