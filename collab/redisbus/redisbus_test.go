package redisbus_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/maxbooster/maxbooster/collab"
	"github.com/maxbooster/maxbooster/collab/collabtest"
	"github.com/maxbooster/maxbooster/collab/redisbus"
	"github.com/maxbooster/maxbooster/internal/redistest"
)

func newClient(t *testing.T, addr string) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func TestBusConformance(t *testing.T) {
	addr := redistest.Addr(t)
	prefix := redistest.Prefix(t)
	collabtest.TestBus(t, func(t *testing.T) collab.Bus {
		b := redisbus.New(newClient(t, addr), redisbus.Options{Prefix: prefix})
		t.Cleanup(func() { _ = b.Close() })
		return b
	})
}

// proxy forwards TCP to target until cut, and refuses while down.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	down   bool
	wg     sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		p.cut(false)
		p.wg.Wait()
	})
	return p
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); _, _ = io.Copy(up, c); _ = up.Close() }()
		go func() { defer p.wg.Done(); _, _ = io.Copy(c, up); _ = c.Close() }()
	}
}

// cut closes every open connection; down keeps refusing new ones.
func (p *proxy) cut(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

func (p *proxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

// TestBusSurvivesDisconnect cuts both nodes off Redis for a while: what
// is published during and after the outage still arrives, in order.
func TestBusSurvivesDisconnect(t *testing.T) {
	addr := redistest.Addr(t)
	admin := newClient(t, addr)
	prefix := redistest.Prefix(t)
	px := newProxy(t, addr)
	pub := redisbus.New(newClient(t, px.ln.Addr().String()), redisbus.Options{Prefix: prefix})
	defer pub.Close()
	subBus := redisbus.New(newClient(t, px.ln.Addr().String()), redisbus.Options{Prefix: prefix})
	defer subBus.Close()
	var mu sync.Mutex
	var got []string
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stop, err := subBus.Subscribe(ctx, "room", func(m []byte) {
		mu.Lock()
		got = append(got, string(m))
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	publish := func(s string) {
		t.Helper()
		if err := pub.Publish(ctx, "room", []byte(s)); err != nil {
			t.Fatalf("Publish(%s): %v", s, err)
		}
	}
	publish("before")
	px.cut(true)
	// A publish during the outage waits for Redis to come back.
	published := make(chan error, 1)
	go func() { published <- pub.Publish(ctx, "room", []byte("during")) }()
	time.Sleep(500 * time.Millisecond)
	// Meanwhile another node (straight to Redis) publishes too.
	other := redisbus.New(admin, redisbus.Options{Prefix: prefix})
	defer other.Close()
	if err := other.Publish(ctx, "room", []byte("other")); err != nil {
		t.Fatal(err)
	}
	px.restore()
	if err := <-published; err != nil {
		t.Fatalf("Publish during outage: %v", err)
	}
	publish("after")
	deadline := time.Now().Add(15 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("received %v, want 4 messages", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]bool{"before": true, "during": true, "other": true, "after": true}
	for _, g := range got {
		if !want[g] {
			t.Errorf("unexpected or duplicate message %q in %v", g, got)
		}
		delete(want, g)
	}
	if got[0] != "before" || got[len(got)-1] != "after" {
		t.Errorf("order = %v", got)
	}
}

func TestClosedBus(t *testing.T) {
	addr := redistest.Addr(t)
	b := redisbus.New(newClient(t, addr), redisbus.Options{Prefix: redistest.Prefix(t)})
	_ = b.Close()
	if _, err := b.Subscribe(context.Background(), "r", func([]byte) {}); !errors.Is(err, redisbus.ErrClosed) {
		t.Errorf("Subscribe after Close = %v, want ErrClosed", err)
	}
}
