// Package redisbus is a collab.Bus on Redis Streams, for running several
// hub nodes that share rooms.
//
// Every room is one stream (Prefix + "room:" + room id). Publish appends
// with XADD (the stream is capped with MAXLEN ~ and expires when idle);
// one reader goroutine per Bus follows every subscribed stream with a
// single blocking XREAD and remembers the last entry id per stream. After a
// Redis disconnect it resumes from those ids, so entries written meanwhile
// are delivered, not lost, as long as the stream still holds them (MaxLen).
// Publish retries a failed XADD until its context ends.
package redisbus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/maxbooster/maxbooster/collab"
)

// Options tune New. Zero values mean the defaults shown.
type Options struct {
	Prefix string        // key prefix; "mb:collab:"
	MaxLen int64         // approximate entries kept per room stream; 10000
	TTL    time.Duration // an idle room stream expires after this; 1 h
	Block  time.Duration // longest XREAD wait; new subscriptions wait at most this long; 200 ms
}

// Bus is a collab.Bus on Redis Streams. It is safe for concurrent use.
type Bus struct {
	rdb  redis.UniversalClient
	opts Options

	mu      sync.Mutex
	streams map[string]*stream // by room
	closed  bool

	wake chan struct{}
	stop chan struct{}
	done chan struct{}
}

type stream struct {
	key    string
	lastID string
	subs   []*collab.Inbox
}

var _ collab.Bus = (*Bus)(nil)

// ErrClosed is returned after Close.
var ErrClosed = errors.New("redisbus: closed")

// New returns a Bus on rdb and starts its reader. Close stops it; rdb
// stays open (the caller owns it).
func New(rdb redis.UniversalClient, opts Options) *Bus {
	if opts.Prefix == "" {
		opts.Prefix = "mb:collab:"
	}
	if opts.MaxLen <= 0 {
		opts.MaxLen = 10000
	}
	if opts.TTL <= 0 {
		opts.TTL = time.Hour
	}
	if opts.Block <= 0 {
		opts.Block = 200 * time.Millisecond
	}
	b := &Bus{
		rdb: rdb, opts: opts, streams: make(map[string]*stream),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	go b.readLoop()
	return b
}

func (b *Bus) key(room string) string { return b.opts.Prefix + "room:" + room }

// Publish implements collab.Bus. A failing XADD is retried with backoff
// until ctx ends, so a brief Redis outage delays messages instead of
// dropping them.
func (b *Bus) Publish(ctx context.Context, room string, msg []byte) error {
	key := b.key(room)
	backoff := 20 * time.Millisecond
	for {
		_, err := b.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.XAdd(ctx, &redis.XAddArgs{Stream: key, MaxLen: b.opts.MaxLen, Approx: true, Values: []any{"m", msg}})
			p.Expire(ctx, key, b.opts.TTL)
			return nil
		})
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redisbus: publish to %s: %w (last error: %w)", room, ctx.Err(), err)
		case <-b.stop:
			return ErrClosed
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// Subscribe implements collab.Bus. Delivery starts with the first entry
// added after Subscribe returns.
func (b *Bus) Subscribe(ctx context.Context, room string, deliver func([]byte)) (func(), error) {
	key := b.key(room)
	b.mu.Lock()
	st := b.streams[room]
	b.mu.Unlock()
	lastID := ""
	if st == nil {
		// Start after the newest entry now in the stream.
		last, err := b.rdb.XRevRangeN(ctx, key, "+", "-", 1).Result()
		if err != nil {
			return nil, fmt.Errorf("redisbus: subscribe to %s: %w", room, err)
		}
		lastID = "0-0"
		if len(last) > 0 {
			lastID = last[0].ID
		}
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, ErrClosed
	}
	s := collab.NewInbox(deliver)
	st = b.streams[room]
	if st == nil {
		st = &stream{key: key, lastID: lastID}
		b.streams[room] = st
	}
	st.subs = append(st.subs, s)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			if st := b.streams[room]; st != nil {
				st.subs = slices.DeleteFunc(st.subs, func(x *collab.Inbox) bool { return x == s })
				if len(st.subs) == 0 {
					delete(b.streams, room)
				}
			}
			b.mu.Unlock()
			s.Close()
		})
	}, nil
}

// Close stops the reader and every subscription.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		<-b.done
		return nil
	}
	b.closed = true
	var subs []*collab.Inbox
	for _, st := range b.streams {
		subs = append(subs, st.subs...)
	}
	b.streams = map[string]*stream{}
	b.mu.Unlock()
	close(b.stop)
	<-b.done
	for _, s := range subs {
		s.Close()
	}
	return nil
}

func (b *Bus) readLoop() {
	defer close(b.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-b.stop
		cancel()
	}()
	backoff := 20 * time.Millisecond
	for {
		b.mu.Lock()
		rooms := make([]string, 0, len(b.streams))
		args := make([]string, 0, 2*len(b.streams))
		for room, st := range b.streams {
			rooms = append(rooms, room)
			args = append(args, st.key)
		}
		for _, room := range rooms {
			args = append(args, b.streams[room].lastID)
		}
		b.mu.Unlock()
		if len(rooms) == 0 {
			select {
			case <-b.stop:
				return
			case <-b.wake:
				continue
			}
		}
		res, err := b.rdb.XRead(ctx, &redis.XReadArgs{Streams: args, Count: 1000, Block: b.opts.Block}).Result()
		if ctx.Err() != nil {
			return
		}
		if err != nil && !errors.Is(err, redis.Nil) {
			// Redis unreachable: keep the ids and try again.
			select {
			case <-b.stop:
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 20 * time.Millisecond
		for _, xs := range res {
			b.dispatch(xs)
		}
	}
}

func (b *Bus) dispatch(xs redis.XStream) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.streams[xs.Stream[len(b.opts.Prefix)+len("room:"):]]
	if st == nil || len(xs.Messages) == 0 {
		return
	}
	for _, m := range xs.Messages {
		v, _ := m.Values["m"].(string)
		for _, s := range st.subs {
			s.Push([]byte(v))
		}
	}
	st.lastID = xs.Messages[len(xs.Messages)-1].ID
}
