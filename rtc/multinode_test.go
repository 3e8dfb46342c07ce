package rtc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/maxbooster/maxbooster/crdt"
	"github.com/maxbooster/maxbooster/internal/redistest"
	"github.com/maxbooster/maxbooster/rtc"
	"github.com/maxbooster/maxbooster/rtc/redislease"
)

// cluster is what the nodes of a multi-node test share: Redis (with a key
// prefix private to the test) and the stores behind the servers.
type cluster struct {
	rdb    *redis.Client
	prefix string
	assets *memAssets
	blobs  *memBlobs
	docs   *memDocs
}

func newCluster(t testing.TB) *cluster {
	t.Helper()
	c := &cluster{rdb: redistest.Client(t), prefix: redistest.Prefix(t),
		assets: &memAssets{previews: map[string][]byte{}, audio: map[string][]byte{}},
		blobs:  &memBlobs{m: map[string][]byte{}}, docs: &memDocs{docs: map[string]*crdt.Doc{}}}
	return c
}

// node is one rtc server of the cluster: an env whose Server leases its
// rooms in Redis. With front set, the node is reached (by clients and by
// other nodes) through a TCP forwarder that kill cuts, as if it died.
type node struct {
	*env
	leases *redislease.Leases
	front  *forwarder
}

type nodeOptions struct {
	ttl   time.Duration
	front bool                        // reach the node through a forwarder
	wrap  func(rtc.Leases) rtc.Leases // wraps the Redis leases
	opts  func(*rtc.Options)          // last changes to the options
	limit rtc.Limits                  // the server's limits
}

func (c *cluster) node(t testing.TB, no nodeOptions) *node {
	t.Helper()
	eng, client := newEngines(t)
	mux := http.NewServeMux()
	hs := httptest.NewServer(mux)
	n := &node{env: &env{eng: eng, client: client, http: hs, assets: c.assets, blobs: c.blobs, docs: c.docs}}
	if no.front {
		n.front = newForwarder(t, hs.Listener.Addr().String())
		hs.URL = "http://" + n.front.ln.Addr().String() // env.url and the lease name the front
	}
	var err error
	n.leases, err = redislease.New(c.rdb, redislease.Options{NodeURL: hs.URL, Prefix: c.prefix + "room:", TTL: no.ttl})
	if err != nil {
		t.Fatal(err)
	}
	var leases rtc.Leases = n.leases
	if no.wrap != nil {
		leases = no.wrap(leases)
	}
	opts := rtc.Options{Engine: eng, Verify: verify, Assets: c.assets, Recordings: c.blobs, Docs: c.docs, Leases: leases, Limits: no.limit}
	if no.opts != nil {
		no.opts(&opts)
	}
	n.srv, err = rtc.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("GET /rtc/{projectId}", n.srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.srv.Close(ctx); err != nil {
			t.Errorf("server close: %v", err)
		}
		if n.front != nil {
			n.front.kill()
		}
		hs.Close()
		_ = eng.Close()
		_ = client.Close()
	})
	return n
}

// holder is the URL of the node holding project's room, or "".
func (c *cluster) holder(t testing.TB, project string) string {
	t.Helper()
	v, err := c.rdb.Get(context.Background(), c.prefix+"room:"+project).Result()
	if errors.Is(err, redis.Nil) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// waitHolder waits until project's holder is want ("" for none).
func (c *cluster) waitHolder(t testing.TB, project, want string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		got := c.holder(t, project)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("holder of %s is %q after %s, want %q", project, got, d, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// forwarder relays TCP connections to a node; kill cuts them all and
// stops listening (the node vanishes from the network).
type forwarder struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newForwarder(t testing.TB, target string) *forwarder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &forwarder{ln: ln, target: target}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			f.mu.Lock()
			f.conns = append(f.conns, c, up)
			f.mu.Unlock()
			f.wg.Add(2)
			go func() { defer f.wg.Done(); _, _ = io.Copy(up, c); _ = up.Close() }()
			go func() { defer f.wg.Done(); _, _ = io.Copy(c, up); _ = c.Close() }()
		}
	}()
	return f
}

func (f *forwarder) kill() {
	_ = f.ln.Close()
	f.mu.Lock()
	for _, c := range f.conns {
		_ = c.Close()
	}
	f.conns = nil
	f.mu.Unlock()
	f.wg.Wait()
}

// dying wraps Leases; after die, the node neither renews nor releases (a
// process that stopped), while Redis still holds what it had.
type dying struct {
	rtc.Leases
	mu   sync.Mutex
	dead bool
}

func (d *dying) die() { d.mu.Lock(); d.dead = true; d.mu.Unlock() }

func (d *dying) isDead() bool { d.mu.Lock(); defer d.mu.Unlock(); return d.dead }

func (d *dying) Renew(ctx context.Context, projectID string) (bool, error) {
	if d.isDead() {
		return true, nil
	}
	return d.Leases.Renew(ctx, projectID)
}

func (d *dying) Release(ctx context.Context, projectID string) error {
	if d.isDead() {
		return nil
	}
	return d.Leases.Release(ctx, projectID)
}

func liveJoin() rtc.Message { return rtc.Message{Type: rtc.MsgJoin, Mode: rtc.ModeLive} }

// waitPeer waits for a "joined" (or "left") event naming user.
func waitPeer(t testing.TB, c *rtc.Client, typ, user string) rtc.Message {
	t.Helper()
	for {
		if m := waitEvent(t, c, typ, 5*time.Second); m.UserID == user {
			return m
		}
	}
}

// TestMultiNodeSignalling: two nodes share Redis. Ann's signalling lands
// on A, which takes the project's room; Ben's lands on B and is relayed to
// A, so both are in one live session: each is told of the other, and B
// serves no peer of its own. When both leave, A releases the lease.
func TestMultiNodeSignalling(t *testing.T) {
	checkLeaks(t)
	c := newCluster(t)
	a := c.node(t, nodeOptions{})
	b := c.node(t, nodeOptions{})

	ann := a.dial(t, "p1", "ann", "editor", liveJoin(), rtc.ClientOptions{})
	waitEvent(t, ann, rtc.MsgWelcome, 5*time.Second)
	if h := c.holder(t, "p1"); h != a.http.URL {
		t.Fatalf("holder %q, want node A %s", h, a.http.URL)
	}
	ben := b.dial(t, "p1", "ben", "editor", liveJoin(), rtc.ClientOptions{})
	w := waitEvent(t, ben, rtc.MsgWelcome, 5*time.Second)
	if len(w.Peers) != 1 || w.Peers[0].UserID != "ann" {
		t.Errorf("ben's welcome lists %+v, want ann", w.Peers)
	}
	joined := waitPeer(t, ann, rtc.MsgJoined, "ben")
	if sa, sb := a.srv.Stats(), b.srv.Stats(); sa.Peers != 2 || sa.Rooms != 1 || sb.Peers != 0 || sb.Relayed != 1 || sb.Rooms != 0 {
		t.Errorf("stats A %+v, B %+v: want both peers on A, one relayed by B", sa, sb)
	}
	// Ben's connection negotiates through the relay (offer, answer,
	// candidates) and its media goes to A.
	waitConnected(t, ben, 10*time.Second)

	// A third participant through B sees both.
	cat := b.dial(t, "p1", "cat", "editor", liveJoin(), rtc.ClientOptions{})
	if w := waitEvent(t, cat, rtc.MsgWelcome, 5*time.Second); len(w.Peers) != 2 {
		t.Errorf("cat's welcome lists %+v, want ann and ben", w.Peers)
	}
	_ = cat.Close()
	waitPeer(t, ben, rtc.MsgLeft, "cat")

	// Ben leaves: ann is told, and the relay goes.
	if err := ben.Send(context.Background(), rtc.Message{Type: rtc.MsgLeave}); err != nil {
		t.Fatal(err)
	}
	left := waitPeer(t, ann, rtc.MsgLeft, "ben")
	if left.PeerID != joined.PeerID {
		t.Errorf("left %+v, joined %+v", left, joined)
	}
	<-ben.Done()
	if code := rtc.CloseCode(ben.Err()); code != 1000 {
		t.Errorf("ben's leave closed with %d, want 1000 (passed through the relay)", code)
	}
	waitRelayed(t, b.srv, 0)
	_ = ann.Close()
	waitEmpty(t, a.srv)
	c.waitHolder(t, "p1", "", 2*time.Second)
}

// waitRelayed waits until srv relays n connections.
func waitRelayed(t testing.TB, srv *rtc.Server, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for srv.Stats().Relayed != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d relayed connections, want %d", srv.Stats().Relayed, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestMultiNodeAuth: a relayed request is refused exactly as a direct
// one (same close code), and the holder authenticates it again from the
// client's own credentials: a token the entry node accepts but the
// holder does not is refused, and a session cookie passes through.
func TestMultiNodeAuth(t *testing.T) {
	checkLeaks(t)
	c := newCluster(t)
	cookieAccess := func(r *http.Request, projectID string) (rtc.Grant, error) {
		ck, err := r.Cookie("mb_test_user")
		if err != nil {
			return rtc.Grant{}, errors.New("not signed in")
		}
		return rtc.Grant{UserID: ck.Value, ProjectID: projectID, Role: "editor"}, nil
	}
	a := c.node(t, nodeOptions{opts: func(o *rtc.Options) {
		o.Access = cookieAccess
		o.Verify = func(ctx context.Context, tok string) (rtc.Grant, error) {
			if strings.HasPrefix(tok, "mallory:") { // revoked, as A sees it
				return rtc.Grant{}, errors.New("revoked")
			}
			return verify(ctx, tok)
		}
	}})
	b := c.node(t, nodeOptions{opts: func(o *rtc.Options) { o.Access = cookieAccess }})
	ann := a.dial(t, "p1", "ann", "editor", liveJoin(), rtc.ClientOptions{})
	waitEvent(t, ann, rtc.MsgWelcome, 5*time.Second)

	tests := []struct {
		name string
		url  func(*node) string
		want int
	}{
		{"bad token", func(n *node) string { return n.url("p1", "garbage") }, rtc.CloseUnauthorized},
		{"no token", func(n *node) string { return n.url("p1", "") }, rtc.CloseUnauthorized},
		{"other project", func(n *node) string { return n.url("p1", token("u1", "p2", "owner")) }, rtc.CloseForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			direct, _ := closeOf(t, tt.url(a))
			relayed, _ := closeOf(t, tt.url(b))
			if int(direct) != tt.want || relayed != direct {
				t.Errorf("close code direct %d, through B %d; want %d both", direct, relayed, tt.want)
			}
		})
	}

	// B accepts mallory's token; A, the holder, does not.
	code, _ := closeOf(t, b.url("p1", token("mallory", "p1", "editor")), `{"type":"join","mode":"live"}`)
	if code != rtc.CloseUnauthorized {
		t.Errorf("mallory through B: close %d, want %d from the holder", code, rtc.CloseUnauthorized)
	}

	// The session cookie reaches the holder.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	bob, err := rtc.Dial(ctx, b.client.API(), b.url("p1", ""), liveJoin(), rtc.ClientOptions{
		Header: http.Header{"Cookie": {"mb_test_user=bob"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	if w := waitEvent(t, bob, rtc.MsgWelcome, 5*time.Second); w.UserID != "bob" {
		t.Errorf("welcome through B for %q, want bob", w.UserID)
	}
	waitPeer(t, ann, rtc.MsgJoined, "bob")

	// An oversized message through the relay ends like a direct one.
	b2 := c.node(t, nodeOptions{limit: rtc.Limits{MaxMessageBytes: 4096}})
	big := `{"type":"join","mode":"live","assetId":"` + strings.Repeat("a", 5000) + `"}`
	if code, _ := closeOf(t, b2.url("p1", token("u2", "p1", "editor")), big); code != 1009 {
		t.Errorf("oversized message through the relay: close %d, want 1009", code)
	}
}

// TestMultiNodeFailover: the node holding a room dies (it vanishes from
// the network and stops renewing). The participant relayed to it is
// closed with 4503 and reconnects through B, which waits out the dead
// node's lease, takes the room and serves it; the next participant joins
// it there.
func TestMultiNodeFailover(t *testing.T) {
	checkLeaks(t)
	c := newCluster(t)
	const ttl = time.Second
	var aLeases *dying
	a := c.node(t, nodeOptions{ttl: ttl, front: true, wrap: func(l rtc.Leases) rtc.Leases {
		aLeases = &dying{Leases: l}
		return aLeases
	}})
	b := c.node(t, nodeOptions{ttl: ttl})

	ann := a.dial(t, "p1", "ann", "editor", liveJoin(), rtc.ClientOptions{})
	waitEvent(t, ann, rtc.MsgWelcome, 5*time.Second)
	ben := b.dial(t, "p1", "ben", "editor", liveJoin(), rtc.ClientOptions{})
	waitEvent(t, ben, rtc.MsgWelcome, 5*time.Second)
	time.Sleep(2 * ttl) // renewals keep A's lease past its TTL
	if h := c.holder(t, "p1"); h != a.http.URL {
		t.Fatalf("holder %q after 2 TTLs, want A (renewed)", h)
	}

	aLeases.die()
	a.front.kill()
	died := time.Now()
	<-ben.Done()
	if code := rtc.CloseCode(ben.Err()); code != rtc.CloseUnavailable {
		t.Errorf("ben's relayed socket closed with %d, want %d", code, rtc.CloseUnavailable)
	}
	ben2 := b.dial(t, "p1", "ben", "editor", liveJoin(), rtc.ClientOptions{})
	w := waitEvent(t, ben2, rtc.MsgWelcome, 2*ttl+5*time.Second)
	took := time.Since(died)
	t.Logf("ben was back in a room %s after the holder died (lease TTL %s)", took.Round(time.Millisecond), ttl)
	if len(w.Peers) != 0 {
		t.Errorf("new room lists %+v, want nobody", w.Peers)
	}
	if h := c.holder(t, "p1"); h != b.http.URL {
		t.Errorf("holder %q, want B %s", h, b.http.URL)
	}
	if took > ttl+2*time.Second {
		t.Errorf("failover took %s, want about the TTL %s", took, ttl)
	}
	cat := b.dial(t, "p1", "cat", "editor", liveJoin(), rtc.ClientOptions{})
	if w := waitEvent(t, cat, rtc.MsgWelcome, 5*time.Second); len(w.Peers) != 1 || w.Peers[0].UserID != "ben" {
		t.Errorf("cat's welcome lists %+v, want ben", w.Peers)
	}
	if st := b.srv.Stats(); st.Peers != 2 || st.Relayed != 0 {
		t.Errorf("B stats %+v, want both peers served on B", st)
	}
	_ = ann.Close()
}

// TestMultiNodeLeaseLost: a holder that finds its lease taken by another
// node (Redis lost it while the node stalled) closes its peers with 4503
// room_moved, so that they reconnect into the one room.
func TestMultiNodeLeaseLost(t *testing.T) {
	checkLeaks(t)
	c := newCluster(t)
	a := c.node(t, nodeOptions{ttl: 600 * time.Millisecond})
	ann := a.dial(t, "p1", "ann", "editor", liveJoin(), rtc.ClientOptions{})
	waitEvent(t, ann, rtc.MsgWelcome, 5*time.Second)
	if err := c.rdb.Set(context.Background(), c.prefix+"room:p1", "http://127.0.0.1:1", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	m := waitEvent(t, ann, rtc.MsgError, 3*time.Second)
	<-ann.Done()
	if m.Code != "room_moved" || rtc.CloseCode(ann.Err()) != rtc.CloseUnavailable {
		t.Errorf("error %+v, close %d; want room_moved and %d", m, rtc.CloseCode(ann.Err()), rtc.CloseUnavailable)
	}
	waitEmpty(t, a.srv)
	if h := c.holder(t, "p1"); h != "http://127.0.0.1:1" {
		t.Errorf("A touched the other node's lease: holder %q", h)
	}
}

// BenchmarkMultiNodeRelay measures what relaying signalling to the room's
// node adds (make bench; needs MB_TEST_REDIS_ADDR): the time from dialling
// to welcome, and a message's round trip (mute → muted), each direct to
// the room's node A and relayed through B, as medians over the run.
func BenchmarkMultiNodeRelay(b *testing.B) {
	c := newCluster(b)
	na := c.node(b, nodeOptions{})
	nb := c.node(b, nodeOptions{})
	median := func(ds []time.Duration) float64 {
		slices.Sort(ds)
		return float64(ds[len(ds)/2].Microseconds())
	}
	welcome := func(n *node, user string) time.Duration {
		start := time.Now()
		cl := n.dial(b, "p1", user, "editor", liveJoin(), rtc.ClientOptions{})
		waitEvent(b, cl, rtc.MsgWelcome, 5*time.Second)
		d := time.Since(start)
		_ = cl.Close()
		return d
	}
	roundTrip := func(cl *rtc.Client, user string, on bool) time.Duration {
		start := time.Now()
		if err := cl.Send(context.Background(), rtc.Message{Type: rtc.MsgMute, Muted: &on}); err != nil {
			b.Fatal(err)
		}
		waitPeer(b, cl, rtc.MsgMuted, user) // not the other's
		return time.Since(start)
	}
	host := na.dial(b, "p1", "host", "editor", liveJoin(), rtc.ClientOptions{})
	waitEvent(b, host, rtc.MsgWelcome, 5*time.Second)
	guest := nb.dial(b, "p1", "guest", "editor", liveJoin(), rtc.ClientOptions{})
	waitEvent(b, guest, rtc.MsgWelcome, 5*time.Second)
	var wDirect, wRelayed, rtDirect, rtRelayed []time.Duration
	i, muted := 0, false
	for b.Loop() {
		wDirect = append(wDirect, welcome(na, fmt.Sprint("d", i)))
		wRelayed = append(wRelayed, welcome(nb, fmt.Sprint("r", i)))
		for range 5 { // each mute flips the state, so that the server answers it
			muted = !muted
			rtDirect = append(rtDirect, roundTrip(host, "host", muted))
			rtRelayed = append(rtRelayed, roundTrip(guest, "guest", muted))
		}
		i++
	}
	b.ReportMetric(median(wDirect), "welcome-direct-µs")
	b.ReportMetric(median(wRelayed), "welcome-relayed-µs")
	b.ReportMetric(median(rtDirect), "roundtrip-direct-µs")
	b.ReportMetric(median(rtRelayed), "roundtrip-relayed-µs")
	_ = guest.Close()
	_ = host.Close()
}

// TestMultiNodeHolderUnavailable: a holder that answers the upgrade with
// an HTTP error (a rate limit) is alive, so the client is closed with 4503
// at once; a holder that cannot be reached while its lease stays (a
// partition) is retried until a lease would have expired, then 4503 too.
func TestMultiNodeHolderUnavailable(t *testing.T) {
	checkLeaks(t)
	c := newCluster(t)
	const ttl = time.Second
	b := c.node(t, nodeOptions{ttl: ttl})
	limited := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "slow down", http.StatusTooManyRequests)
	}))
	defer limited.Close()
	ctx := context.Background()
	if err := c.rdb.Set(ctx, c.prefix+"room:p1", limited.URL, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	code, _ := closeOf(t, b.url("p1", token("ann", "p1", "editor")))
	if code != rtc.CloseUnavailable || time.Since(start) > ttl/2 {
		t.Errorf("holder answering 429: close %d after %s, want %d at once", code, time.Since(start), rtc.CloseUnavailable)
	}

	if err := c.rdb.Set(ctx, c.prefix+"room:p2", "http://127.0.0.1:1", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	code, _ = closeOf(t, b.url("p2", token("ann", "p2", "editor")))
	took := time.Since(start)
	if code != rtc.CloseUnavailable || took < ttl || took > ttl+3*time.Second {
		t.Errorf("unreachable holder: close %d after %s, want %d after about TTL+1 s", code, took, rtc.CloseUnavailable)
	}
	if st := b.srv.Stats(); st.Relayed != 0 || st.Peers != 0 {
		t.Errorf("B stats %+v, want nothing left", st)
	}
}
