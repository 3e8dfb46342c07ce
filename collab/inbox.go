package collab

import "sync"

// Inbox delivers messages to one Bus subscriber, in order, on a goroutine
// of its own, so that a publisher never waits for a slow subscriber: a
// slow subscriber delays only itself. Bus implementations share it.
type Inbox struct {
	mu      sync.Mutex
	queue   [][]byte
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	deliver func([]byte)
}

// NewInbox starts an Inbox that calls deliver for each pushed message.
// Close stops it.
func NewInbox(deliver func([]byte)) *Inbox {
	in := &Inbox{
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		deliver: deliver,
	}
	go in.run()
	return in
}

// Push queues msg for delivery. It never blocks on the subscriber; the
// caller must not modify msg afterwards.
func (in *Inbox) Push(msg []byte) {
	in.mu.Lock()
	in.queue = append(in.queue, msg)
	in.mu.Unlock()
	select {
	case in.wake <- struct{}{}:
	default:
	}
}

// Close stops delivery (messages still queued are dropped) and waits until
// deliver is no longer running. It may be called more than once.
func (in *Inbox) Close() {
	in.once.Do(func() { close(in.stop) })
	<-in.done
}

func (in *Inbox) run() {
	defer close(in.done)
	for {
		select {
		case <-in.stop:
			return
		case <-in.wake:
		}
		for {
			in.mu.Lock()
			q := in.queue
			in.queue = nil
			in.mu.Unlock()
			if len(q) == 0 {
				break
			}
			for _, m := range q {
				select {
				case <-in.stop:
					return
				default:
				}
				in.deliver(m)
			}
		}
	}
}
