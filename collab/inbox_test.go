package collab_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/maxbooster/maxbooster/collab"
)

func TestInboxDeliversInOrderAndCloses(t *testing.T) {
	got := make(chan string, 100)
	in := collab.NewInbox(func(m []byte) { got <- string(m) })
	for i := range 50 {
		in.Push([]byte(fmt.Sprint(i)))
	}
	for i := range 50 {
		select {
		case m := <-got:
			if m != fmt.Sprint(i) {
				t.Fatalf("message %d = %q, want %q", i, m, fmt.Sprint(i))
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("message %d never delivered", i)
		}
	}
	in.Close()
	in.Close() // a Bus may close a subscription that was already unsubscribed
	in.Push([]byte("late"))
	select {
	case m := <-got:
		t.Fatalf("delivered %q after Close", m)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestInboxSlowSubscriberDoesNotBlockPush(t *testing.T) {
	release := make(chan struct{})
	in := collab.NewInbox(func([]byte) { <-release })
	defer in.Close()
	defer close(release)
	for range 1000 {
		in.Push([]byte("x")) // returns although deliver is stuck on the first
	}
}
