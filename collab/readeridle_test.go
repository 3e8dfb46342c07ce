package collab

import (
	"testing"
	"time"
)

// A connection's first message counts as one after a silence, however
// recently the process started (monoClock counts from then), and parks the
// connection; the next one, right behind it, does not.
func TestReaderIdleQuiet(t *testing.T) {
	var ri readerIdle
	ri.init(nil)
	if !ri.quiet {
		t.Fatal("a reader that read nothing yet is not quiet")
	}
	ri.message(time.Hour)
	if !ri.quiet {
		t.Error("the first message (an hour-long tick) is not quiet")
	}
	ri.message(time.Hour)
	if ri.quiet {
		t.Error("a message right behind another is quiet")
	}
	ri.lastMsg -= int64(2 * time.Millisecond)
	ri.message(time.Millisecond)
	if !ri.quiet {
		t.Error("a message after two silent ticks is not quiet")
	}
}
