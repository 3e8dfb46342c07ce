package collab_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/maxbooster/maxbooster/collab"
	"github.com/maxbooster/maxbooster/collab/redisbus"
	"github.com/maxbooster/maxbooster/internal/redistest"
	"github.com/maxbooster/maxbooster/store"
	"github.com/maxbooster/maxbooster/store/storetest"
)

// Environment of the hub child process (TestHubChildProcess).
const (
	childEnv      = "MB_COLLAB_CHILD"
	childDBEnv    = "MB_COLLAB_CHILD_DB"
	childRedisEnv = "MB_COLLAB_CHILD_REDIS"
	childPrefix   = "MB_COLLAB_CHILD_PREFIX"
)

// childToken is the token format the child process accepts:
// "user:role:room". The child stands in for a full server; what is under
// test is the hub, its store and its bus, not token crypto.
func childToken(user, role, room string) string { return user + ":" + role + ":" + room }

// TestHubChildProcess is not a test: it is the hub server that the kill -9
// and multi-node tests start as a separate process (the os/exec
// TestHelperProcess pattern). It serves until killed or stdin closes.
func TestHubChildProcess(t *testing.T) {
	if os.Getenv(childEnv) != "1" {
		t.Skip("helper process for the kill -9 and multi-node tests")
	}
	ctx := context.Background()
	db, err := store.Open(ctx, os.Getenv(childDBEnv))
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	if _, err := db.Migrate(ctx, store.MigrateOptions{}); err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	ds := store.NewDocStore(db, nil)
	opts := collab.Options{
		Store: ds,
		Auth: collab.AuthorizerFunc(func(r *http.Request, room string) (collab.Principal, error) {
			parts := strings.Split(r.URL.Query().Get("token"), ":")
			if len(parts) != 3 || parts[2] != room {
				return collab.Principal{}, collab.ErrUnauthenticated
			}
			role, ok := collab.ParseRole(parts[1])
			if !ok {
				return collab.Principal{}, collab.ErrForbidden
			}
			return collab.Principal{UserID: parts[0], Role: role}, nil
		}),
		InsecureSkipOriginCheck: true,
		CompactAfter:            20,
	}
	var bus *redisbus.Bus
	if addr := os.Getenv(childRedisEnv); addr != "" {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		bus = redisbus.New(rdb, redisbus.Options{Prefix: os.Getenv(childPrefix)})
		opts.Bus = bus
	}
	hub, err := collab.NewHub(opts)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /collab/{projectId}", hub)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Println("LISTEN", ln.Addr().String())
	// Serve until the parent closes stdin (or kills us).
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_ = hub.Close(cctx)
	_ = srv.Shutdown(cctx)
	if bus != nil {
		_ = bus.Close()
	}
	_ = ds.Close()
	_ = db.Close()
	os.Exit(0)
}

type child struct {
	cmd   *exec.Cmd
	wsURL string
	stdin interface{ Close() error }
}

// startChild runs the hub in a separate process on dbURL (and Redis when
// redisAddr is set) and returns its y-websocket server URL.
func startChild(t *testing.T, dbURL, redisAddr, prefix string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHubChildProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"=1", childDBEnv+"="+dbURL, childRedisEnv+"="+redisAddr, childPrefix+"="+prefix)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stdin: stdin}
	t.Cleanup(func() {
		_ = stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	lines := bufio.NewScanner(out)
	got := make(chan string, 1)
	go func() {
		for lines.Scan() {
			if l := lines.Text(); strings.HasPrefix(l, "LISTEN ") || strings.HasPrefix(l, "ERR ") {
				got <- l
				return
			}
		}
		got <- "ERR child exited"
	}()
	select {
	case l := <-got:
		if !strings.HasPrefix(l, "LISTEN ") {
			t.Fatalf("child: %s", l)
		}
		c.wsURL = "ws://" + strings.TrimPrefix(l, "LISTEN ") + "/collab"
	case <-time.After(60 * time.Second):
		t.Fatal("child did not start")
	}
	return c
}

// kill sends SIGKILL: no shutdown code runs.
func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = c.cmd.Process.Wait()
}

func TestKill9Durability(t *testing.T) {
	requireNode(t)
	d := startDriver(t)
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "collab.db")
	c1 := startChild(t, dbURL, "", "")
	d.call("open", map[string]any{"client": "a", "url": c1.wsURL, "room": "song", "params": map[string]string{"token": childToken("ua", "editor", "song")}})
	d.call("open", map[string]any{"client": "b", "url": c1.wsURL, "room": "song", "params": map[string]string{"token": childToken("ub", "editor", "song")}})
	d.call("waitSynced", map[string]any{"client": "a"})
	d.call("waitSynced", map[string]any{"client": "b"})
	var want strings.Builder
	for i := 0; i < 60; i++ {
		s := fmt.Sprintf("%d,", i)
		d.call("insert", map[string]any{"client": "a", "index": want.Len(), "text": s})
		want.WriteString(s)
	}
	// b has seen every update, so each was durable before it was relayed.
	d.call("waitText", map[string]any{"client": "b", "text": want.String()})
	c1.kill(t)
	d.call("destroy", map[string]any{"client": "a"})
	d.call("destroy", map[string]any{"client": "b"})

	c2 := startChild(t, dbURL, "", "")
	d.call("open", map[string]any{"client": "c", "url": c2.wsURL, "room": "song", "params": map[string]string{"token": childToken("uc", "viewer", "song")}})
	d.call("waitText", map[string]any{"client": "c", "text": want.String(), "timeoutMs": 10000})
}

// TestMultiNode runs two hub processes sharing PostgreSQL and Redis;
// clients on different nodes edit one room, one node is killed mid-session
// and its client moves to the other node.
func TestMultiNode(t *testing.T) {
	requireNode(t)
	redisAddr := redistest.Addr(t)
	dbURL := storetest.PostgresURL(t)
	prefix := redistest.Prefix(t)
	d := startDriver(t)
	n1 := startChild(t, dbURL, redisAddr, prefix)
	n2 := startChild(t, dbURL, redisAddr, prefix)
	open := func(name string, n *child) {
		d.call("open", map[string]any{"client": name, "url": n.wsURL, "room": "band", "params": map[string]string{"token": childToken("u"+name, "editor", "band")}})
		d.call("waitSynced", map[string]any{"client": name})
	}
	open("a", n1)
	open("b", n2)
	d.call("insert", map[string]any{"client": "a", "index": 0, "text": "verse "})
	d.call("waitText", map[string]any{"client": "b", "text": "verse "})
	d.call("insert", map[string]any{"client": "b", "index": 6, "text": "chorus "})
	d.call("waitText", map[string]any{"client": "a", "text": "verse chorus "})
	// Awareness crosses nodes too.
	d.call("setAwareness", map[string]any{"client": "a", "state": map[string]any{"name": "a"}})
	d.call("setAwareness", map[string]any{"client": "b", "state": map[string]any{"name": "b"}})
	d.call("waitAwareness", map[string]any{"client": "b", "count": 2})
	d.call("waitAwareness", map[string]any{"client": "a", "count": 2})

	// Node 1 dies. a keeps editing offline, then reaches node 2.
	n1.kill(t)
	d.call("insert", map[string]any{"client": "a", "index": 0, "text": "intro "})
	d.call("insert", map[string]any{"client": "b", "index": 13, "text": "bridge"})
	d.call("move", map[string]any{"client": "a", "url": n2.wsURL, "room": "band", "params": map[string]string{"token": childToken("ua", "editor", "band")}})
	want := "intro verse chorus bridge"
	d.call("waitText", map[string]any{"client": "a", "text": want, "timeoutMs": 10000})
	d.call("waitText", map[string]any{"client": "b", "text": want, "timeoutMs": 10000})
	// A fresh node sees it all from the shared store.
	n3 := startChild(t, dbURL, redisAddr, prefix)
	open("c", n3)
	d.call("waitText", map[string]any{"client": "c", "text": want})
	// And edits on the new node reach the old one.
	d.call("insert", map[string]any{"client": "c", "index": len(want), "text": "!"})
	d.call("waitText", map[string]any{"client": "b", "text": want + "!"})
}
