// Command collabbench is the load generator for the collab hub. It starts
// each server under test as its own process pinned to one core (taskset),
// drives it from this process (pin it to another core), and prints a table:
//
//   - fan-out: rooms × clients each sending updates at a rate; latency from
//     send to delivery at every other client (p50/p99), deliveries per
//     CPU-second of the server (from /proc/<pid>/stat), lost deliveries,
//     the server's write syscalls per delivery (/proc/<pid>/io);
//   - idle: N connections (rooms of 10) that each finished a sync;
//     server memory per connection (VmRSS delta, -settle after the last
//     sync) and connect time.
//
// Servers: the Max Booster hub (this binary, "serve", SQLite update log),
// @y/websocket-server 0.1.1 and @hocuspocus/server 4.7 from
// collab/testdata/bench (npm ci there first), and the floor (this binary,
// "floor"; see serveFloor): a bare relay, the most deliveries per
// CPU-second a server that writes each delivery can reach here. On
// request (-servers), maxbooster-memlog: the hub with its update log in
// memory instead of SQLite, which shows what durability costs; and
// maxbooster-pg: its log in PostgreSQL (-pg; the database server is not
// pinned and its CPU is not counted, so compare its latency, not its
// deliveries per CPU-second). The
// generator's own CPU use is reported so a saturated generator is visible.
//
//	taskset -c 1 go run ./collab/internal/collabbench -server-cpu 0
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1" //nolint:gosec // RFC 6455 names SHA-1 for the handshake
	"encoding/base64"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/maxbooster/maxbooster/collab"
	"github.com/maxbooster/maxbooster/crdt"
	"github.com/maxbooster/maxbooster/crdt/lib0"
	"github.com/maxbooster/maxbooster/store"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "floor" {
		if err := serveFloor(); err != nil {
			fmt.Fprintln(os.Stderr, "collabbench floor:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		if err := serve(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "collabbench serve:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "collabbench:", err)
		os.Exit(1)
	}
}

// serve runs the hub with a SQLite update log until stdin closes.
func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	dbPath := fs.String("db", "", "SQLite file (default: a temporary one), or a PostgreSQL URL")
	memLog := fs.Bool("memlog", false, "keep the update log in memory (collab.MemStore): not durable, to measure what the SQLite log costs")
	_ = fs.Parse(args)
	ctx := context.Background()
	if p := os.Getenv("COLLABBENCH_CPUPROFILE"); p != "" {
		f, err := os.Create(filepath.Clean(p)) //nolint:gosec // a path the operator chose for the profile
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var docs collab.DocStore = collab.NewMemStore()
	if !*memLog {
		ds, closeLog, err := openLog(ctx, *dbPath)
		if err != nil {
			return err
		}
		defer closeLog()
		docs = ds
	}
	hub, err := collab.NewHub(collab.Options{
		Store: docs,
		Auth: collab.AuthorizerFunc(func(r *http.Request, room string) (collab.Principal, error) {
			return collab.Principal{UserID: r.URL.Query().Get("user"), Role: collab.RoleEditor}, nil
		}),
		InsecureSkipOriginCheck: true,
		Limits:                  collab.Limits{MaxConnsPerUser: 1 << 20, MaxConnsPerRoom: 1 << 20},
		Logger:                  slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return err
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /collab/{projectId}", hub)
	mux.HandleFunc("GET /hocuspocus", hub.ServeHocuspocus)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Println("LISTEN " + ln.Addr().String())
	// Each "mem" line on stdin writes the heap profile (if
	// COLLABBENCH_HEAPPROFILE names a file) and memory statistics; the
	// idle scenario sends one while every connection is open.
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if in.Text() == "mem" {
			dumpMem()
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_ = hub.Close(cctx)
	return srv.Shutdown(cctx)
}

// openLog opens and migrates the database at path (a SQLite file, created
// if need be, or a PostgreSQL URL), or a temporary SQLite one when path is
// empty, and returns its DocStore and what closes both (and removes a
// temporary database).
func openLog(ctx context.Context, path string) (*store.DocStore, func(), error) {
	cleanup := func() {}
	if path == "" {
		dir, err := os.MkdirTemp("", "collabbench")
		if err != nil {
			return nil, nil, err
		}
		cleanup = func() { _ = os.RemoveAll(dir) }
		path = filepath.Join(dir, "bench.db")
	}
	u := "sqlite:" + path
	if strings.HasPrefix(path, "postgres://") || strings.HasPrefix(path, "postgresql://") {
		u = path
	}
	db, err := store.Open(ctx, u)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	if _, err := db.Migrate(ctx, store.MigrateOptions{}); err != nil {
		_ = db.Close()
		cleanup()
		return nil, nil, err
	}
	ds := store.NewDocStore(db, nil)
	return ds, func() {
		_ = ds.Close()
		_ = db.Close()
		cleanup()
	}, nil
}

// dumpMem writes the heap profile to $COLLABBENCH_HEAPPROFILE and the
// heap (live, in use, held idle, the next collection's goal), stack and
// goroutine counts to stderr, after a collection.
func dumpMem() {
	runtime.GC()
	if p := os.Getenv("COLLABBENCH_HEAPPROFILE"); p != "" {
		if f, err := os.Create(filepath.Clean(p)); err == nil { //nolint:gosec // a path the operator chose for the profile
			_ = pprof.Lookup("heap").WriteTo(f, 0)
			_ = f.Close()
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(os.Stderr, "serve: heap live %d KB, inuse %d KB, idle unreleased %d KB, next GC at %d KB; stack inuse %d KB, sys %d KB, goroutines %d\n",
		ms.HeapAlloc>>10, ms.HeapInuse>>10, (ms.HeapIdle-ms.HeapReleased)>>10, ms.NextGC>>10, ms.StackInuse>>10, ms.Sys>>10, runtime.NumGoroutine())
}

type serverSpec struct {
	name     string
	protocol string // "yws" or "hp"
	cmd      func() *exec.Cmd
	path     string // URL path before the room (yws) or the endpoint (hp)
}

var (
	serverCPU  = flag.String("server-cpu", "0", "CPU list the server is pinned to (taskset -c); empty = no pinning")
	benchDir   = flag.String("node-dir", "collab/testdata/bench", "directory with the Node servers (npm ci done)")
	duration   = flag.Duration("duration", 8*time.Second, "measured time per fan-out scenario")
	warmup     = flag.Duration("warmup", 2*time.Second, "time before measuring")
	idleCounts = flag.String("idle", "2000,10000", "connection counts for the idle scenario")
	settle     = flag.Duration("settle", 5*time.Second, "idle scenario: time between the last connection's sync and the memory reading")
	fanSel     = flag.String("fan", "1,2", "fan-out scenarios to run (1: one room of 50, 2: 100 rooms of 10)")
	custom     = flag.String("custom", "", "an extra fan-out scenario rooms,clients,rate (e.g. 10,10,5); with -fan \"\" runs only it")
	memStats   = flag.Bool("memstats", false, "the hub prints heap and stack use (and writes $COLLABBENCH_HEAPPROFILE) with every idle connection open and at the end of each fan-out scenario")
	pgURL      = flag.String("pg", "", "PostgreSQL URL for maxbooster-pg (its log goes there; rooms are new in every run)")
	rounds     = flag.Int("rounds", 1, "runs of every scenario, the servers taking turns; with more than one the table shows the median and each run")
	only       = flag.String("servers", "maxbooster,y-websocket-server,hocuspocus,floor", "servers to measure (also maxbooster-memlog: the hub with its log in memory, not durable; maxbooster-pg: its log in PostgreSQL, -pg)")
)

func run() error {
	flag.Parse()
	if *rounds < 1 {
		return fmt.Errorf("-rounds %d: want at least 1", *rounds)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	node := func(script string) func() *exec.Cmd {
		return func() *exec.Cmd {
			c := exec.CommandContext(context.Background(), "node", script)
			c.Dir = *benchDir
			c.Env = append(os.Environ(), "PORT=0")
			return c
		}
	}
	servers := []serverSpec{
		{name: "maxbooster", protocol: "yws", path: "/collab", cmd: func() *exec.Cmd { return exec.CommandContext(context.Background(), self, "serve") }},
		{name: "maxbooster-memlog", protocol: "yws", path: "/collab", cmd: func() *exec.Cmd { return exec.CommandContext(context.Background(), self, "serve", "-memlog") }},
		{name: "maxbooster-pg", protocol: "yws", path: "/collab", cmd: func() *exec.Cmd {
			return exec.CommandContext(context.Background(), self, "serve", "-db", *pgURL) //nolint:gosec // this binary, with the URL its operator gave
		}},
		{name: "floor", protocol: "yws", path: "/collab", cmd: func() *exec.Cmd { return exec.CommandContext(context.Background(), self, "floor") }},
		{name: "y-websocket-server", protocol: "yws", path: "", cmd: node("y-websocket-server.mjs")},
		{name: "hocuspocus", protocol: "hp", path: "", cmd: node("hocuspocus-server.mjs")},
	}
	want := strings.Split(*only, ",")
	if slices.Contains(want, "maxbooster-pg") && *pgURL == "" {
		return errors.New("maxbooster-pg needs -pg URL")
	}
	servers = slices.DeleteFunc(servers, func(s serverSpec) bool { return !slices.Contains(want, s.name) })

	type fan struct {
		name                 string
		rooms, clients, rate int
	}
	fans := []fan{{"1 room × 50 clients × 20/s", 1, 50, 20}, {"100 rooms × 10 clients × 5/s", 100, 10, 5}}
	if *custom != "" {
		var f fan
		if _, err := fmt.Sscanf(*custom, "%d,%d,%d", &f.rooms, &f.clients, &f.rate); err != nil || f.rooms < 1 || f.clients < 2 || f.rate < 1 {
			return fmt.Errorf("-custom %q: want rooms,clients,rate", *custom)
		}
		f.name = fmt.Sprintf("%d rooms × %d clients × %d/s", f.rooms, f.clients, f.rate)
		fans = append(fans, f)
		*fanSel += ",3"
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("collabbench: server pinned to CPU %q, generator on the others; %s measured after %s warm-up; %d CPUs, load average %s\n",
		*serverCPU, *duration, *warmup, runtime.NumCPU(), strings.Join(strings.Fields(string(load))[:3], " "))
	fmt.Printf("%-20s %-30s %9s %9s %9s %12s %8s %9s %9s\n", "server", "fan-out scenario", "p50 ms", "p99 ms", "deliv/s", "deliv/CPU-s", "lost", "gen CPU", "wr/deliv")
	for fi, f := range fans {
		if !slices.Contains(strings.Split(*fanSel, ","), strconv.Itoa(fi+1)) {
			continue
		}
		runs := measure(servers, func(s serverSpec) (fanResult, error) {
			res, err := fanout(s, f.rooms, f.clients, f.rate)
			if err != nil {
				fmt.Printf("%-20s %-30s error: %v\n", s.name, f.name, err)
			}
			return res, err
		})
		for i, s := range servers {
			rs := succeeded(runs[i])
			if len(rs) == 0 {
				continue
			}
			med := func(v func(fanResult) float64) float64 { return median(rs, v) }
			lost := int64(0) // the worst run's
			for _, r := range rs {
				lost = max(lost, r.lost)
			}
			fmt.Printf("%-20s %-30s %9.2f %9.2f %9.0f %12.0f %8d %8.0f%% %9.2f\n", s.name, f.name,
				med(func(r fanResult) float64 { return r.p50 }), med(func(r fanResult) float64 { return r.p99 }),
				med(func(r fanResult) float64 { return r.perSec }), med(func(r fanResult) float64 { return r.perCPU }),
				lost, med(func(r fanResult) float64 { return r.genCPU })*100, med(func(r fanResult) float64 { return r.writesPer }))
			if len(rs) > 1 {
				fmt.Printf("%-20s %-30s %9s %9s %9s %12s\n", "", "  each run", "",
					each(rs, "%.2f", func(r fanResult) float64 { return r.p99 }), "",
					each(rs, "%.0f", func(r fanResult) float64 { return r.perCPU / 1000 })+"k")
			}
		}
		printRatios(servers, runs)
	}
	fmt.Printf("\n%-20s %8s %16s %16s %16s\n", "server", "conns", "RSS/conn KB", "connect ms/conn", "connect total s")
	for _, ns := range strings.Split(*idleCounts, ",") {
		if strings.TrimSpace(ns) == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(ns))
		if err != nil {
			return err
		}
		runs := measure(servers, func(s serverSpec) (idleResult, error) {
			res, err := idle(s, n)
			if err != nil {
				fmt.Printf("%-20s %8d error: %v\n", s.name, n, err)
			}
			return res, err
		})
		for i, s := range servers {
			rs := succeeded(runs[i])
			if len(rs) == 0 {
				continue
			}
			fmt.Printf("%-20s %8d %16.1f %16.3f %16.2f\n", s.name, n,
				median(rs, func(r idleResult) float64 { return r.kbPerConn }),
				median(rs, func(r idleResult) float64 { return r.msPerConn }),
				median(rs, func(r idleResult) float64 { return r.total.Seconds() }))
			if len(rs) > 1 {
				fmt.Printf("%-20s %8s %16s\n", "", "each run", each(rs, "%.1f", func(r idleResult) float64 { return r.kbPerConn }))
			}
		}
	}
	return nil
}

// ratioRef is the server the others' deliveries per CPU-second are
// divided by (the bar is a multiple of the Node servers').
const ratioRef = "y-websocket-server"

// printRatios prints each server's deliveries per CPU-second divided by
// ratioRef's in the same round, and their median: runs next to each other
// share the VM's state of the moment better than medians of separate
// runs do.
func printRatios(servers []serverSpec, runs [][]*fanResult) {
	ref := slices.IndexFunc(servers, func(s serverSpec) bool { return s.name == ratioRef })
	if ref < 0 || len(servers) < 2 {
		return
	}
	fmt.Printf("%-20s deliveries/CPU-s ÷ %s's in the same round:\n", "", ratioRef)
	for i, s := range servers {
		if i == ref {
			continue
		}
		var rs []float64
		for k, r := range runs[i] {
			if r != nil && runs[ref][k] != nil && runs[ref][k].perCPU > 0 {
				rs = append(rs, r.perCPU/runs[ref][k].perCPU)
			}
		}
		if len(rs) == 0 {
			continue
		}
		id := func(v float64) float64 { return v }
		fmt.Printf("%-20s   %-20s %.2f× (each round %s)\n", "", s.name, median(rs, id), each(rs, "%.2f", id))
	}
}

// measure runs run on every server -rounds times, the servers taking
// turns: runs[i][k] is server i's round k, nil when it failed.
func measure[R any](servers []serverSpec, run func(serverSpec) (R, error)) [][]*R {
	runs := make([][]*R, len(servers))
	for range *rounds {
		for i, s := range servers {
			var r *R
			if res, err := run(s); err == nil {
				r = &res
			}
			runs[i] = append(runs[i], r)
		}
	}
	return runs
}

// succeeded returns the rounds of rs that did not fail.
func succeeded[R any](rs []*R) []R {
	var ok []R
	for _, r := range rs {
		if r != nil {
			ok = append(ok, *r)
		}
	}
	return ok
}

// median returns the median of v over rs (the mean of the middle two
// when there is an even number).
func median[R any](rs []R, v func(R) float64) float64 {
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = v(r)
	}
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// each formats v of every run, in run order, joined by "/".
func each[R any](rs []R, format string, v func(R) float64) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf(format, v(r))
	}
	return strings.Join(parts, "/")
}

// ---- server process ----

type proc struct {
	cmd  *exec.Cmd
	addr string
	in   io.WriteCloser
}

func start(s serverSpec) (*proc, error) {
	c := s.cmd()
	if *serverCPU != "" {
		args := append([]string{"-c", *serverCPU, c.Path}, c.Args[1:]...)
		c2 := exec.CommandContext(context.Background(), "taskset", args...)
		c2.Dir, c2.Env = c.Dir, c.Env
		c = c2
	}
	c.Stderr = os.Stderr
	in, err := c.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := c.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := c.Start(); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(out)
	addr := make(chan string, 1)
	go func() {
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "LISTEN ") {
				addr <- strings.TrimPrefix(l, "LISTEN ")
			}
		}
	}()
	select {
	case a := <-addr:
		return &proc{cmd: c, addr: a, in: in}, nil
	case <-time.After(30 * time.Second):
		_ = c.Process.Kill()
		return nil, errors.New("server did not start")
	}
}

func (p *proc) stop() {
	_ = p.in.Close()
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-done
	}
}

// cpu returns the process's user+system CPU time.
func (p *proc) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// writes returns how many write syscalls the process made (/proc/<pid>/io
// syscw: write and writev; -1 when unreadable).
func (p *proc) writes() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", p.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "syscw: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return -1
}

// rss returns the process's resident set in KiB.
func (p *proc) rss() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			v, _ := strconv.ParseFloat(strings.Fields(l)[1], 64)
			return v
		}
	}
	return 0
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ---- clients ----

// client speaks y-websocket or Hocuspocus with one room.
type client struct {
	ws     *websocket.Conn
	proto  string
	room   string
	prefix []byte
	synced chan struct{}
	once   sync.Once
}

func dial(ctx context.Context, s serverSpec, addr, room string, idx int) (*client, error) {
	var url string
	if s.protocol == "yws" {
		url = fmt.Sprintf("ws://%s%s/%s?user=u%d", addr, s.path, room, idx)
	} else {
		url = fmt.Sprintf("ws://%s%s", addr, s.path)
	}
	ws, resp, err := websocket.Dial(ctx, url, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(64 << 20)
	c := &client{ws: ws, proto: s.protocol, room: room, synced: make(chan struct{})}
	if s.protocol == "hp" {
		e := lib0.NewEncoder()
		e.WriteVarString(room)
		c.prefix = bytes.Clone(e.Bytes())
		auth := lib0.NewEncoder()
		auth.WriteBytes(c.prefix)
		auth.WriteVarUint(2)
		auth.WriteVarUint(0)
		auth.WriteVarString("token")
		auth.WriteVarString("4.8.0")
		if err := ws.Write(ctx, websocket.MessageBinary, auth.Bytes()); err != nil {
			return nil, err
		}
	}
	if err := c.send(ctx, collab.EncodeSync(collab.SyncStep1, []byte{0})); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *client) send(ctx context.Context, frame []byte) error {
	if c.prefix != nil {
		frame = append(bytes.Clone(c.prefix), frame...)
	}
	return c.ws.Write(ctx, websocket.MessageBinary, frame)
}

// readLoop reads frames; onUpdate gets the payload of every update.
func (c *client) readLoop(ctx context.Context, onUpdate func([]byte)) {
	for {
		_, b, err := c.ws.Read(ctx)
		if err != nil {
			return
		}
		if c.prefix != nil {
			if len(b) == 1 {
				if b[0] == 9 { // Hocuspocus ping
					_ = c.ws.Write(ctx, websocket.MessageBinary, []byte{10})
				}
				continue
			}
			if !bytes.HasPrefix(b, c.prefix) {
				continue
			}
			b = b[len(c.prefix):]
		}
		if len(b) < 2 || b[0] != 0 {
			continue
		}
		switch b[1] {
		case 1:
			c.once.Do(func() { close(c.synced) })
		case 2:
			d := lib0.NewDecoder(b[2:])
			if p, err := d.ReadVarUint8Array(); err == nil {
				onUpdate(p)
			}
		}
	}
}

// marker precedes each update's id in the inserted text.
var marker = []byte("§")

type fanResult struct {
	p50, p99, perSec, perCPU, genCPU float64
	writesPer                        float64 // the server's write syscalls per delivery
	lost                             int64
}

func fanout(s serverSpec, rooms, perRoom, rate int) (fanResult, error) {
	p, err := start(s)
	if err != nil {
		return fanResult{}, err
	}
	defer p.stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	total := rooms * perRoom
	perClient := int((*warmup+*duration).Seconds()*float64(rate)) + rate*2
	// Precompute every client's updates: typing "§<id>" at the end of its
	// own text (each user at their own cursor), as its yjs document would.
	updates := make([][][]byte, total)
	for i := range updates {
		doc := crdt.NewDoc(&crdt.DocOptions{ClientID: uint64(1000 + i)})
		var us [][]byte
		doc.OnUpdate(func(u []byte, _ any, _ *crdt.Transaction) { us = append(us, u) })
		txt := doc.GetText("t")
		for j := 0; j < perClient; j++ {
			if err := txt.Insert(txt.Len(), fmt.Sprintf("§%08x", i*perClient+j)); err != nil {
				return fanResult{}, err
			}
		}
		updates[i] = us
	}
	sent := make([]atomic.Int64, total*perClient) // send time (ns) per update id
	var measuring atomic.Bool
	var lat []time.Duration
	var latMu sync.Mutex
	var delivered, expected atomic.Int64

	clients := make([]*client, total)
	var wg sync.WaitGroup
	// Rooms are new in every run: clients reuse their client IDs, and a
	// server with a database kept between runs (-pg) would take a later
	// run's updates for ones it already has.
	run := time.Now().UnixNano()
	for i := 0; i < total; i++ {
		room := fmt.Sprintf("bench-%d-%d", run, i/perRoom)
		cctx, ccancel := context.WithTimeout(ctx, 30*time.Second)
		c, err := dial(cctx, s, p.addr, room, i)
		ccancel()
		if err != nil {
			return fanResult{}, fmt.Errorf("connect client %d: %w", i, err)
		}
		clients[i] = c
		self := i
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1024)
			c.readLoop(ctx, func(u []byte) {
				now := time.Now().UnixNano()
				for {
					k := bytes.Index(u, marker)
					if k < 0 || k+len(marker)+8 > len(u) {
						break
					}
					id, err := strconv.ParseUint(string(u[k+len(marker):k+len(marker)+8]), 16, 31)
					u = u[k+len(marker)+8:]
					if err != nil || int(id)/perClient == self || int(id) >= len(sent) {
						continue
					}
					if t0 := sent[id].Load(); t0 > 0 && measuring.Load() {
						delivered.Add(1)
						local = append(local, time.Duration(now-t0))
					}
				}
				if len(local) >= 512 {
					latMu.Lock()
					lat = append(lat, local...)
					latMu.Unlock()
					local = local[:0]
				}
			})
			latMu.Lock()
			lat = append(lat, local...)
			latMu.Unlock()
		}()
	}
	for i, c := range clients {
		select {
		case <-c.synced:
		case <-time.After(30 * time.Second):
			return fanResult{}, fmt.Errorf("client %d never synced", i)
		}
	}
	// Senders: each client sends at rate with its own phase.
	var sendWG sync.WaitGroup
	interval := time.Second / time.Duration(rate)
	stopSend := make(chan struct{})
	for i, c := range clients {
		sendWG.Add(1)
		go func() {
			defer sendWG.Done()
			time.Sleep(time.Duration(i) * interval / time.Duration(total))
			t := time.NewTicker(interval)
			defer t.Stop()
			for j := 0; j < perClient; j++ {
				select {
				case <-stopSend:
					return
				case <-t.C:
				}
				id := i*perClient + j
				if measuring.Load() {
					expected.Add(int64(perRoom - 1))
				}
				sent[id].Store(time.Now().UnixNano())
				if err := c.send(ctx, collab.EncodeSync(collab.SyncUpdate, updates[i][j])); err != nil {
					return
				}
			}
		}()
	}
	time.Sleep(*warmup)
	cpu0, gen0, wr0, t0 := p.cpu(), selfCPU(), p.writes(), time.Now()
	measuring.Store(true)
	time.Sleep(*duration)
	close(stopSend)
	sendWG.Wait()
	time.Sleep(500 * time.Millisecond) // let the last deliveries land
	measuring.Store(false)
	cpu1, gen1, wr1, elapsed := p.cpu(), selfCPU(), p.writes(), time.Since(t0)
	if *memStats && s.name == "maxbooster" {
		_, _ = io.WriteString(p.in, "mem\n")
	}
	for _, c := range clients {
		_ = c.ws.CloseNow()
	}
	cancel()
	wg.Wait()
	slices.Sort(lat)
	pct := func(q float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000
	}
	d := float64(delivered.Load())
	r := fanResult{p50: pct(0.5), p99: pct(0.99), perSec: d / elapsed.Seconds(), lost: max(0, expected.Load()-delivered.Load())}
	if c := (cpu1 - cpu0).Seconds(); c > 0 {
		r.perCPU = d / c
	}
	r.genCPU = (gen1 - gen0).Seconds() / elapsed.Seconds()
	if wr0 >= 0 && wr1 >= 0 && d > 0 {
		r.writesPer = float64(wr1-wr0) / d
	}
	return r, nil
}

type idleResult struct {
	kbPerConn, msPerConn float64
	total                time.Duration
}

func idle(s serverSpec, n int) (idleResult, error) {
	p, err := start(s)
	if err != nil {
		return idleResult{}, err
	}
	defer p.stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.Sleep(500 * time.Millisecond)
	rss0 := p.rss()
	clients := make([]*client, n)
	var wg sync.WaitGroup
	start := time.Now()
	errs := make(chan error, n)
	sem := make(chan struct{}, 32)
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cctx, ccancel := context.WithTimeout(ctx, 60*time.Second)
			defer ccancel()
			c, err := dial(cctx, s, p.addr, fmt.Sprintf("idle-%d", i/10), i)
			if err != nil {
				errs <- err
				return
			}
			go c.readLoop(ctx, func([]byte) {})
			select {
			case <-c.synced:
			case <-cctx.Done():
				errs <- fmt.Errorf("client %d: no sync", i)
				return
			}
			clients[i] = c
		}()
	}
	wg.Wait()
	total := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return idleResult{}, err
	}
	time.Sleep(*settle)
	rss1 := p.rss()
	if *memStats && s.name == "maxbooster" {
		_, _ = io.WriteString(p.in, "mem\n")
		time.Sleep(time.Second)
	}
	for _, c := range clients {
		_ = c.ws.CloseNow()
	}
	return idleResult{kbPerConn: (rss1 - rss0) / float64(n), msPerConn: float64(total.Microseconds()) / 1000 / float64(n), total: total}, nil
}

// serveFloor runs the floor: the least a relay can do, for reference. It
// speaks just enough WebSocket (RFC 6455: the handshake, masked client
// frames) to answer a y-websocket client's sync step 1 with an empty
// document and to forward every other message, as it came, to the other
// sockets of its room with one write each. No CRDT, no durability, no
// limits, no keep-alives. A server that writes each delivery when it
// happens cannot deliver more per CPU-second than this: the rest is the
// kernel's cost of a write to a socket.
func serveFloor() error {
	type room struct {
		mu    sync.Mutex
		conns map[net.Conn]struct{}
	}
	var mu sync.Mutex
	rooms := map[string]*room{}
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	// An empty document's sync step 2, framed.
	step2 := appendServerFrame(nil, collab.EncodeSync(collab.SyncStep2, []byte{0, 0}))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Sec-WebSocket-Key")
		hj, ok := w.(http.Hijacker)
		if key == "" || !ok {
			http.Error(w, "websocket only", http.StatusBadRequest)
			return
		}
		conn, rw, err := hj.Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")) //nolint:gosec // RFC 6455 names SHA-1 for the handshake
		if _, err := io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "+
			base64.StdEncoding.EncodeToString(sum[:])+"\r\n\r\n"); err != nil {
			return
		}
		mu.Lock()
		rm := rooms[r.URL.Path]
		if rm == nil {
			rm = &room{conns: map[net.Conn]struct{}{}}
			rooms[r.URL.Path] = rm
		}
		mu.Unlock()
		rm.mu.Lock()
		rm.conns[conn] = struct{}{}
		rm.mu.Unlock()
		defer func() {
			rm.mu.Lock()
			delete(rm.conns, conn)
			rm.mu.Unlock()
		}()
		var payload []byte
		for {
			op, p, err := readClientFrame(rw.Reader, payload[:0])
			if err != nil || op == 0x8 {
				return
			}
			payload = p
			if op != 0x2 {
				continue
			}
			rm.mu.Lock()
			if len(p) >= 2 && p[0] == 0 && p[1] == byte(collab.SyncStep1) {
				_, err = conn.Write(step2)
			} else {
				frame := appendServerFrame(nil, p)
				for c := range rm.conns {
					if c != conn {
						_, _ = c.Write(frame)
					}
				}
			}
			rm.mu.Unlock()
			if err != nil {
				return
			}
		}
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Println("LISTEN " + ln.Addr().String())
	_, _ = io.Copy(io.Discard, os.Stdin)
	return srv.Close()
}

// readClientFrame reads one masked client frame into buf and unmasks it.
func readClientFrame(r *bufio.Reader, buf []byte) (op byte, payload []byte, err error) {
	var h [14]byte
	if _, err := io.ReadFull(r, h[:2]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		if _, err := io.ReadFull(r, h[2:4]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(h[2:4]))
	case 127:
		if _, err := io.ReadFull(r, h[2:10]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(h[2:10])
	}
	if h[1]&0x80 == 0 || n > 64<<20 {
		return 0, nil, errors.New("unmasked or oversized client frame")
	}
	var mask [4]byte
	if _, err := io.ReadFull(r, mask[:]); err != nil {
		return 0, nil, err
	}
	payload = slices.Grow(buf, int(n))[:n]
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	for i := range payload {
		payload[i] ^= mask[i%4]
	}
	return h[0] & 0x0f, payload, nil
}

// appendServerFrame appends payload as a final binary server frame.
func appendServerFrame(b, payload []byte) []byte {
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x82, byte(n))
	case n <= 0xffff:
		b = binary.BigEndian.AppendUint16(append(b, 0x82, 126), uint16(n))
	default:
		b = binary.BigEndian.AppendUint64(append(b, 0x82, 127), uint64(n))
	}
	return append(b, payload...)
}
