//go:build cgo

package rtc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/maxbooster/maxbooster/internal/testenv"
	"github.com/maxbooster/maxbooster/rtc"
)

// browserResult is what testdata/browser/run.mjs prints.
type browserResult struct {
	Preview struct {
		TTFAMs          float64   `json:"ttfaMs"`
		PacketsReceived int       `json:"packetsReceived"`
		AudioLevel      float64   `json:"audioLevel"`
		FirstAudioLevel float64   `json:"firstAudioLevel"`
		Fmtp            string    `json:"fmtp"`
		JitterBufferMs  float64   `json:"jitterBufferMs"`
		Hz              []float64 `json:"hz"`
		HzAfterSeek     []float64 `json:"hzAfterSeek"`
		States          int       `json:"states"`
		StateLog        string    `json:"stateLog"`
	} `json:"preview"`
	Live struct {
		FirstMs         float64  `json:"firstMs"`
		PacketsReceived int      `json:"packetsReceived"`
		AudioLevel      float64  `json:"audioLevel"`
		PacketsSent     int      `json:"packetsSent"`
		JitterBufferMs  float64  `json:"jitterBufferMs"`
		Events          []string `json:"events"`
	} `json:"live"`
}

// TestBrowser plays a preview in headless Chromium (Debian's, driven by
// playwright-core) and joins a live room with its fake microphone beside
// a Go participant: getStats must show audio arriving both times, the
// preview in stereo with the source's tones, and the Go participant must
// hear the browser. MB_TEST_CHROMIUM names the Chromium executable; without
// it the test skips, but fails when CI=true.
func TestBrowser(t *testing.T) {
	chromium := os.Getenv("MB_TEST_CHROMIUM")
	if chromium == "" {
		testenv.Unavailable(t, "MB_TEST_CHROMIUM not set: no headless Chromium test (install Debian's chromium; make test sets it when /usr/bin/chromium exists)")
	}
	dir, err := filepath.Abs("testdata/browser")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		t.Fatalf("playwright-core missing: run npm ci in rtc/testdata/browser (make test does): %v", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found: %v", err)
	}
	e := newEnv(t, rtc.Limits{})
	e.http.Config.Handler.(*http.ServeMux).Handle("GET /browser/", http.StripPrefix("/browser/", http.FileServer(http.Dir(dir))))
	src := synth(len(stepFreqs), func(s int) float64 { return stepFreqs[s] }, func(s int) float64 { return 1.5 * stepFreqs[s] })
	e.assets.previews["p1/a1"] = oggOpus(t, src)
	mic := filepath.Join(t.TempDir(), "mic.wav")
	if err := os.WriteFile(mic, wavBytes(t, synth(10, func(int) float64 { return 880 }, func(int) float64 { return 880 })), 0o600); err != nil {
		t.Fatal(err)
	}
	// A Go participant in the room the browser joins: it publishes 440 Hz
	// and decodes what the browser sends.
	goPeer := joinLive(t, e, "gopher", 440)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "run.mjs"))
	cmd.Env = append(os.Environ(),
		"CHROMIUM="+chromium,
		"PAGE="+e.http.URL+"/browser/page.html",
		"PREVIEW_URL="+e.url("p1", token("listener1", "p1", "editor")),
		"LIVE_URL="+e.url("p1", token("browser", "p1", "editor")),
		"ASSET=a1",
		"MIC_WAV="+mic,
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node run.mjs: %v\n%s", err, stderr.String())
	}
	var res browserResult
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &res); err != nil {
		t.Fatalf("run.mjs output %q: %v\n%s", stdout.String(), err, stderr.String())
	}
	t.Logf("preview: %+v", res.Preview)
	t.Logf("live: %+v", res.Live)
	p := res.Preview
	if p.PacketsReceived == 0 || p.AudioLevel <= 0 {
		t.Errorf("preview: inbound-rtp packetsReceived %d audioLevel %g, want > 0", p.PacketsReceived, p.AudioLevel)
	}
	if p.TTFAMs > 1000 {
		t.Errorf("preview: play → audio in getStats took %.0f ms", p.TTFAMs)
	}
	if !strings.Contains(p.Fmtp, "stereo=1") {
		t.Errorf("preview codec fmtp %q, want stereo=1", p.Fmtp)
	}
	near := func(got, want float64) bool { return got > want*0.97 && got < want*1.03 }
	if len(p.Hz) != 2 || !near(p.Hz[0], 440) || !near(p.Hz[1], 660) {
		t.Errorf("preview tones %v Hz, want [440 660]", p.Hz)
	}
	if len(p.HzAfterSeek) != 2 || !near(p.HzAfterSeek[0], 1100) || !near(p.HzAfterSeek[1], 1650) {
		t.Errorf("preview tones after seek to 3 s %v Hz, want [1100 1650]", p.HzAfterSeek)
	}
	l := res.Live
	if l.PacketsReceived == 0 || l.AudioLevel <= 0 || l.PacketsSent == 0 {
		t.Errorf("live: inbound packetsReceived %d audioLevel %g, outbound packetsSent %d; want all > 0", l.PacketsReceived, l.AudioLevel, l.PacketsSent)
	}
	// The Go participant heard the browser's 880 Hz microphone.
	goPeer.mu.Lock()
	defer goPeer.mu.Unlock()
	if len(goPeer.heard) != 1 {
		t.Fatalf("go participant heard %d publishers, want the browser", len(goPeer.heard))
	}
	for from, tones := range goPeer.heard {
		total := 0
		for _, n := range tones {
			total += n
		}
		t.Logf("go participant heard %s: %v", from, tones)
		if total < 50 || tones[880]*2 < total {
			t.Errorf("go participant heard the browser %v, want mostly 880 Hz", tones)
		}
	}
}
