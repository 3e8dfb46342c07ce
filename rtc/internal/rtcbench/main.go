//go:build cgo

// Command rtcbench measures package rtc (make bench-rtc):
//
//   - sfu: a live room of N publishers (our own load generator, a child
//     process of this one, each peer sending 20 ms packets with RFC 6464
//     levels) forwarded by the SFU; it reports forwarded packets per
//     second, the server's CPU, forwarded packets per CPU-second (the bar
//     is 60,000; LiveKit publishes about 60-75k per core), loss and the
//     added one-way latency (p50/p99; senders stamp the payload).
//   - ttfa: time from "play" to the first preview packet at the client.
//   - preview: server CPU of one project-mix preview (render + libopus
//     encode + send) with 1 listener and with many, hence per listener.
//
// The server runs in this process with GOMAXPROCS=-server-procs (one core
// by default); the load generator runs in a child process, so the CPU
// figures are the server's alone (getrusage of this process).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/maxbooster/maxbooster/audio"
	"github.com/maxbooster/maxbooster/audio/blob"
	"github.com/maxbooster/maxbooster/collab/daw"
	"github.com/maxbooster/maxbooster/crdt"
	"github.com/maxbooster/maxbooster/rtc"
)

func main() {
	var (
		child       = flag.String("child", "", "internal: run the load generator (sfu or preview) against -url")
		url         = flag.String("url", "", "internal: signalling URL")
		n           = flag.Int("n", 0, "internal: peers in the child")
		rooms       = flag.String("pubs", "4,8,16,24", "sfu: room sizes (publishers) to measure")
		ptime       = flag.Int("ptime", 20, "sfu: packet duration in ms")
		listeners   = flag.Int("listeners", 20, "preview: listeners of one mix")
		warm        = flag.Duration("warmup", 3*time.Second, "time before measuring")
		dur         = flag.Duration("duration", 8*time.Second, "measured time per row")
		serverProcs = flag.Int("server-procs", 1, "GOMAXPROCS of the server (this process)")
		only        = flag.String("only", "sfu,ttfa,preview", "scenarios to run")
		cpuProfile  = flag.String("cpuprofile", "", "write the server's CPU profile here")
	)
	flag.Parse()
	log.SetFlags(0)
	if *child != "" {
		if err := runChild(*child, *url, *n, *ptime, *warm+*dur); err != nil {
			log.Fatal(err)
		}
		return
	}
	runtime.GOMAXPROCS(*serverProcs)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	b, err := newBench()
	if err != nil {
		log.Fatal(err)
	}
	defer b.close()
	fmt.Printf("rtcbench: server GOMAXPROCS=%d, %d CPUs, %s/%s; load generator in a child process\n", *serverProcs, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	for _, s := range strings.Split(*only, ",") {
		switch s {
		case "sfu":
			fmt.Printf("\n## sfu: live room, %d ms packets, each publisher heard by every other\n", *ptime)
			fmt.Println("| pubs | down-tracks | forwarded pkt/s (expected) | server CPU (cores) | forwarded pkt per CPU-s | loss | added latency p50 / p99 |")
			fmt.Println("|---|---|---|---|---|---|---|")
			for _, f := range strings.Split(*rooms, ",") {
				p, err := strconv.Atoi(strings.TrimSpace(f))
				if err != nil || p < 2 {
					log.Fatalf("bad -pubs %q", f)
				}
				if err := b.sfu(p, *ptime, *warm, *dur); err != nil {
					log.Fatal(err)
				}
			}
		case "ttfa":
			if err := b.ttfa(20); err != nil {
				log.Fatal(err)
			}
		case "preview":
			if err := b.previewCPU(*listeners, *warm, *dur); err != nil {
				log.Fatal(err)
			}
		default:
			log.Fatalf("unknown scenario %q", s)
		}
	}
}

// bench is the server side.
type bench struct {
	eng   *rtc.Engine
	srv   *rtc.Server
	hs    *http.Server
	base  string
	docs  *docs
	room  int
	clEng *rtc.Engine
}

func verify(_ context.Context, tok string) (rtc.Grant, error) {
	f := strings.Split(tok, ":")
	if len(f) != 3 {
		return rtc.Grant{}, errors.New("bad token")
	}
	return rtc.Grant{UserID: f[0], ProjectID: f[1], Role: f[2]}, nil
}

func newBench() (*bench, error) {
	eng, err := rtc.NewEngine(rtc.Config{})
	if err != nil {
		return nil, err
	}
	d := &docs{}
	as, err := newAssets()
	if err != nil {
		return nil, err
	}
	srv, err := rtc.NewServer(rtc.Options{Engine: eng, Verify: verify, Docs: d, Assets: as,
		Limits: rtc.Limits{MaxPeersPerRoom: 256, AnswerTimeout: 30 * time.Second}})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /rtc/{projectId}", srv)
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	cl, err := rtc.NewEngine(rtc.Config{Ephemeral: true})
	if err != nil {
		return nil, err
	}
	return &bench{eng: eng, srv: srv, hs: hs, base: "ws://" + ln.Addr().String() + "/rtc/", docs: d, clEng: cl}, nil
}

func (b *bench) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = b.srv.Close(ctx)
	_ = b.hs.Close()
	_ = b.eng.Close()
	_ = b.clEng.Close()
}

// cpu is this process's user+system CPU time.
func cpu() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// child starts the load generator and returns it with a reader of its
// output lines.
func (b *bench) child(kind, url string, n, ptime int, total time.Duration) (*exec.Cmd, *bufio.Scanner, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.CommandContext(context.Background(), exe, "-child", kind, "-url", url, "-n", strconv.Itoa(n), "-ptime", strconv.Itoa(ptime),
		"-warmup", "0s", "-duration", total.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	return cmd, bufio.NewScanner(out), nil
}

// childReport is the load generator's last line.
type childReport struct {
	Sent, Received int64
	P50, P99       float64 // ms
}

func (b *bench) sfu(pubs, ptime int, warm, dur time.Duration) error {
	b.room++
	project := fmt.Sprintf("sfu%d", b.room)
	cmd, sc, err := b.child("sfu", b.base+project+"?token=", pubs, ptime, warm+dur+2*time.Second)
	if err != nil {
		return err
	}
	defer func() { _ = cmd.Wait() }()
	if !sc.Scan() || sc.Text() != "ready" {
		return fmt.Errorf("load generator did not start: %q", sc.Text())
	}
	time.Sleep(warm)
	s0, c0, t0 := b.srv.Stats(), cpu(), time.Now()
	time.Sleep(dur)
	s1, c1, t1 := b.srv.Stats(), cpu(), time.Now()
	var rep childReport
	for sc.Scan() {
		if err := json.Unmarshal(sc.Bytes(), &rep); err != nil {
			return fmt.Errorf("load generator: %q: %w", sc.Text(), err)
		}
	}
	wall := t1.Sub(t0).Seconds()
	fwd := float64(s1.ForwardedPackets - s0.ForwardedPackets)
	cores := (c1 - c0).Seconds() / wall
	expected := float64(pubs*(pubs-1)) * 1000 / float64(ptime)
	loss := 0.0
	if want := rep.Sent * int64(pubs-1); want > 0 {
		loss = 100 * (1 - float64(rep.Received)/float64(want))
	}
	fmt.Printf("| %d | %d | %.0f (%.0f) | %.2f | %.0f | %.2f %% | %.1f / %.1f ms |\n",
		pubs, pubs*(pubs-1), fwd/wall, expected, cores, fwd/(c1-c0).Seconds(), math.Max(loss, 0), rep.P50, rep.P99)
	return nil
}

// ttfa measures play → first packet at a client, n times.
func (b *bench) ttfa(n int) error {
	var got []time.Duration
	ctx := context.Background()
	for i := range n {
		rx := make(chan time.Time, 1)
		dcc := make(chan *webrtc.DataChannel, 1)
		c, err := rtc.Dial(ctx, b.clEng.API(), b.base+"ttfa"+strconv.Itoa(i)+"?token=u:ttfa"+strconv.Itoa(i)+":editor",
			rtc.Message{Type: rtc.MsgJoin, Mode: rtc.ModePreview, AssetID: "a1"}, rtc.ClientOptions{Setup: func(pc *webrtc.PeerConnection) error {
				pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
					if _, _, err := tr.ReadRTP(); err == nil {
						rx <- time.Now()
					}
				})
				pc.OnDataChannel(func(dc *webrtc.DataChannel) { dc.OnOpen(func() { dcc <- dc }) })
				return nil
			}})
		if err != nil {
			return err
		}
		var dc *webrtc.DataChannel
		select {
		case dc = <-dcc:
		case <-time.After(10 * time.Second):
			return errors.New("ttfa: control channel did not open")
		}
		t0 := time.Now()
		if err := dc.SendText(`{"op":"play"}`); err != nil {
			return err
		}
		select {
		case t := <-rx:
			got = append(got, t.Sub(t0))
		case <-time.After(5 * time.Second):
			return errors.New("ttfa: no audio")
		}
		_ = c.Close()
	}
	slices.Sort(got)
	fmt.Printf("\n## ttfa: play → first preview packet at a Pion client on loopback (%d runs)\n", n)
	fmt.Printf("median %.1f ms, p95 %.1f ms, max %.1f ms (bar: < 100 ms)\n", ms(got[len(got)/2]), ms(got[len(got)*95/100]), ms(got[len(got)-1]))
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// previewCPU measures the server's CPU for one mix preview with 1 and
// with many listeners.
func (b *bench) previewCPU(many int, warm, dur time.Duration) error {
	fmt.Println("\n## preview: project mix (8 tracks, 16 clips) rendered, libopus-encoded and sent, one shared stream")
	fmt.Println("| listeners | server CPU (% of a core) | per listener |")
	fmt.Println("|---|---|---|")
	var base float64
	for _, l := range []int{1, many} {
		b.room++
		project := fmt.Sprintf("mix%d", b.room)
		if err := b.docs.build(project); err != nil {
			return err
		}
		cmd, sc, err := b.child("preview", b.base+project+"?token=", l, 20, warm+dur+2*time.Second)
		if err != nil {
			return err
		}
		if !sc.Scan() || sc.Text() != "ready" {
			return fmt.Errorf("preview load generator did not start: %q", sc.Text())
		}
		time.Sleep(warm)
		c0, t0 := cpu(), time.Now()
		time.Sleep(dur)
		c1, t1 := cpu(), time.Now()
		for sc.Scan() {
		}
		_ = cmd.Wait()
		pct := 100 * (c1 - c0).Seconds() / t1.Sub(t0).Seconds()
		if l == 1 {
			base = pct
			fmt.Printf("| 1 | %.2f %% | %.2f %% (render + encode + send) |\n", pct, pct)
		} else {
			fmt.Printf("| %d | %.2f %% | %.3f %% each beyond the first |\n", l, pct, (pct-base)/float64(l-1))
		}
	}
	return nil
}

// docs is a DocSource of generated projects.
type docs struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (d *docs) build(project string) error {
	doc := crdt.NewDoc(nil)
	for i := range 8 {
		id := fmt.Sprintf("t%d", i)
		if err := daw.AddTrack(doc, daw.Track{ID: id, Kind: daw.KindAudio, Pan: float64(i%3-1) / 2, Volume: -3}); err != nil {
			return err
		}
		for k := range 2 {
			if err := daw.AddClip(doc, id, daw.Clip{ID: fmt.Sprintf("c%d%d", i, k), AssetID: "a1", Position: float64(k * 15), Length: 15, FadeIn: 0.5, FadeOut: 0.5}); err != nil {
				return err
			}
		}
	}
	st, err := crdt.EncodeStateAsUpdate(doc, nil)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = map[string][]byte{}
	}
	d.m[project] = st
	return nil
}

type watch struct{ ch chan []byte }

func (w watch) Updates() <-chan []byte { return w.ch }
func (watch) Close()                   {}

func (d *docs) Watch(_ context.Context, project string) (rtc.DocWatch, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	w := watch{ch: make(chan []byte, 1)}
	w.ch <- d.m[project]
	return w, nil
}

// assets serves one 30 s stereo asset: its preview and its audio (WAV).
type assets struct{ ogg, wav []byte }

func newAssets() (*assets, error) {
	x := make([]float64, 2*30*rtc.SampleRate)
	for i := 0; i < len(x)/2; i++ {
		t := float64(i) / rtc.SampleRate
		x[2*i] = 0.3 * math.Sin(2*math.Pi*440*t)
		x[2*i+1] = 0.3 * math.Sin(2*math.Pi*660*t)
	}
	var ogg bytes.Buffer
	w, err := audio.NewOpusWriter(&ogg, 1, rtc.SampleRate)
	if err != nil {
		return nil, err
	}
	if err := w.Write(x); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp("", "rtcbench-*.wav")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	ww, err := audio.NewWAVWriter(f, audio.WAVOptions{SampleRate: rtc.SampleRate, Channels: 2, Format: audio.PCM16})
	if err != nil {
		return nil, err
	}
	if err := ww.Write(x); err != nil {
		return nil, err
	}
	if err := ww.Close(); err != nil {
		return nil, err
	}
	wav, err := os.ReadFile(f.Name())
	if err != nil {
		return nil, err
	}
	return &assets{ogg: ogg.Bytes(), wav: wav}, nil
}

type object struct{ *bytes.Reader }

func (object) Close() error  { return nil }
func (o object) Size() int64 { return o.Reader.Size() }

func (a *assets) Preview(context.Context, string, string, string) (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(a.ogg)), nil
}

func (a *assets) Audio(context.Context, string, string, string) (blob.Object, error) {
	return object{bytes.NewReader(a.wav)}, nil
}

// runChild is the load generator: n peers against url (a token prefix:
// the child appends user:project:role).
func runChild(kind, url string, n, ptime int, total time.Duration) error {
	eng, err := rtc.NewEngine(rtc.Config{Ephemeral: true})
	if err != nil {
		return err
	}
	defer eng.Close()
	project := url[strings.LastIndex(url, "/")+1 : strings.Index(url, "?")]
	ctx := context.Background()
	var (
		sent, recv atomic.Int64
		latMu      sync.Mutex
		lat        []float64
		clients    []*rtc.Client
		stop       = make(chan struct{})
		wg         sync.WaitGroup
	)
	var record, end atomic.Int64 // the measured span (unix ns), set once everyone joined
	record.Store(math.MaxInt64)
	for i := range n {
		user := fmt.Sprintf("u%d", i)
		var (
			track  *webrtc.TrackLocalStaticRTP
			sender *webrtc.RTPSender
			dcc    = make(chan *webrtc.DataChannel, 1)
		)
		join := rtc.Message{Type: rtc.MsgJoin, Mode: rtc.ModeLive}
		if kind == "preview" {
			join = rtc.Message{Type: rtc.MsgJoin, Mode: rtc.ModePreview}
		}
		c, err := rtc.Dial(ctx, eng.API(), url+user+":"+project+":editor", join, rtc.ClientOptions{Setup: func(pc *webrtc.PeerConnection) error {
			if kind == "sfu" {
				var err error
				track, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", user)
				if err != nil {
					return err
				}
				if sender, err = pc.AddTrack(track); err != nil {
					return err
				}
			}
			pc.OnDataChannel(func(dc *webrtc.DataChannel) { dc.OnOpen(func() { dcc <- dc }) })
			pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
				buf := make([]byte, 1500)
				var pkt rtp.Packet
				for {
					k, _, err := tr.Read(buf)
					if err != nil {
						return
					}
					if kind != "sfu" || pkt.Unmarshal(buf[:k]) != nil || len(pkt.Payload) < 8 {
						continue
					}
					now := time.Now()
					sentAt := int64(binary.BigEndian.Uint64(pkt.Payload)) //nolint:gosec // our own stamp
					if sentAt > record.Load() && sentAt < end.Load() {
						recv.Add(1)
						latMu.Lock()
						lat = append(lat, float64(now.UnixNano()-sentAt)/1e6)
						latMu.Unlock()
					}
				}
			})
			return nil
		}})
		if err != nil {
			return err
		}
		clients = append(clients, c)
		if kind == "preview" && i == 0 {
			go func() {
				dc := <-dcc
				_ = dc.SendText(`{"op":"loop","loopStartMs":0,"loopEndMs":29000}`)
				_ = dc.SendText(`{"op":"play"}`)
			}()
		}
		if kind == "sfu" {
			wg.Add(1)
			go func() {
				defer wg.Done()
				publish(track, sender, ptime, stop, &sent, func(t time.Time) bool { return t.UnixNano() > record.Load() && t.UnixNano() < end.Load() })
			}()
		}
	}
	end.Store(time.Now().Add(total - time.Second).UnixNano())
	record.Store(time.Now().Add(total / 3).UnixNano())
	fmt.Println("ready")
	time.Sleep(total)
	close(stop)
	wg.Wait()
	for _, c := range clients {
		_ = c.Close()
	}
	slices.Sort(lat)
	rep := childReport{Sent: sent.Load(), Received: recv.Load()}
	if len(lat) > 0 {
		rep.P50, rep.P99 = lat[len(lat)/2], lat[len(lat)*99/100]
	}
	b, _ := json.Marshal(rep)
	fmt.Println(string(b))
	return nil
}

// publish sends 160-byte packets every ptime ms: the send time in the
// first 8 bytes, and an RFC 6464 level.
func publish(track *webrtc.TrackLocalStaticRTP, sender *webrtc.RTPSender, ptime int, stop chan struct{}, sent *atomic.Int64, counted func(time.Time) bool) {
	t := time.NewTicker(time.Duration(ptime) * time.Millisecond)
	defer t.Stop()
	payload := make([]byte, 160)
	payload[8] = 0xfc
	var seq uint16
	var ts uint32
	levelID := 0
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		if levelID == 0 {
			for _, e := range sender.GetParameters().HeaderExtensions {
				if e.URI == rtc.AudioLevel {
					levelID = e.ID
				}
			}
		}
		now := time.Now()
		binary.BigEndian.PutUint64(payload, uint64(now.UnixNano())) //nolint:gosec // a timestamp
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts}, Payload: payload}
		if levelID != 0 {
			_ = pkt.SetExtension(uint8(levelID), []byte{0x80 | 30}) //nolint:gosec // ids are 1..14
		}
		if err := track.WriteRTP(pkt); err == nil && counted(now) {
			sent.Add(1)
		}
		seq++
		ts += uint32(48 * ptime) //nolint:gosec // small
	}
}
