package rtc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync/atomic"
	"time"

	"github.com/maxbooster/maxbooster/audio"
	"github.com/maxbooster/maxbooster/audio/dsp"
	"github.com/maxbooster/maxbooster/collab"
	"github.com/maxbooster/maxbooster/collab/daw"
	"github.com/maxbooster/maxbooster/crdt"
)

// DocSource follows project documents for the mix preview. The collab hub
// satisfies it through a small adapter (api/rtc.go).
type DocSource interface {
	// Watch follows projectID's document: its Updates yield the full
	// state first (a Yjs v1 update), then every applied update in order.
	Watch(ctx context.Context, projectID string) (DocWatch, error)
}

// DocWatch is one subscription to a document's updates.
type DocWatch interface {
	Updates() <-chan []byte
	Close()
}

// HubDocs follows project documents through a collab hub (its Watch: the
// state, then every applied update in order).
func HubDocs(h *collab.Hub) DocSource { return hubDocs{h} }

type hubDocs struct{ h *collab.Hub }

func (d hubDocs) Watch(ctx context.Context, projectID string) (DocWatch, error) {
	w, err := d.h.Watch(ctx, projectID)
	if err != nil {
		return nil, err
	}
	return w, nil
}

var _ DocWatch = (*collab.Watcher)(nil)

// PCM is decoded audio: interleaved 48 kHz stereo samples.
type PCM []float32

// Mix renders a DAW document to 48 kHz stereo: clips at their positions
// with offset, length, gain (dB) and linear fades; track volume (dB),
// balance pan, mute and solo (any solo silences every track not soloed);
// a master bus that sums the tracks and clips at ±1. Only audio tracks
// sound. The length is the end of the last clip, muted or not. Assets holds each clip's decoded audio by asset id; a clip
// whose asset is missing is silent.
type Mix struct {
	clips  []mixClip
	frames int // end of the last clip, in samples per channel
}

type mixClip struct {
	pcm          PCM
	start, end   int // project samples [start, end)
	offset       int // source sample at start
	gl, gr       float32
	fadeIn, fout int // fade lengths in samples
}

func secToSamples(s float64) int {
	if math.IsNaN(s) || s <= 0 {
		return 0
	}
	if s > 24*3600 {
		s = 24 * 3600
	}
	return int(math.Round(s * SampleRate))
}

func dbToGain(db float64) float64 {
	if math.IsNaN(db) || math.IsInf(db, 0) {
		return 1
	}
	if db < -120 {
		return 0
	}
	return math.Pow(10, math.Min(db, 24)/20)
}

// NewMix plans the render of doc with the decoded assets.
func NewMix(doc daw.Document, assets map[string]PCM) *Mix {
	m := &Mix{}
	solo := false
	for _, t := range doc.Tracks {
		if t.Solo && t.Kind == daw.KindAudio {
			solo = true
		}
	}
	for _, t := range doc.Tracks {
		if t.Kind != daw.KindAudio {
			continue
		}
		silent := t.Mute || (solo && !t.Solo)
		pan := math.Max(-1, math.Min(1, t.Pan))
		if math.IsNaN(pan) {
			pan = 0
		}
		vol := dbToGain(t.Volume)
		tl, tr := vol*math.Min(1, 1-pan), vol*math.Min(1, 1+pan)
		for _, c := range t.Clips {
			pcm := assets[c.AssetID]
			length := secToSamples(c.Length)
			if pcm == nil || length == 0 {
				continue
			}
			g := dbToGain(c.Gain)
			mc := mixClip{pcm: pcm, start: secToSamples(c.Position), offset: secToSamples(c.Offset),
				gl: float32(tl * g), gr: float32(tr * g), fadeIn: secToSamples(c.FadeIn), fout: secToSamples(c.FadeOut)}
			mc.end = mc.start + length
			if avail := len(pcm)/2 - mc.offset; avail < length {
				mc.end = mc.start + max(avail, 0)
			}
			if mc.end <= mc.start {
				continue
			}
			m.frames = max(m.frames, mc.end) // muted clips count: muting must not end playback
			if !silent {
				m.clips = append(m.clips, mc)
			}
		}
	}
	return m
}

// Samples is the mix length in samples per channel.
func (m *Mix) Samples() int { return m.frames }

// Render writes the interleaved stereo samples starting at project sample
// at into out (len(out)/2 samples per channel).
func (m *Mix) Render(at int, out []float32) {
	clear(out)
	n := len(out) / 2
	for i := range m.clips {
		c := &m.clips[i]
		lo, hi := max(at, c.start), min(at+n, c.end)
		for s := lo; s < hi; s++ {
			rel := s - c.start
			f := float32(1)
			if c.fadeIn > 0 && rel < c.fadeIn {
				f = float32(rel) / float32(c.fadeIn)
			}
			if left := c.end - s; c.fout > 0 && left < c.fout {
				f = min(f, float32(left)/float32(c.fout))
			}
			src := 2 * (c.offset + rel)
			o := 2 * (s - at)
			out[o] += c.pcm[src] * c.gl * f
			out[o+1] += c.pcm[src+1] * c.gr * f
		}
	}
	for i, v := range out { // master bus
		out[i] = max(-1, min(1, v))
	}
}

// mixSource is the project mix as a Source: it follows the document (a
// goroutine applies updates and swaps in a new Mix) and encodes each
// 20 ms block as it is played, so edits are heard within a frame or two.
type mixSource struct {
	mix    atomic.Pointer[Mix]
	enc    opusEncoder
	pcm    []float32
	next   int // the frame that continues the encoder's audio; any other is a jump
	f      *follower
	cancel context.CancelFunc
	done   chan struct{}
}

// newMixSource starts following projectID. The first state is applied
// before it returns.
func newMixSource(ctx context.Context, s *Server, userID, projectID string) (*mixSource, error) {
	enc, err := newOpusEncoder()
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w, err := s.opts.Docs.Watch(wctx, projectID)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("rtc: watch %s: %w", projectID, err)
	}
	ms := &mixSource{enc: enc, pcm: make([]float32, 2*FrameLen), cancel: cancel, done: make(chan struct{})}
	f := &follower{s: s, userID: userID, projectID: projectID, doc: crdt.NewDoc(nil), pcm: map[string]PCM{}, failed: map[string]failure{}}
	ms.f = f
	// The first update is the full state: apply it before answering.
	select {
	case u, ok := <-w.Updates():
		if !ok {
			w.Close()
			cancel()
			return nil, errors.New("rtc: document watch ended")
		}
		if err := crdt.ApplyUpdate(f.doc, u, "rtc"); err != nil {
			w.Close()
			cancel()
			return nil, fmt.Errorf("rtc: apply state: %w", err)
		}
	case <-ctx.Done():
		w.Close()
		cancel()
		return nil, ctx.Err()
	}
	ms.mix.Store(f.plan(wctx))
	go func() {
		defer close(ms.done)
		defer w.Close()
		retry := time.NewTicker(mixRetry)
		defer retry.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case <-retry.C:
				if len(f.failed) > 0 { // an asset not ready, or no room, before
					ms.mix.Store(f.plan(wctx))
				}
			case u, ok := <-w.Updates():
				if !ok {
					// The hub ended the watch (slow watcher, room closed):
					// the mix keeps its last state.
					s.log.Warn("rtc: document watch ended; the mix stops following edits", "project", projectID)
					return
				}
				if err := crdt.ApplyUpdate(f.doc, u, "rtc"); err != nil {
					s.log.Warn("rtc: apply update", "project", projectID, "err", err)
					continue
				}
				// Coalesce a burst of updates into one re-plan.
			drain:
				for {
					select {
					case u, ok := <-w.Updates():
						if !ok {
							break drain
						}
						_ = crdt.ApplyUpdate(f.doc, u, "rtc")
					default:
						break drain
					}
				}
				ms.mix.Store(f.plan(wctx))
			}
		}
	}()
	return ms, nil
}

// follower holds the document and the decoded assets of one mix.
type follower struct {
	s         *Server
	userID    string // whose access opens the assets
	projectID string
	doc       *crdt.Doc
	pcm       map[string]PCM
	pinned    []string               // assets pinned in the server's cache
	failed    map[string]failure     // assets that could not be decoded (silent), retried
	problem   atomic.Pointer[string] // why some clips are silent, for the state
}

// failure is an asset the mix could not decode.
type failure struct {
	at     time.Time
	budget bool // no room in Limits.MaxMixBytes
}

// mixRetry is how often a mix retries assets it could not decode (one
// still being uploaded, or no room in the budget until another mix ends).
const mixRetry = 2 * time.Second

// plan reads the document and decodes assets it has not decoded yet; one
// that failed is tried again after mixRetry (it stays silent meanwhile).
func (f *follower) plan(ctx context.Context) *Mix {
	d := daw.Read(f.doc)
	now := time.Now()
	used := map[string]bool{}
	for _, t := range d.Tracks {
		for _, c := range t.Clips {
			used[c.AssetID] = true
			if _, ok := f.pcm[c.AssetID]; ok || c.AssetID == "" {
				continue
			}
			if fl, ok := f.failed[c.AssetID]; ok && now.Sub(fl.at) < mixRetry-mixRetry/10 {
				continue
			}
			pcm, err := f.s.decodeAsset(ctx, f.userID, f.projectID, c.AssetID)
			if err != nil {
				if _, again := f.failed[c.AssetID]; !again {
					f.s.log.Warn("rtc: mix asset", "project", f.projectID, "asset", c.AssetID, "err", err)
				}
				f.failed[c.AssetID] = failure{at: now, budget: errors.Is(err, errMixBudget)}
				continue
			}
			delete(f.failed, c.AssetID)
			f.pinned = append(f.pinned, c.AssetID)
			f.pcm[c.AssetID] = pcm
		}
	}
	var problem *string
	for id, fl := range f.failed {
		if !used[id] { // its clips are gone
			delete(f.failed, id)
			continue
		}
		if fl.budget {
			problem = ptr("some clips are silent: the server's memory for mix audio is full")
		}
	}
	f.problem.Store(problem)
	return NewMix(d, f.pcm)
}

// release unpins the follower's assets in the server's cache.
func (f *follower) release() {
	for _, id := range f.pinned {
		f.s.pcm.release(pcmKey(f.projectID, id))
	}
	f.pinned = nil
}

func pcmKey(projectID, assetID string) string { return projectID + "/" + assetID }

// decodeAsset returns an asset as 48 kHz stereo, pinned in the server's
// cache (the caller releases it): decoded once for every mix that plays
// it, within Limits.MaxMixBytes.
func (s *Server) decodeAsset(ctx context.Context, userID, projectID, assetID string) (PCM, error) {
	if s.opts.Assets == nil {
		return nil, errors.New("rtc: no asset store")
	}
	key := pcmKey(projectID, assetID)
	o, err := s.opts.Assets.Audio(ctx, userID, projectID, assetID) // checks userID's access every time
	if err != nil {
		return nil, err
	}
	defer o.Close()
	if pcm, ok := s.pcm.acquire(key); ok {
		return pcm, nil
	}
	r, err := audio.NewReader(o, o.Size())
	if err != nil {
		return nil, err
	}
	defer r.Close()
	// Reserve what the decode will hold: the announced length at 48 kHz
	// (plus the resampler's tail), or the per-asset maximum when unknown.
	maxFrames := s.lim.MaxMixAssetFrames
	if info := r.Info(); info.Frames > 0 && info.SampleRate > 0 {
		maxFrames = min(maxFrames, info.Frames*SampleRate/int64(info.SampleRate)+4096)
	}
	reserved := 8 * (maxFrames + 1)
	if err := s.pcm.reserve(reserved); err != nil {
		return nil, err
	}
	pcm, err := DecodePCM(r, maxFrames)
	if err != nil {
		s.pcm.unreserve(reserved)
		return nil, err
	}
	return s.pcm.put(key, pcm, reserved), nil
}

// DecodePCM reads r whole as 48 kHz stereo (mono is copied to both sides,
// more channels keep the first two), refusing more than maxFrames. It
// decodes in blocks straight into float32, so the peak memory is the
// result (8 bytes per frame: 23 MB per minute).
func DecodePCM(r audio.Reader, maxFrames int64) (PCM, error) {
	info := r.Info()
	ch := info.Channels
	if ch < 1 {
		return nil, fmt.Errorf("rtc: decode: %d channels", ch)
	}
	var rs *dsp.Resampler
	if info.SampleRate != SampleRate {
		var err error
		if rs, err = dsp.NewResampler(ch, info.SampleRate, SampleRate); err != nil {
			return nil, err
		}
	}
	var out PCM
	if info.Frames > 0 && info.Frames <= maxFrames {
		out = make(PCM, 0, 2*(info.Frames*SampleRate/int64(max(info.SampleRate, 1))+1))
	}
	add := func(x []float64) error {
		frames := len(x) / ch
		if int64(len(out)/2+frames) > maxFrames {
			return fmt.Errorf("rtc: decode: %w: longer than %d frames", audio.ErrTooLarge, maxFrames)
		}
		for i := range frames {
			l := x[i*ch]
			rr := l
			if ch > 1 {
				rr = x[i*ch+1]
			}
			out = append(out, float32(l), float32(rr))
		}
		return nil
	}
	buf := make([]float64, 4096*ch)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			x := buf[:n]
			if rs != nil {
				x = rs.Process(x)
			}
			if err := add(x); err != nil {
				return nil, err
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if rs != nil {
		if err := add(rs.Flush()); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Frames implements Source.
func (ms *mixSource) Frames() int { return (ms.mix.Load().Samples() + FrameLen - 1) / FrameLen }

// Packet implements Source: it renders and encodes frame i. A frame that
// does not follow the last one (a seek, a loop's wrap, a replay from the
// start) resets the encoder first, so its lookahead and prediction carry
// nothing of the old position into the new one.
func (ms *mixSource) Packet(i int) ([]byte, error) {
	if i != ms.next {
		if err := ms.enc.reset(); err != nil {
			return nil, err
		}
	}
	ms.next = i + 1
	ms.mix.Load().Render(i*FrameLen, ms.pcm)
	return ms.enc.encode(ms.pcm)
}

// problem says why some clips are silent ("" when none is).
func (ms *mixSource) problem() string {
	if p := ms.f.problem.Load(); p != nil {
		return *p
	}
	return ""
}

// Close implements Source.
func (ms *mixSource) Close() error {
	ms.cancel()
	<-ms.done
	ms.enc.close()
	if ms.f != nil {
		ms.f.release()
	}
	return nil
}
