package assets_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"math"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/maxbooster/maxbooster/api"
	"github.com/maxbooster/maxbooster/api/assets"
	"github.com/maxbooster/maxbooster/api/openapi/openapitest"
	"github.com/maxbooster/maxbooster/api/respond"
	"github.com/maxbooster/maxbooster/audio"
	"github.com/maxbooster/maxbooster/audio/analysis"
	"github.com/maxbooster/maxbooster/audio/blob"
	"github.com/maxbooster/maxbooster/audio/blob/blobtest"
	"github.com/maxbooster/maxbooster/audio/loudness"
	"github.com/maxbooster/maxbooster/internal/lifecycle"
	"github.com/maxbooster/maxbooster/store"
	"github.com/maxbooster/maxbooster/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	blobtest.StopServers()
	os.Exit(code)
}

const maxUpload = 3 << 20

// env is the whole API (api.NewHandler: session, projects, assets) over a
// real database, behind openapitest.Wrap so every response is checked
// against the OpenAPI document.
type env struct {
	url string
	db  *store.DB
	hc  *http.Client
}

func newEnv(t *testing.T, db *store.DB, blobs blob.Store, configure ...func(*api.Deps)) *env {
	t.Helper()
	if blobs == nil {
		var err error
		if blobs, err = blob.NewLocal(t.TempDir()); err != nil {
			t.Fatal(err)
		}
	}
	lc := lifecycle.New()
	d := api.Deps{
		Logger:    slog.New(slog.DiscardHandler),
		DB:        db,
		Metrics:   prometheus.NewRegistry(),
		Lifecycle: lc,
		Version:   "test",
		Assets: assets.Config{
			Blobs: blobs, UploadDir: t.TempDir(), TempDir: t.TempDir(),
			MaxUploadBytes: maxUpload, Workers: 2, Poll: 50 * time.Millisecond, MaxSeconds: 60,
		},
	}
	for _, f := range configure {
		f(&d)
	}
	h, err := api.NewHandler(d)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(openapitest.Wrap(t, h, nil))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := lc.Shutdown(ctx); err != nil {
			t.Errorf("lifecycle shutdown: %v", err)
		}
		srv.Close()
	})
	return &env{url: srv.URL, db: db, hc: srv.Client()}
}

// user is a logged-in client (session cookie).
type user struct {
	id string
	hc *http.Client
	e  *env
}

func (e *env) register(t *testing.T, name string) *user {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	u := &user{hc: &http.Client{Jar: jar, Transport: e.hc.Transport}, e: e}
	res := u.do(t, "POST", "/api/v1/auth/register", "application/json",
		strings.NewReader(fmt.Sprintf(`{"email":%q,"password":"a long enough passphrase 42","displayName":%q}`, name+"@example.com", name)), nil)
	want(t, res, http.StatusCreated)
	var b struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	decode(t, res, &b)
	u.id = b.User.ID
	return u
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (u *user) do(t *testing.T, method, path, contentType string, body io.Reader, hdr http.Header) *response {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, u.e.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := u.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func (u *user) get(t *testing.T, path string) *response {
	t.Helper()
	return u.do(t, "GET", path, "", nil, nil)
}

func want(t *testing.T, r *response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
}

func wantProblem(t *testing.T, r *response, status int, code string) {
	t.Helper()
	want(t, r, status)
	var p respond.Problem
	decode(t, r, &p)
	if p.Code != code {
		t.Fatalf("problem code %q, want %q: %s", p.Code, code, r.Body)
	}
}

func decode(t *testing.T, r *response, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// rate is the test tone's sample rate: 48 kHz, so the Opus preview needs
// no resampling (the tests run under the race detector).
const rate = 48000

// tone is a 16-bit stereo WAV of a 440 Hz sine at amplitude 0.5 (about
// −6.7 LUFS), and its samples.
func tone(t *testing.T, seconds float64) ([]byte, []float64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tone.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := audio.NewWAVWriter(f, audio.WAVOptions{SampleRate: rate, Channels: 2, Format: audio.PCM16})
	if err != nil {
		t.Fatal(err)
	}
	n := int(seconds * rate)
	x := make([]float64, 2*n)
	for i := range n {
		v := 0.5 * math.Sin(2*math.Pi*440*float64(i)/rate)
		x[2*i], x[2*i+1] = v, v
	}
	if err := w.Write(x); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// What the decoder yields (16-bit quantised) is what the server measures.
	r, err := audio.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	dec, err := audio.ReadAll(r, len(x)+10)
	if err != nil {
		t.Fatal(err)
	}
	return b, dec
}

// projectWithViewer has owner create a project named name, adds viewer to
// it as a viewer and returns the project's id.
func projectWithViewer(t *testing.T, db *store.DB, owner, viewer *user, name string) string {
	t.Helper()
	var p struct {
		ID string `json:"id"`
	}
	res := owner.do(t, "POST", "/api/v1/projects", "application/json", strings.NewReader(`{"name":"`+name+`"}`), nil)
	want(t, res, http.StatusCreated)
	decode(t, res, &p)
	if _, err := db.ExecContext(context.Background(),
		`INSERT INTO project_members (project_id, user_id, role, joined_at) VALUES (?, ?, 'viewer', ?)`,
		p.ID, viewer.id, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	return p.ID
}

func (u *user) upload(t *testing.T, name, projectID string, data []byte) assets.Asset {
	t.Helper()
	path := "/api/v1/assets?filename=" + name
	if projectID != "" {
		path += "&projectId=" + projectID
	}
	res := u.do(t, "POST", path, "audio/wav", bytes.NewReader(data), nil)
	want(t, res, http.StatusCreated)
	var a assets.Asset
	decode(t, res, &a)
	return a
}

// event is one Server-Sent Event.
type event struct {
	id, name string
	job      assets.Job
}

// watch reads a job's event stream until it ends and returns the events.
func (u *user) watch(t *testing.T, jobID, lastEventID string) ([]event, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", u.e.url+"/api/v1/jobs/"+jobID+"/events", nil)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := u.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	var out []event
	var cur event
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.name != "" {
				out = append(out, cur)
			}
			cur = event{}
		case strings.HasPrefix(line, "id: "):
			cur.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			cur.name = line[7:]
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(line[6:]), &cur.job); err != nil {
				t.Fatalf("event data %q: %v", line, err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("event stream: %v", err)
	}
	return out, resp.StatusCode
}

// waitJob follows the job's events to its end and checks their order.
func (u *user) waitJob(t *testing.T, jobID string) assets.Job {
	t.Helper()
	evs, status := u.watch(t, jobID, "")
	if status != http.StatusOK || len(evs) == 0 {
		t.Fatalf("events: status %d, %d events", status, len(evs))
	}
	last := evs[len(evs)-1]
	prev := -1.0
	for i, ev := range evs {
		if i < len(evs)-1 && ev.name != "progress" {
			t.Errorf("event %d is %q before the end", i, ev.name)
		}
		if ev.job.ID != jobID || ev.job.Percent < prev {
			t.Errorf("event %d: %+v after %v%%", i, ev.job, prev)
		}
		prev = ev.job.Percent
	}
	if last.name != "done" || last.job.Status != "done" || last.job.Percent != 100 {
		t.Fatalf("last event %s %+v", last.name, last.job)
	}
	// Reconnecting with the final event's id ends the stream for good.
	if _, status := u.watch(t, jobID, last.id); status != http.StatusNoContent {
		t.Errorf("reconnect after done: status %d, want 204", status)
	}
	return last.job
}

func TestAssets(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, nil)
		owner, stranger := e.register(t, "owner"), e.register(t, "stranger")
		wav, samples := tone(t, 1.5)
		sum := sha256.Sum256(wav)

		// Plain upload: 201, processing, metadata already read.
		a := owner.upload(t, "tone.wav", "", wav)
		if a.Status != assets.StatusProcessing || a.SHA256 != hex.EncodeToString(sum[:]) || a.Size != int64(len(wav)) ||
			a.OwnerID != owner.id || a.ProjectID != nil || a.JobID == nil || a.ContentType != "audio/wav" {
			t.Fatalf("created %+v", a)
		}
		if a.Metadata == nil || a.Metadata.SampleRate != rate || a.Metadata.Channels != 2 || a.Metadata.BitDepth != 16 || a.Metadata.DurationSec != 1.5 {
			t.Errorf("metadata %+v", a.Metadata)
		}

		// The ingest job, followed through Server-Sent Events.
		j := owner.waitJob(t, *a.JobID)
		if j.Kind != "ingest" || j.AssetID != a.ID || j.ResultAssetID != nil {
			t.Errorf("job %+v", j)
		}
		res := owner.get(t, "/api/v1/assets/"+a.ID)
		want(t, res, http.StatusOK)
		decode(t, res, &a)
		if a.Status != assets.StatusReady || !a.PreviewReady || !a.PeaksReady || a.Analysis == nil || a.Tags == nil {
			t.Fatalf("after ingest %s", res.Body)
		}
		lufs := integrated(t, samples)
		if l := a.Analysis.Loudness.IntegratedLUFS; l == nil || math.Abs(*l-lufs) > 0.02 {
			t.Errorf("integrated loudness %v, want %.2f LUFS", fmtNum(l), lufs)
		}
		// 1.5 s holds no complete 3 s window: short-term max and range are undefined.
		if l := a.Analysis.Loudness; l.ShortTermMaxLUFS != nil || l.RangeLU != nil || l.MomentaryMaxLUFS == nil {
			t.Errorf("short-term max %s, range %s, momentary max %s", fmtNum(l.ShortTermMaxLUFS), fmtNum(l.RangeLU), fmtNum(l.MomentaryMaxLUFS))
		}
		if len(a.Analysis.Compliance) == 0 || a.Analysis.Compliance[0].Platform == "" {
			t.Errorf("compliance %+v", a.Analysis.Compliance)
		}

		t.Run("range download", func(t *testing.T) {
			res := owner.do(t, "GET", "/api/v1/assets/"+a.ID+"/file", "", nil, http.Header{"Range": {"bytes=1000-1999"}})
			want(t, res, http.StatusPartialContent)
			if !bytes.Equal(res.Body, wav[1000:2000]) {
				t.Error("range bytes differ")
			}
			if got := res.Header.Get("Content-Range"); got != fmt.Sprintf("bytes 1000-1999/%d", len(wav)) {
				t.Errorf("Content-Range %q", got)
			}
			etag := res.Header.Get("ETag")
			if etag != `"`+a.SHA256+`"` {
				t.Errorf("ETag %q", etag)
			}
			full := owner.get(t, "/api/v1/assets/"+a.ID+"/file")
			want(t, full, http.StatusOK)
			if !bytes.Equal(full.Body, wav) {
				t.Error("download differs from the upload")
			}
			want(t, owner.do(t, "GET", "/api/v1/assets/"+a.ID+"/file", "", nil, http.Header{"If-None-Match": {etag}}), http.StatusNotModified)
		})

		t.Run("preview is Ogg Opus", func(t *testing.T) {
			res := owner.get(t, "/api/v1/assets/"+a.ID+"/preview")
			want(t, res, http.StatusOK)
			if !bytes.HasPrefix(res.Body, []byte("OggS")) || !strings.HasPrefix(res.Header.Get("Content-Type"), "audio/ogg") {
				t.Fatalf("preview: %q, %.8q", res.Header.Get("Content-Type"), res.Body)
			}
			info, err := audio.Probe(bytes.NewReader(res.Body), int64(len(res.Body)))
			if err != nil {
				t.Fatal(err)
			}
			if info.Codec != "opus" || info.SampleRate != 48000 || info.Channels != 2 || math.Abs(info.DurationSeconds()-1.5) > 0.05 {
				t.Errorf("preview info %+v (%.3f s)", info, info.DurationSeconds())
			}
			r, err := audio.NewReader(bytes.NewReader(res.Body), int64(len(res.Body)))
			if err != nil {
				t.Fatal(err)
			}
			pcm, err := audio.ReadAll(r, 48000*2*3)
			if err != nil {
				t.Fatal(err)
			}
			peak := 0.0
			for _, v := range pcm {
				peak = max(peak, math.Abs(v))
			}
			if math.Abs(peak-0.5) > 0.05 {
				t.Errorf("preview decodes to peak %.3f, want about 0.5", peak)
			}
		})

		t.Run("peaks", func(t *testing.T) {
			// 768 = 3 × 256: merged by the server from the stored 256 level.
			for _, spp := range []int{512, 768} {
				an, err := analysis.New(rate, 2, analysis.Options{PeakResolutions: []int{spp}, SkipTempo: true, SkipKey: true})
				if err != nil {
					t.Fatal(err)
				}
				an.Write(samples)
				ref := an.Result().Peaks[0]
				wantJSON, err := ref.JSON(16)
				if err != nil {
					t.Fatal(err)
				}
				res := owner.get(t, fmt.Sprintf("/api/v1/assets/%s/peaks?samplesPerPixel=%d&format=json", a.ID, spp))
				want(t, res, http.StatusOK)
				var got, exp map[string]any
				decode(t, res, &got)
				_ = json.Unmarshal(wantJSON, &exp)
				if d := cmp.Diff(exp, got); d != "" {
					t.Errorf("peaks at %d (-computed +served):\n%s", spp, d)
				}
				var dat bytes.Buffer
				if err := ref.WriteDat(&dat, 16); err != nil {
					t.Fatal(err)
				}
				bin := owner.get(t, fmt.Sprintf("/api/v1/assets/%s/peaks?samplesPerPixel=%d", a.ID, spp))
				want(t, bin, http.StatusOK)
				if bin.Header.Get("Content-Type") != "application/octet-stream" || !bytes.Equal(bin.Body, dat.Bytes()) {
					t.Errorf("binary peaks at %d differ (%d bytes, want %d)", spp, len(bin.Body), dat.Len())
				}
				if v := binary.LittleEndian.Uint32(bin.Body[12:]); v != uint32(spp) {
					t.Errorf("header samples per pixel %d", v)
				}
			}
			wantProblem(t, owner.get(t, "/api/v1/assets/"+a.ID+"/peaks?samplesPerPixel=100"), http.StatusBadRequest, "invalid_samples_per_pixel")
			// level=1 is the second stored level (512), the same as asking for it.
			byLevel := owner.get(t, "/api/v1/assets/"+a.ID+"/peaks?level=1")
			bySPP := owner.get(t, "/api/v1/assets/"+a.ID+"/peaks?samplesPerPixel=512")
			want(t, byLevel, http.StatusOK)
			if a.PeaksLevels[1] != 512 || !bytes.Equal(byLevel.Body, bySPP.Body) {
				t.Errorf("level 1 of %v differs from 512 samples per pixel", a.PeaksLevels)
			}
			wantProblem(t, owner.get(t, "/api/v1/assets/"+a.ID+"/peaks?level=99"), http.StatusBadRequest, "invalid_level")
			eight := owner.get(t, "/api/v1/assets/"+a.ID+"/peaks?samplesPerPixel=512&bits=8&format=json")
			want(t, eight, http.StatusOK)
			var j8 struct {
				Bits int   `json:"bits"`
				Data []int `json:"data"`
			}
			decode(t, eight, &j8)
			if j8.Bits != 8 || len(j8.Data) == 0 || slices.Max(j8.Data) != 64 {
				t.Errorf("8-bit peaks: bits %d, max %d", j8.Bits, slices.Max(j8.Data))
			}
		})

		t.Run("spectrogram", func(t *testing.T) {
			res := owner.get(t, "/api/v1/assets/"+a.ID+"/spectrogram.png")
			want(t, res, http.StatusOK)
			img, err := png.Decode(bytes.NewReader(res.Body))
			if err != nil || img.Bounds().Dx() == 0 {
				t.Fatalf("png: %v", err)
			}
		})

		t.Run("strangers see nothing", func(t *testing.T) {
			for _, p := range []string{"", "/file", "/preview", "/peaks", "/spectrogram.png"} {
				wantProblem(t, stranger.get(t, "/api/v1/assets/"+a.ID+p), http.StatusNotFound, "asset_not_found")
			}
			wantProblem(t, stranger.do(t, "DELETE", "/api/v1/assets/"+a.ID, "", nil, nil), http.StatusNotFound, "asset_not_found")
			wantProblem(t, stranger.get(t, "/api/v1/jobs/"+*a.JobID), http.StatusNotFound, "job_not_found")
			wantProblem(t, stranger.get(t, "/api/v1/jobs/"+*a.JobID+"/events"), http.StatusNotFound, "job_not_found")
			var l assets.List
			res := stranger.get(t, "/api/v1/assets")
			want(t, res, http.StatusOK)
			decode(t, res, &l)
			if len(l.Assets) != 0 {
				t.Errorf("stranger lists %d assets", len(l.Assets))
			}
			anon := &user{hc: &http.Client{Transport: e.hc.Transport}, e: e}
			wantProblem(t, anon.get(t, "/api/v1/assets/"+a.ID), http.StatusUnauthorized, "unauthenticated")
		})

		t.Run("process into a new asset", func(t *testing.T) {
			res := owner.do(t, "POST", "/api/v1/assets/"+a.ID+"/process", "application/json",
				strings.NewReader(`{"operations":[{"type":"gain","gainDb":-6},{"type":"fade","inMs":10,"outMs":10}],"format":"flac","bitDepth":16}`), nil)
			want(t, res, http.StatusAccepted)
			var j assets.Job
			decode(t, res, &j)
			if j.Kind != "process" || j.AssetID != a.ID || j.Status != "queued" {
				t.Errorf("job %+v", j)
			}
			done := owner.waitJob(t, j.ID)
			if done.ResultAssetID == nil {
				t.Fatalf("no result asset: %+v", done)
			}
			res = owner.get(t, "/api/v1/assets/"+*done.ResultAssetID)
			want(t, res, http.StatusOK)
			var out assets.Asset
			decode(t, res, &out)
			if out.Status != assets.StatusReady || out.ContentType != "audio/flac" || out.Filename != "tone-processed.flac" ||
				out.SourceAssetID == nil || *out.SourceAssetID != a.ID || !out.PreviewReady || out.Metadata.Codec != "flac" {
				t.Errorf("result %s", res.Body)
			}
			if l := out.Analysis.Loudness.IntegratedLUFS; l == nil || math.Abs(*l-(lufs-6)) > 0.1 {
				t.Errorf("processed loudness %v, want %.2f LUFS", fmtNum(l), lufs-6)
			}
			bad := owner.do(t, "POST", "/api/v1/assets/"+a.ID+"/process", "application/json",
				strings.NewReader(`{"operations":[{"type":"explode"}]}`), nil)
			wantProblem(t, bad, http.StatusBadRequest, "invalid_process")
			bad = owner.do(t, "POST", "/api/v1/assets/"+a.ID+"/process", "application/json", strings.NewReader(`{"normalizeTo":"myspace"}`), nil)
			wantProblem(t, bad, http.StatusBadRequest, "invalid_process")
		})

		t.Run("project members", func(t *testing.T) {
			viewer := e.register(t, "viewer")
			pid := projectWithViewer(t, db, owner, viewer, "Night Shift")
			pa := owner.upload(t, "stem.wav", pid, wav)
			if pa.ProjectID == nil || *pa.ProjectID != pid {
				t.Fatalf("project asset %+v", pa)
			}
			want(t, viewer.get(t, "/api/v1/assets/"+pa.ID), http.StatusOK)
			want(t, viewer.get(t, "/api/v1/assets/"+pa.ID+"/file"), http.StatusOK)
			var l assets.List
			res = viewer.get(t, "/api/v1/assets?projectId="+pid)
			want(t, res, http.StatusOK)
			decode(t, res, &l)
			if len(l.Assets) != 1 || l.Assets[0].ID != pa.ID {
				t.Errorf("viewer's project list %s", res.Body)
			}
			wantProblem(t, viewer.do(t, "DELETE", "/api/v1/assets/"+pa.ID, "", nil, nil), http.StatusForbidden, "asset_forbidden")
			wantProblem(t, viewer.do(t, "POST", "/api/v1/assets/"+pa.ID+"/process", "application/json",
				strings.NewReader(`{"normalizeTo":"spotify"}`), nil), http.StatusForbidden, "asset_forbidden")
			wantProblem(t, viewer.do(t, "POST", "/api/v1/assets?filename=x.wav&projectId="+pid, "audio/wav", bytes.NewReader(wav), nil),
				http.StatusForbidden, "project_forbidden")
			wantProblem(t, stranger.get(t, "/api/v1/assets/"+pa.ID), http.StatusNotFound, "asset_not_found")
			wantProblem(t, stranger.get(t, "/api/v1/assets?projectId="+pid), http.StatusNotFound, "project_not_found")
			want(t, owner.do(t, "DELETE", "/api/v1/assets/"+pa.ID, "", nil, nil), http.StatusNoContent)
			wantProblem(t, viewer.get(t, "/api/v1/assets/"+pa.ID), http.StatusNotFound, "asset_not_found")
		})

		t.Run("limits and bad input", func(t *testing.T) {
			big := make([]byte, maxUpload+1)
			wantProblem(t, owner.do(t, "POST", "/api/v1/assets?filename=big.wav", "audio/wav", bytes.NewReader(big), nil),
				http.StatusRequestEntityTooLarge, "upload_too_large")
			// Without a Content-Length the limit holds while streaming.
			wantProblem(t, owner.do(t, "POST", "/api/v1/assets?filename=big.wav", "audio/wav", io.MultiReader(bytes.NewReader(big)), nil),
				http.StatusRequestEntityTooLarge, "upload_too_large")
			wantProblem(t, owner.do(t, "POST", "/api/v1/assets?filename=notes.txt", "text/plain", strings.NewReader("not audio at all, sorry"), nil),
				http.StatusUnsupportedMediaType, "unsupported_format")
			wantProblem(t, owner.do(t, "POST", "/api/v1/assets", "audio/wav", bytes.NewReader(wav), nil), http.StatusBadRequest, "invalid_filename")
			res := owner.do(t, "POST", "/api/v1/uploads/", "", nil, http.Header{
				"Tus-Resumable": {"1.0.0"}, "Upload-Length": {strconv.Itoa(maxUpload + 1)}, "Upload-Metadata": {tusMeta("filename", "big.wav")},
			})
			want(t, res, http.StatusRequestEntityTooLarge)
		})

		t.Run("multipart upload", func(t *testing.T) {
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			fw, _ := mw.CreateFormFile("file", "form.wav")
			_, _ = fw.Write(wav)
			_ = mw.Close()
			res := owner.do(t, "POST", "/api/v1/assets", mw.FormDataContentType(), &body, nil)
			want(t, res, http.StatusCreated)
			var m assets.Asset
			decode(t, res, &m)
			if m.Filename != "form.wav" || m.SHA256 != a.SHA256 {
				t.Errorf("multipart asset %+v", m)
			}
			// Same bytes as the first upload: deleting one keeps the other's blob.
			want(t, owner.do(t, "DELETE", "/api/v1/assets/"+m.ID, "", nil, nil), http.StatusNoContent)
			full := owner.get(t, "/api/v1/assets/"+a.ID+"/file")
			want(t, full, http.StatusOK)
			if !bytes.Equal(full.Body, wav) {
				t.Error("the shared blob went with the other asset")
			}
		})

		t.Run("tus resumable upload", func(t *testing.T) {
			tusUpload(t, owner, stranger, wav)
		})

		want(t, owner.do(t, "DELETE", "/api/v1/assets/"+a.ID, "", nil, nil), http.StatusNoContent)
		wantProblem(t, owner.get(t, "/api/v1/assets/"+a.ID), http.StatusNotFound, "asset_not_found")
	})
}

func tusMeta(kv ...string) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, kv[i]+" "+base64.StdEncoding.EncodeToString([]byte(kv[i+1])))
	}
	return strings.Join(parts, ",")
}

// failingReader yields n bytes of data, then fails: a connection that
// drops in the middle of a PATCH.
type failingReader struct {
	r io.Reader
	n int
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("connection dropped")
	}
	if len(p) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

// tusHeaders are a tus request's headers: Tus-Resumable and kv.
func tusHeaders(kv ...string) http.Header {
	h := http.Header{"Tus-Resumable": {"1.0.0"}}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

// getAsset reads an asset the user may see.
func (u *user) getAsset(t *testing.T, id string) assets.Asset {
	t.Helper()
	res := u.get(t, "/api/v1/assets/"+id)
	want(t, res, http.StatusOK)
	var a assets.Asset
	decode(t, res, &a)
	return a
}

// listed returns the asset id in the user's list (or the project's, with
// a query), failing if it is not there.
func (u *user) listed(t *testing.T, query, id string) assets.Asset {
	t.Helper()
	res := u.get(t, "/api/v1/assets"+query)
	want(t, res, http.StatusOK)
	var l assets.List
	decode(t, res, &l)
	for _, a := range l.Assets {
		if a.ID == id {
			return a
		}
	}
	t.Fatalf("asset %s not in the list %s", id, res.Body)
	return assets.Asset{}
}

// wantUploading checks an uploading asset's progress, in GET and in the list.
func (u *user) wantUploading(t *testing.T, id string, size, received int64) {
	t.Helper()
	for _, a := range []assets.Asset{u.getAsset(t, id), u.listed(t, "", id)} {
		if a.Status != assets.StatusUploading || a.Size != size || a.UploadedBytes != received || a.SHA256 != "" || a.JobID != nil {
			t.Fatalf("uploading asset: status %s, %d of %d bytes (want %d of %d), sha256 %q, job %v",
				a.Status, a.UploadedBytes, a.Size, received, size, a.SHA256, a.JobID)
		}
	}
}

// tusUpload sends wav through the tus endpoint in chunks, with one PATCH
// cut off half-way and resumed from the offset the server reports. The
// asset exists from the creation on, uploading with growing progress,
// and keeps its id through processing.
func tusUpload(t *testing.T, owner, stranger *user, wav []byte) {
	tus := tusHeaders()
	with := tusHeaders
	res := owner.do(t, "POST", "/api/v1/uploads/", "", nil,
		with("Upload-Length", strconv.Itoa(len(wav)), "Upload-Metadata", tusMeta("filename", "resumed.wav", "filetype", "audio/x-wav")))
	want(t, res, http.StatusCreated)
	loc := res.Header.Get("Location")
	id := loc[strings.LastIndex(loc, "/")+1:]
	path := "/api/v1/uploads/" + id
	created := res.Header.Get(assets.AssetIDHeader)
	if created == "" {
		t.Fatal("the creation named no asset")
	}
	size := int64(len(wav))
	owner.wantUploading(t, created, size, 0)
	if a := owner.getAsset(t, created); a.Filename != "resumed.wav" || a.ContentType != "audio/x-wav" || a.OwnerID != owner.id {
		t.Errorf("uploading asset %+v", a)
	}
	res = owner.get(t, path+"/asset")
	want(t, res, http.StatusOK)
	var byUpload assets.Asset
	decode(t, res, &byUpload)
	if byUpload.ID != created || byUpload.Status != assets.StatusUploading {
		t.Errorf("the upload's asset while uploading: %s", res.Body)
	}
	wantProblem(t, stranger.get(t, "/api/v1/assets/"+created), http.StatusNotFound, "asset_not_found")
	patch := func(off int, body io.Reader, n int) *response {
		req, _ := http.NewRequestWithContext(context.Background(), "PATCH", owner.e.url+path, body)
		req.Header = with("Upload-Offset", strconv.Itoa(off), "Content-Type", "application/offset+octet-stream")
		req.ContentLength = int64(n)
		resp, err := owner.hc.Do(req)
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	}
	offset := func() int {
		deadline := time.Now().Add(15 * time.Second)
		for {
			res := owner.do(t, "HEAD", path, "", nil, tus)
			if res.Status == http.StatusOK {
				n, _ := strconv.Atoi(res.Header.Get("Upload-Offset"))
				return n
			}
			if time.Now().After(deadline) {
				t.Fatalf("HEAD: status %d", res.Status)
			}
			time.Sleep(50 * time.Millisecond) // the interrupted PATCH may still hold the lock
		}
	}
	chunk := 64 << 10
	// First chunk.
	res = patch(0, bytes.NewReader(wav[:chunk]), chunk)
	if res == nil || res.Status != http.StatusNoContent || res.Header.Get("Upload-Offset") != strconv.Itoa(chunk) {
		t.Fatalf("first PATCH: %+v", res)
	}
	owner.wantUploading(t, created, size, int64(chunk))
	// Strangers cannot see or touch it.
	if r := stranger.do(t, "HEAD", path, "", nil, tus); r.Status != http.StatusNotFound {
		t.Errorf("stranger HEAD: %d", r.Status)
	}
	wantProblem(t, stranger.do(t, "PATCH", path, "application/offset+octet-stream", bytes.NewReader(wav[chunk:2*chunk]),
		with("Upload-Offset", strconv.Itoa(chunk))), http.StatusNotFound, "upload_not_found")
	// A PATCH announcing the rest, cut off after 100 000 bytes.
	if r := patch(chunk, &failingReader{r: bytes.NewReader(wav[chunk:]), n: 100000}, len(wav)-chunk); r != nil && r.Status == http.StatusNoContent {
		t.Fatalf("interrupted PATCH succeeded: %+v", r)
	}
	off := offset()
	if off < chunk || off > chunk+100000 {
		t.Fatalf("offset after the interruption %d", off)
	}
	// The asset shows what the server holds of the interrupted PATCH
	// (which may still be landing: see the offset mismatches below).
	if a := owner.getAsset(t, created); a.Status != assets.StatusUploading || a.UploadedBytes < int64(chunk) || a.UploadedBytes > int64(chunk+100000) {
		t.Fatalf("after the interruption: %s, %d bytes (offset %d)", a.Status, a.UploadedBytes, off)
	}
	// Resume in chunks.
	var assetID string
	for mismatches := 0; off < len(wav); {
		end := min(off+chunk, len(wav))
		r := patch(off, bytes.NewReader(wav[off:end]), end-off)
		if r != nil && r.Status == http.StatusConflict && mismatches < 3 {
			// The interrupted PATCH may reach the server after our HEAD
			// (two connections race) and move the offset on: ask again,
			// as tus clients do on a mismatch.
			mismatches++
			off = offset()
			continue
		}
		if r == nil || r.Status != http.StatusNoContent {
			t.Fatalf("PATCH at %d: %+v", off, r)
		}
		off, _ = strconv.Atoi(r.Header.Get("Upload-Offset"))
		if off != end {
			t.Fatalf("offset %d after PATCH to %d", off, end)
		}
		assetID = r.Header.Get(assets.AssetIDHeader)
		if off < len(wav) {
			owner.wantUploading(t, created, size, int64(off))
		}
	}
	if assetID != created {
		t.Fatalf("the final PATCH named asset %q, the creation %q", assetID, created)
	}
	res = owner.get(t, path+"/asset")
	want(t, res, http.StatusOK)
	var a assets.Asset
	decode(t, res, &a)
	sum := sha256.Sum256(wav)
	if a.ID != assetID || a.Filename != "resumed.wav" || a.SHA256 != hex.EncodeToString(sum[:]) || a.Size != int64(len(wav)) {
		t.Errorf("tus asset %+v", a)
	}
	wantProblem(t, stranger.get(t, path+"/asset"), http.StatusNotFound, "upload_not_found")
	// The finished upload's files are gone; the asset stays.
	if r := owner.do(t, "HEAD", path, "", nil, tus); r.Status != http.StatusNotFound {
		t.Errorf("HEAD after completion: %d", r.Status)
	}
	owner.waitJob(t, *a.JobID)
	full := owner.get(t, "/api/v1/assets/"+a.ID+"/file")
	want(t, full, http.StatusOK)
	if !bytes.Equal(full.Body, wav) {
		t.Error("tus upload stored different bytes")
	}
}

// TestAssetsS3 runs the upload → job → download path with the blobs in a
// real S3-compatible server (MB_TEST_S3).
func TestAssetsS3(t *testing.T) {
	s3 := blobtest.NewS3(t)
	e := newEnv(t, storetest.OpenSQLite(t), s3)
	owner := e.register(t, "s3owner")
	wav, _ := tone(t, 1)
	a := owner.upload(t, "s3.wav", "", wav)
	owner.waitJob(t, *a.JobID)
	res := owner.do(t, "GET", "/api/v1/assets/"+a.ID+"/file", "", nil, http.Header{"Range": {"bytes=44-1043"}})
	want(t, res, http.StatusPartialContent)
	if !bytes.Equal(res.Body, wav[44:1044]) {
		t.Error("range from S3 differs")
	}
	res = owner.get(t, "/api/v1/assets/"+a.ID+"/preview")
	want(t, res, http.StatusOK)
	if !bytes.HasPrefix(res.Body, []byte("OggS")) {
		t.Error("preview from S3 is not Ogg")
	}
	if _, err := s3.Stat(context.Background(), a.SHA256); err != nil {
		t.Errorf("original not in the bucket: %v", err)
	}
	want(t, owner.do(t, "DELETE", "/api/v1/assets/"+a.ID, "", nil, nil), http.StatusNoContent)
	if _, err := s3.Stat(context.Background(), a.SHA256); err != nil {
		t.Errorf("original gone before the grace period: %v", err)
	}
	gc, err := assets.NewService(e.db, assets.Config{Blobs: s3})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	if _, err := gc.CollectBlobs(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s3.Stat(context.Background(), a.SHA256); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("original still in the bucket after delete and collection: %v", err)
	}
}

func fmtNum(p *float64) string {
	if p == nil {
		return "null"
	}
	return strconv.FormatFloat(*p, 'f', 2, 64)
}

// integrated measures samples (48 kHz stereo) with audio/loudness.
func integrated(t *testing.T, samples []float64) float64 {
	t.Helper()
	m, err := loudness.New(rate, audio.DefaultLayout(2).LoudnessWeights(), loudness.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m.Write(samples)
	return m.Result().Integrated
}

// TestTusPreflight: browsers from configured origins may send the tus
// headers; other preflights and requests pass through to the API.
func TestTusPreflight(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := assets.TusPreflight([]string{"https://studio.example.com"}, next)
	tests := []struct {
		name, method, path, origin string
		want                       int
	}{
		{"tus preflight", "OPTIONS", "/api/v1/uploads/abc", "https://studio.example.com", http.StatusNoContent},
		{"creation preflight", "OPTIONS", "/api/v1/uploads/", "https://studio.example.com", http.StatusNoContent},
		{"other origin", "OPTIONS", "/api/v1/uploads/abc", "https://evil.example.com", http.StatusTeapot},
		{"other path", "OPTIONS", "/api/v1/assets", "https://studio.example.com", http.StatusTeapot},
		{"not a preflight", "PATCH", "/api/v1/uploads/abc", "https://studio.example.com", http.StatusTeapot},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, nil)
			req.Header.Set("Origin", tt.origin)
			req.Header.Set("Access-Control-Request-Method", "PATCH")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d", rec.Code, tt.want)
			}
			if tt.want == http.StatusNoContent {
				allow := rec.Header().Get("Access-Control-Allow-Headers")
				for _, hd := range []string{"Tus-Resumable", "Upload-Offset", "Upload-Length", "Upload-Metadata", "Authorization"} {
					if !strings.Contains(allow, hd) {
						t.Errorf("Allow-Headers %q lacks %s", allow, hd)
					}
				}
				if rec.Header().Get("Access-Control-Allow-Origin") != tt.origin || rec.Header().Get("Access-Control-Allow-Credentials") != "true" {
					t.Errorf("headers %v", rec.Header())
				}
			}
		})
	}
	if got := assets.TusPreflight(nil, next); fmt.Sprintf("%p", got) != fmt.Sprintf("%p", next) {
		t.Error("without origins the handler should be next itself")
	}
}

// TestTusCORS drives the tus endpoint as a browser on another origin
// would: the preflight admits the tus headers and the responses expose
// what tus-js-client reads.
func TestTusCORS(t *testing.T) {
	const origin = "https://studio.example.com"
	e := newEnv(t, storetest.OpenSQLite(t), nil, func(d *api.Deps) { d.CORSOrigins = []string{origin} })
	u := e.register(t, "cors")
	pre := u.do(t, "OPTIONS", "/api/v1/uploads/", "", nil, http.Header{
		"Origin": {origin}, "Access-Control-Request-Method": {"POST"},
		"Access-Control-Request-Headers": {"tus-resumable,upload-length,upload-metadata"},
	})
	want(t, pre, http.StatusNoContent)
	if h := pre.Header.Get("Access-Control-Allow-Headers"); !strings.Contains(h, "Upload-Metadata") {
		t.Errorf("preflight Allow-Headers %q", h)
	}
	wav, _ := tone(t, 0.5)
	res := u.do(t, "POST", "/api/v1/uploads/", "application/offset+octet-stream", bytes.NewReader(wav), http.Header{
		"Origin": {origin}, "Tus-Resumable": {"1.0.0"}, "Upload-Length": {strconv.Itoa(len(wav))},
		"Upload-Metadata": {tusMeta("filename", "cors.wav")},
	})
	want(t, res, http.StatusCreated) // creation-with-upload: one request
	if res.Header.Get("Access-Control-Allow-Origin") != origin {
		t.Errorf("Allow-Origin %q", res.Header.Get("Access-Control-Allow-Origin"))
	}
	expose := res.Header.Get("Access-Control-Expose-Headers")
	for _, h := range []string{"Location", "Upload-Offset", assets.AssetIDHeader} {
		if !strings.Contains(expose, h) {
			t.Errorf("Expose-Headers %q lacks %s", expose, h)
		}
	}
	id := res.Header.Get(assets.AssetIDHeader)
	if id == "" || res.Header.Get("Upload-Offset") != strconv.Itoa(len(wav)) {
		t.Fatalf("creation-with-upload: headers %v", res.Header)
	}
	want(t, u.get(t, "/api/v1/assets/"+id), http.StatusOK)
	// A site that is not configured cannot change state with the cookie.
	evil := u.do(t, "POST", "/api/v1/uploads/", "", nil, http.Header{
		"Origin": {"https://evil.example.com"}, "Sec-Fetch-Site": {"cross-site"}, "Tus-Resumable": {"1.0.0"},
		"Upload-Length": {"10"}, "Upload-Metadata": {tusMeta("filename", "x.wav")},
	})
	wantProblem(t, evil, http.StatusForbidden, "cross_origin")
}

// TestJobEventsError: a job that fails ends its event stream with an
// "error" event, and the asset is failed with the reason.
func TestJobEventsError(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t), nil, func(d *api.Deps) { d.Assets.JobTimeout = time.Millisecond })
	u := e.register(t, "slow")
	wav, _ := tone(t, 1)
	a := u.upload(t, "slow.wav", "", wav)
	evs, status := u.watch(t, *a.JobID, "")
	if status != http.StatusOK || len(evs) == 0 {
		t.Fatalf("events: status %d, %d events", status, len(evs))
	}
	last := evs[len(evs)-1]
	if last.name != "error" || last.job.Status != "failed" || last.job.Error == nil {
		t.Fatalf("last event %s %+v", last.name, last.job)
	}
	res := u.get(t, "/api/v1/assets/"+a.ID)
	want(t, res, http.StatusOK)
	decode(t, res, &a)
	if a.Status != assets.StatusFailed || a.Error == nil || *a.Error != "processing took too long" {
		t.Errorf("asset %s", res.Body)
	}
	wantProblem(t, u.get(t, "/api/v1/assets/"+a.ID+"/preview"), http.StatusConflict, "asset_not_ready")
}

// TestTusInFlightLimits: a user holds at most MaxUploadsPerUser unfinished
// uploads (another user is not affected; deleting one frees its slot), and
// the quota counts what unfinished uploads announced.
func TestTusInFlightLimits(t *testing.T) {
	storetest.ForEachDialect(t, testTusInFlightLimits)
}

func testTusInFlightLimits(t *testing.T, db *store.DB) {
	e := newEnv(t, db, nil, func(d *api.Deps) {
		d.Assets.MaxUploadsPerUser = 2
		d.Assets.QuotaBytes = 5000
	})
	a, b := e.register(t, "tusa"), e.register(t, "tusb")
	create := func(u *user, size int) *response {
		return u.do(t, "POST", "/api/v1/uploads/", "", nil, http.Header{"Tus-Resumable": {"1.0.0"},
			"Upload-Length": {strconv.Itoa(size)}, "Upload-Metadata": {tusMeta("filename", "x.wav")}})
	}
	first := create(a, 1000)
	want(t, first, http.StatusCreated)
	want(t, create(a, 1000), http.StatusCreated)
	if r := create(a, 1000); r.Status != http.StatusTooManyRequests || !strings.Contains(string(r.Body), "TOO_MANY_UPLOADS") {
		t.Fatalf("third unfinished upload: %d %s, want 429 too_many_uploads", r.Status, r.Body)
	}
	want(t, create(b, 1000), http.StatusCreated)
	loc := first.Header.Get("Location")
	want(t, a.do(t, "DELETE", "/api/v1/uploads/"+loc[strings.LastIndex(loc, "/")+1:], "", nil,
		http.Header{"Tus-Resumable": {"1.0.0"}}), http.StatusNoContent)
	// b announced 1000 bytes: 4500 more would overrun the 5000-byte quota.
	if r := create(b, 4500); r.Status != http.StatusRequestEntityTooLarge || !strings.Contains(string(r.Body), "QUOTA_EXCEEDED") {
		t.Fatalf("upload over the quota with one in flight: %d %s", r.Status, r.Body)
	}
	want(t, create(a, 1000), http.StatusCreated)
}

// tusCreate starts a tus upload of size bytes and returns its path and
// the asset made for it.
func (u *user) tusCreate(t *testing.T, size int, meta ...string) (path, assetID string) {
	t.Helper()
	res := u.do(t, "POST", "/api/v1/uploads/", "", nil, tusHeaders("Upload-Length", strconv.Itoa(size), "Upload-Metadata", tusMeta(meta...)))
	want(t, res, http.StatusCreated)
	loc := res.Header.Get("Location")
	assetID = res.Header.Get(assets.AssetIDHeader)
	if assetID == "" {
		t.Fatalf("creation without %s: %v", assets.AssetIDHeader, res.Header)
	}
	return "/api/v1/uploads/" + loc[strings.LastIndex(loc, "/")+1:], assetID
}

func (u *user) tusPatch(t *testing.T, path string, off int, chunk []byte) *response {
	t.Helper()
	return u.do(t, "PATCH", path, "application/offset+octet-stream", bytes.NewReader(chunk), tusHeaders("Upload-Offset", strconv.Itoa(off)))
}

// TestTusUploadingAsset: an unfinished upload's asset is visible to the
// project's members and changeable as any project asset; deleting it
// cancels the upload (also in the middle of a PATCH), and terminating
// the upload removes the asset. The quota counts what unfinished uploads
// announced once: finishing an upload does not count it twice.
func TestTusUploadingAsset(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		wav, _ := tone(t, 0.5)
		n := len(wav)
		e := newEnv(t, db, nil, func(d *api.Deps) { d.Assets.QuotaBytes = int64(2*n + 100) })
		owner, viewer := e.register(t, "upowner"), e.register(t, "upviewer")
		const chunk = 16 << 10

		t.Run("project members", func(t *testing.T) {
			pid := projectWithViewer(t, db, owner, viewer, "Uploads")
			path, id := owner.tusCreate(t, n, "filename", "stem.wav", "projectId", pid)
			want(t, owner.tusPatch(t, path, 0, wav[:chunk]), http.StatusNoContent)
			a := viewer.listed(t, "?projectId="+pid, id)
			if a.Status != assets.StatusUploading || a.UploadedBytes != chunk || a.ProjectID == nil || *a.ProjectID != pid {
				t.Errorf("viewer sees %+v", a)
			}
			wantProblem(t, viewer.do(t, "DELETE", "/api/v1/assets/"+id, "", nil, nil), http.StatusForbidden, "asset_forbidden")
			// Only the uploader drives the upload itself.
			wantProblem(t, viewer.tusPatch(t, path, chunk, wav[chunk:2*chunk]), http.StatusNotFound, "upload_not_found")
			wantProblem(t, owner.get(t, "/api/v1/assets/"+id+"/file"), http.StatusConflict, "asset_not_ready")
			wantProblem(t, owner.do(t, "POST", "/api/v1/assets/"+id+"/process", "application/json",
				strings.NewReader(`{"normalizeTo":"spotify"}`), nil), http.StatusConflict, "asset_not_ready")
			want(t, owner.do(t, "DELETE", "/api/v1/assets/"+id, "", nil, nil), http.StatusNoContent)
			wantProblem(t, viewer.get(t, "/api/v1/assets/"+id), http.StatusNotFound, "asset_not_found")
			// The upload is cancelled: its file is gone and a PATCH says so.
			wantProblem(t, owner.tusPatch(t, path, chunk, wav[chunk:2*chunk]), http.StatusNotFound, "upload_not_found")
			if r := owner.do(t, "HEAD", path, "", nil, tusHeaders()); r.Status != http.StatusNotFound {
				t.Errorf("HEAD of a cancelled upload: %d", r.Status)
			}
			wantProblem(t, owner.get(t, path+"/asset"), http.StatusNotFound, "upload_not_found")
		})

		t.Run("delete during a PATCH", func(t *testing.T) {
			path, id := owner.tusCreate(t, n, "filename", "cut.wav")
			pr, pw := io.Pipe()
			done := make(chan *response, 1)
			go func() {
				req, _ := http.NewRequestWithContext(context.Background(), "PATCH", e.url+path, pr)
				req.Header = tusHeaders("Upload-Offset", "0", "Content-Type", "application/offset+octet-stream")
				req.ContentLength = int64(n)
				resp, err := owner.hc.Do(req)
				if err != nil {
					t.Errorf("PATCH: %v", err)
					done <- nil
					return
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				done <- &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
			}()
			// Trickle bytes until the running PATCH has recorded progress.
			sent := 0
			deadline := time.Now().Add(10 * time.Second)
			for {
				if _, err := pw.Write(wav[sent : sent+1024]); err != nil {
					t.Fatalf("write: %v", err)
				}
				sent += 1024
				if a := owner.getAsset(t, id); a.UploadedBytes > 0 {
					if a.Status != assets.StatusUploading || a.UploadedBytes > int64(sent) {
						t.Fatalf("during the PATCH: %s, %d bytes of %d sent", a.Status, a.UploadedBytes, sent)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("no progress recorded during a running PATCH")
				}
				time.Sleep(100 * time.Millisecond)
			}
			want(t, owner.do(t, "DELETE", "/api/v1/assets/"+id, "", nil, nil), http.StatusNoContent)
			var res *response
			for res == nil && sent+1024 < n {
				select {
				case res = <-done:
				case <-time.After(100 * time.Millisecond):
					if _, err := pw.Write(wav[sent : sent+1024]); err != nil {
						res = <-done
						break
					}
					sent += 1024
				}
			}
			_ = pw.Close()
			if res == nil {
				res = <-done
			}
			if res == nil || res.Status != http.StatusNotFound || !strings.Contains(string(res.Body), "ERR_UPLOAD_CANCELLED") {
				t.Fatalf("the running PATCH after the delete: %+v", res)
			}
			if r := owner.do(t, "HEAD", path, "", nil, tusHeaders()); r.Status != http.StatusNotFound {
				t.Errorf("HEAD after the cancelled PATCH: %d", r.Status)
			}
			wantProblem(t, owner.get(t, "/api/v1/assets/"+id), http.StatusNotFound, "asset_not_found")
		})

		t.Run("terminate removes the asset", func(t *testing.T) {
			path, id := owner.tusCreate(t, n, "filename", "gone.wav")
			want(t, owner.tusPatch(t, path, 0, wav[:chunk]), http.StatusNoContent)
			want(t, owner.do(t, "DELETE", path, "", nil, tusHeaders()), http.StatusNoContent)
			wantProblem(t, owner.get(t, "/api/v1/assets/"+id), http.StatusNotFound, "asset_not_found")
		})

		t.Run("quota counts announced sizes once", func(t *testing.T) {
			// Quota 2n+100: one upload in flight (n announced) and one
			// stored asset (n) fit; a third file does not, whichever way
			// it comes.
			path, id := owner.tusCreate(t, n, "filename", "a.wav")
			plain := owner.upload(t, "b.wav", "", wav)
			wantProblem(t, owner.do(t, "POST", "/api/v1/assets?filename=c.wav", "audio/wav", bytes.NewReader(wav), nil),
				http.StatusRequestEntityTooLarge, "quota_exceeded")
			if r := owner.do(t, "POST", "/api/v1/uploads/", "", nil, tusHeaders("Upload-Length", strconv.Itoa(n),
				"Upload-Metadata", tusMeta("filename", "c.wav"))); r.Status != http.StatusRequestEntityTooLarge ||
				!strings.Contains(string(r.Body), "QUOTA_EXCEEDED") {
				t.Fatalf("tus creation over the quota: %d %s", r.Status, r.Body)
			}
			// Finishing the upload turns its announced size into the
			// stored one: it fits, as it did when it began.
			for off := 0; off < n; off += chunk {
				res := owner.tusPatch(t, path, off, wav[off:min(off+chunk, n)])
				want(t, res, http.StatusNoContent)
				if end := min(off+chunk, n); end == n && res.Header.Get(assets.AssetIDHeader) != id {
					t.Fatalf("final PATCH names %q, want %q", res.Header.Get(assets.AssetIDHeader), id)
				}
			}
			a := owner.getAsset(t, id)
			if a.Status == assets.StatusUploading || a.Status == assets.StatusFailed || a.UploadedBytes != int64(n) || a.Size != int64(n) {
				t.Fatalf("finished upload: %+v", a)
			}
			owner.waitJob(t, *a.JobID)
			want(t, owner.do(t, "DELETE", "/api/v1/assets/"+plain.ID, "", nil, nil), http.StatusNoContent)
			owner.tusCreate(t, n, "filename", "d.wav")
		})
	})
}
