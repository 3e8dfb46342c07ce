package collab

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/maxbooster/maxbooster/crdt/lib0"
)

// Bus carries a room's updates and awareness between hub nodes. A Bus
// delivers every message published to a room, after Subscribe returned,
// to every subscription of that room (the publisher's own included), in
// publication order per publisher. A hub tells its own messages apart by
// the node id inside them.
//
// Implementations: LocalBus (one process), redisbus.Bus (Redis Streams).
// All of them pass collabtest.TestBus.
type Bus interface {
	// Publish sends msg to every subscriber of room.
	Publish(ctx context.Context, room string, msg []byte) error
	// Subscribe calls deliver, from one goroutine at a time and in order,
	// for each message later published to room, until the returned cancel
	// function is called. deliver must not block for long.
	Subscribe(ctx context.Context, room string, deliver func(msg []byte)) (cancel func(), err error)
}

// busKind tags a message on the bus.
type busKind uint64

const (
	busUpdate    busKind = 0 // a v1 update, already durable in the DocStore
	busAwareness busKind = 1 // an awareness update
	busRevoke    busKind = 2 // payload: varString user id, varUint new role (0 = removed)
)

type busMessage struct {
	node    string
	kind    busKind
	payload []byte
}

func encodeBusMessage(m busMessage) []byte {
	e := lib0.NewEncoder()
	e.WriteVarString(m.node)
	e.WriteVarUint(uint64(m.kind))
	e.WriteVarUint8Array(m.payload)
	return e.Bytes()
}

func decodeBusMessage(b []byte) (busMessage, error) {
	d := lib0.NewDecoder(b)
	var m busMessage
	var err error
	if m.node, err = d.ReadVarString(); err != nil {
		return m, fmt.Errorf("collab: bus message node: %w", err)
	}
	k, err := d.ReadVarUint()
	if err != nil {
		return m, fmt.Errorf("collab: bus message kind: %w", err)
	}
	m.kind = busKind(k)
	if m.payload, err = d.ReadVarUint8Array(); err != nil {
		return m, fmt.Errorf("collab: bus message payload: %w", err)
	}
	return m, nil
}

// LocalBus is a Bus inside one process: several hubs in one process (as in
// tests) share rooms through it. Each subscription has its own queue and
// delivery goroutine, so a slow subscriber delays only itself.
type LocalBus struct {
	mu   sync.Mutex
	subs map[string][]*Inbox
}

var _ Bus = (*LocalBus)(nil)

// NewLocalBus returns an empty LocalBus.
func NewLocalBus() *LocalBus { return &LocalBus{subs: make(map[string][]*Inbox)} }

// Publish implements Bus.
func (b *LocalBus) Publish(ctx context.Context, room string, msg []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	subs := slices.Clone(b.subs[room])
	b.mu.Unlock()
	for _, s := range subs {
		s.Push(slices.Clone(msg))
	}
	return nil
}

// Subscribe implements Bus.
func (b *LocalBus) Subscribe(ctx context.Context, room string, deliver func([]byte)) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := NewInbox(deliver)
	b.mu.Lock()
	b.subs[room] = append(b.subs[room], s)
	b.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			b.subs[room] = slices.DeleteFunc(b.subs[room], func(x *Inbox) bool { return x == s })
			if len(b.subs[room]) == 0 {
				delete(b.subs, room)
			}
			b.mu.Unlock()
			s.Close()
		})
	}, nil
}
