package collab

import (
	"bytes"
	"net"
	"testing"
	"time"
)

// writeLog is a net.Conn that records each Write call.
type writeLog struct {
	net.Conn
	writes    [][]byte
	deadlines int
	last      time.Time // the deadline in force
}

func (w *writeLog) Write(p []byte) (int, error) {
	w.writes = append(w.writes, bytes.Clone(p))
	return len(p), nil
}

func (w *writeLog) SetWriteDeadline(t time.Time) error { w.deadlines++; w.last = t; return nil }

func TestCorkConnGathersFramesIntoOneWrite(t *testing.T) {
	under := &writeLog{}
	c := &corkConn{Conn: under}

	// Not corked: writes pass through one by one.
	_, _ = c.Write([]byte("a"))
	_, _ = c.Write([]byte("b"))
	if len(under.writes) != 2 {
		t.Fatalf("uncorked: %d writes, want 2", len(under.writes))
	}

	// Corked: three frames leave in one write, in order, with a deadline.
	under.writes = nil
	if !c.cork(time.Second) {
		t.Fatal("cork refused")
	}
	for _, f := range []string{"one", "two", "three"} {
		if n, err := c.Write([]byte(f)); err != nil || n != len(f) {
			t.Fatalf("Write(%q) = %d, %v", f, n, err)
		}
	}
	if len(under.writes) != 0 {
		t.Fatalf("corked writes reached the socket early: %q", under.writes)
	}
	if err := c.uncork(); err != nil {
		t.Fatal(err)
	}
	if len(under.writes) != 1 || string(under.writes[0]) != "onetwothree" || under.deadlines == 0 {
		t.Fatalf("after uncork: writes %q, deadlines %d; want one write onetwothree", under.writes, under.deadlines)
	}
	// The deadline is lifted after the flush: a later ping or close frame
	// outside a cork must not fail on a stale one.
	if !under.last.IsZero() {
		t.Errorf("write deadline left at %v after uncork", under.last)
	}

	// A batch over corkMaxBytes goes out as it grows: bounded memory, order
	// kept.
	under.writes = nil
	c.cork(time.Second)
	small, big := []byte("head"), bytes.Repeat([]byte{'x'}, corkMaxBytes)
	_, _ = c.Write(small)
	_, _ = c.Write(big)
	_, _ = c.Write([]byte("tail"))
	_ = c.uncork()
	got := bytes.Join(under.writes, nil)
	want := append(append(append([]byte{}, small...), big...), "tail"...)
	if !bytes.Equal(got, want) || len(under.writes) != 3 {
		t.Fatalf("big batch: %d writes, order kept %v", len(under.writes), bytes.Equal(got, want))
	}

	// stop flushes what is gathered and ends corking for good.
	under.writes = nil
	c.cork(time.Second)
	_, _ = c.Write([]byte("close frame"))
	c.stop()
	if len(under.writes) != 1 || string(under.writes[0]) != "close frame" {
		t.Fatalf("stop did not flush: %q", under.writes)
	}
	if c.cork(time.Second) {
		t.Error("cork accepted after stop")
	}
}
