//go:build cgo

package rtc_test

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"gopkg.in/hraban/opus.v2"

	"github.com/maxbooster/maxbooster/audio"
	"github.com/maxbooster/maxbooster/rtc"
)

// stepFreqs: second k of the preview source plays stepFreqs[k] on the left
// and 1.5 times that on the right.
var stepFreqs = []float64{440, 660, 880, 1100, 1320, 1540}

// candidates are every frequency a test signal uses.
var candidates = func() []float64 {
	var c []float64
	for _, f := range stepFreqs {
		c = append(c, f, 1.5*f)
	}
	return c
}()

// synth returns seconds of interleaved stereo, left(t) and right(t) Hz at
// each second (0 = silence).
func synth(seconds int, left, right func(sec int) float64) []float64 {
	n := seconds * rtc.SampleRate
	x := make([]float64, 2*n)
	for i := range n {
		sec := i / rtc.SampleRate
		t := float64(i) / rtc.SampleRate
		if f := left(sec); f > 0 {
			x[2*i] = 0.4 * math.Sin(2*math.Pi*f*t)
		}
		if f := right(sec); f > 0 {
			x[2*i+1] = 0.4 * math.Sin(2*math.Pi*f*t)
		}
	}
	return x
}

// oggOpus encodes interleaved 48 kHz stereo as Ogg Opus with libopus.
func oggOpus(t testing.TB, x []float64) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := audio.NewOpusWriter(&buf, 7, rtc.SampleRate)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(x); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// wavBytes writes interleaved stereo x as a 48 kHz float WAV.
func wavBytes(t testing.TB, x []float64) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "a.wav")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w, err := audio.NewWAVWriter(f, audio.WAVOptions{SampleRate: rtc.SampleRate, Channels: 2, Format: audio.Float32})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(x); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// goertzel is the power of x at f Hz.
func goertzel(x []float32, f float64) float64 {
	w := 2 * math.Pi * f / rtc.SampleRate
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s := float64(v) + c*s1 - s2
		s2, s1 = s1, s
	}
	return s1*s1 + s2*s2 - c*s1*s2
}

// tone is the candidate frequency dominating x, or 0 when x is quiet.
func tone(x []float32) float64 {
	var rms float64
	for _, v := range x {
		rms += float64(v) * float64(v)
	}
	if math.Sqrt(rms/float64(len(x))) < 0.02 {
		return 0
	}
	best, bestP := 0.0, 0.0
	for _, f := range candidates {
		if p := goertzel(x, f); p > bestP {
			best, bestP = f, p
		}
	}
	return best
}

// frame is one decoded 20 ms frame as the client heard it.
type frame struct {
	at    time.Time
	seq   uint16
	left  float64 // dominant tone, 0 = silence
	right float64
	rms   float64
}

// receiver decodes an Opus track into frames.
type receiver struct {
	mu     sync.Mutex
	frames []frame
}

func (r *receiver) onTrack(tr *webrtc.TrackRemote) {
	dec, err := opus.NewDecoder(rtc.SampleRate, 2)
	if err != nil {
		return
	}
	pcm := make([]float32, 2*5760)
	l, rr := make([]float32, 0, 5760), make([]float32, 0, 5760)
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		n, err := dec.DecodeFloat32(pkt.Payload, pcm)
		if err != nil || n == 0 {
			continue
		}
		l, rr = l[:0], rr[:0]
		var e float64
		for i := range n {
			l = append(l, pcm[2*i])
			rr = append(rr, pcm[2*i+1])
			e += float64(pcm[2*i])*float64(pcm[2*i]) + float64(pcm[2*i+1])*float64(pcm[2*i+1])
		}
		f := frame{at: time.Now(), seq: pkt.SequenceNumber, left: tone(l), right: tone(rr), rms: math.Sqrt(e / float64(2*n))}
		r.mu.Lock()
		r.frames = append(r.frames, f)
		r.mu.Unlock()
	}
}

// since returns the frames received from index i on, and the new length.
func (r *receiver) since(i int) ([]frame, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]frame(nil), r.frames[i:]...), len(r.frames)
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.frames)
}

// benchOgg is a 6 s preview for benchmarks.
func benchOgg(tb testing.TB) []byte {
	return oggOpus(tb, synth(len(stepFreqs), func(s int) float64 { return stepFreqs[s] }, func(s int) float64 { return 1.5 * stepFreqs[s] }))
}

// BenchmarkReadOggOpus splits a 6 s preview into packets.
func BenchmarkReadOggOpus(b *testing.B) {
	ogg := benchOgg(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(ogg)))
	for b.Loop() {
		if _, err := rtc.ReadOggOpus(bytesReader(ogg), 1<<30); err != nil {
			b.Fatal(err)
		}
	}
}
