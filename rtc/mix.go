package rtc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
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

// Mix is a DAW document planned for rendering at 48 kHz stereo, the way
// the web studio plays it: every track's clips at their positions with
// offset, length, gain (dB) and linear fades, through the track's insert
// chain (audio/dsp: eq, compressor, saturator, limiter, gain; bypassed and
// unknown inserts are skipped), then the track's volume (dB) and pan, each
// following its automation lane when the lane has points (linear between
// points in gain and in pan, held before the first and after the last, as
// the studio's Web Audio ramps), panned with the Web Audio StereoPanner
// law; mute and solo (any solo silences every track not soloed); a master
// bus that sums the tracks and clips at ±1. Every track kind sounds, as in
// the studio. The length is the end of the last clip, muted or not.
// Assets holds each clip's decoded audio by asset id; a clip whose asset
// is missing is silent.
//
// A Mix is immutable; a Mixer renders it and keeps the inserts' state
// from one block to the next.
type Mix struct {
	tracks []mixTrack
	frames int // end of the last clip, in samples per channel
}

type mixTrack struct {
	id       string
	clips    []mixClip
	vol, pan lane
	fx       []fxSpec
	fxKey    string // the chain's identity: a Mixer rebuilds the chain when it changes
}

type mixClip struct {
	pcm          PCM
	start, end   int // project samples [start, end)
	offset       int // source sample at start
	gain         float64
	fadeIn, fout int // fade lengths in samples
}

// lane is a parameter over time: constant v when pts is empty, else
// linear between the points (sample, value) and held outside them.
type lane struct {
	v   float64
	pts []lanePoint
}

type lanePoint struct {
	at int
	v  float64
}

// fill writes the lane's value at samples [at, at+len(dst)).
func (l *lane) fill(at int, dst []float64) {
	if len(l.pts) == 0 {
		for i := range dst {
			dst[i] = l.v
		}
		return
	}
	pts := l.pts
	k := sort.Search(len(pts), func(i int) bool { return pts[i].at > at }) // first point after at
	for i := range dst {
		s := at + i
		for k < len(pts) && pts[k].at <= s {
			k++
		}
		switch {
		case k == 0:
			dst[i] = pts[0].v
		case k == len(pts):
			dst[i] = pts[k-1].v
		default:
			a, b := pts[k-1], pts[k]
			dst[i] = a.v + (b.v-a.v)*float64(s-a.at)/float64(b.at-a.at)
		}
	}
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

// dbToGain is the studio's: 0 at -120 dB and below or when not finite;
// at most +24 dB.
func dbToGain(db float64) float64 {
	if math.IsNaN(db) || math.IsInf(db, 0) || db <= -120 {
		return 0
	}
	return math.Pow(10, math.Min(db, 24)/20)
}

func clampPan(p float64) float64 {
	if math.IsNaN(p) {
		return 0
	}
	return max(-1, min(1, p))
}

// automation reads the lanes of param (several lanes of one parameter read
// as one, points merged in time order, as the studio does) with value
// mapping each point; ok is false when there are no points.
func automation(lanes []daw.Lane, param string, value func(float64) float64) (lane, bool) {
	var pts []lanePoint
	for _, l := range lanes {
		if l.Param != param {
			continue
		}
		for _, p := range l.Points {
			if math.IsNaN(p.Time) || math.IsInf(p.Time, 0) || math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
				continue
			}
			pts = append(pts, lanePoint{at: secToSamples(p.Time), v: value(p.Value)})
		}
	}
	slices.SortStableFunc(pts, func(a, b lanePoint) int { return a.at - b.at })
	return lane{pts: pts}, len(pts) > 0
}

// NewMix plans the render of doc with the decoded assets.
func NewMix(doc daw.Document, assets map[string]PCM) *Mix {
	m := &Mix{}
	solo := false
	for _, t := range doc.Tracks {
		solo = solo || t.Solo
	}
	for _, t := range doc.Tracks {
		silent := t.Mute || (solo && !t.Solo)
		mt := mixTrack{id: t.ID, vol: lane{v: dbToGain(t.Volume)}, pan: lane{v: clampPan(t.Pan)}}
		if l, ok := automation(t.Automation, "volume", dbToGain); ok {
			mt.vol = l
		}
		if l, ok := automation(t.Automation, "pan", clampPan); ok {
			mt.pan = l
		}
		mt.fx, mt.fxKey = planInserts(t.Effects)
		for _, c := range t.Clips {
			pcm := assets[c.AssetID]
			length := secToSamples(c.Length)
			if pcm == nil || length == 0 {
				continue
			}
			mc := mixClip{pcm: pcm, start: secToSamples(c.Position), offset: secToSamples(c.Offset),
				gain: dbToGain(c.Gain), fadeIn: secToSamples(c.FadeIn), fout: secToSamples(c.FadeOut)}
			mc.end = mc.start + length
			if avail := len(pcm)/2 - mc.offset; avail < length {
				mc.end = mc.start + max(avail, 0)
			}
			if mc.end <= mc.start {
				continue
			}
			m.frames = max(m.frames, mc.end) // muted clips count: muting must not end playback
			if !silent {
				mt.clips = append(mt.clips, mc)
			}
		}
		if !silent && len(mt.clips) > 0 {
			m.tracks = append(m.tracks, mt)
		}
	}
	return m
}

// Samples is the mix length in samples per channel.
func (m *Mix) Samples() int { return m.frames }

// Render writes the interleaved stereo samples starting at project sample
// at into out (len(out)/2 samples per channel), with the inserts starting
// from rest at that point. To play a mix, render it block after block with
// one Mixer instead.
func (m *Mix) Render(at int, out []float32) {
	NewMixer().Render(m, at, out)
}

// renderInput sums the track's clips (with their gain and fades) at
// samples [at, at+len(dst)/2) into dst.
func (t *mixTrack) renderInput(at int, dst []float64) {
	clear(dst)
	n := len(dst) / 2
	for i := range t.clips {
		c := &t.clips[i]
		lo, hi := max(at, c.start), min(at+n, c.end)
		for s := lo; s < hi; s++ {
			rel := s - c.start
			f := 1.0
			if c.fadeIn > 0 && rel < c.fadeIn {
				f = float64(rel) / float64(c.fadeIn)
			}
			if left := c.end - s; c.fout > 0 && left < c.fout {
				f = min(f, float64(left)/float64(c.fout))
			}
			g := c.gain * f
			src := 2 * (c.offset + rel)
			o := 2 * (s - at)
			dst[o] += float64(c.pcm[src]) * g
			dst[o+1] += float64(c.pcm[src+1]) * g
		}
	}
}

// Mixer renders Mixes block by block, keeping each track's insert chain
// (its filters' and compressors' state, a limiter's lookahead) from one
// block to the next. A block that does not follow the last one (a seek)
// starts every chain from rest; a track whose inserts changed gets a new
// chain. Inserts with latency (limiter, saturator) are compensated: the
// chain reads ahead, so every track stays aligned with the timeline.
type Mixer struct {
	next   int // the sample that continues the last block
	tracks map[string]*trackChain
	gen    uint64
	in     []float64
	vol    []float64
	pan    []float64
}

// readAhead is the least a chain reads at a time, more than any insert's
// latency (the limiter's is 5 ms plus its interpolator's few samples).
const readAhead = 1024

// trackChain is one track's insert chain as it plays.
type trackChain struct {
	key   string
	chain dsp.Chain
	in    int       // the next input sample the chain reads
	out   int       // the timeline sample of ready[0]
	ready []float64 // processed samples not played yet (interleaved)
	gen   uint64
}

// NewMixer returns a Mixer at rest.
func NewMixer() *Mixer { return &Mixer{next: -1, tracks: map[string]*trackChain{}} }

// Render writes the samples of m starting at project sample at into out
// (interleaved stereo, len(out)/2 samples per channel).
func (mx *Mixer) Render(m *Mix, at int, out []float32) {
	clear(out)
	n := len(out) / 2
	if at != mx.next {
		clear(mx.tracks)
	}
	mx.next = at + n
	mx.gen++
	if cap(mx.vol) < n {
		mx.vol, mx.pan = make([]float64, n), make([]float64, n)
	}
	vol, pan := mx.vol[:n], mx.pan[:n]
	for i := range m.tracks {
		t := &m.tracks[i]
		key := t.id
		if tc := mx.tracks[key]; tc != nil && tc.gen == mx.gen { // two tracks with one id
			key = fmt.Sprintf("%s\x00%d", t.id, i)
		}
		y := mx.process(t, key, at, n)
		if len(t.vol.pts) == 0 && len(t.pan.pts) == 0 {
			panConst(y, out, t.vol.v, t.pan.v)
			continue
		}
		t.vol.fill(at, vol)
		t.pan.fill(at, pan)
		law := panLaw{p: math.NaN()}
		for k := range n {
			if p := pan[k]; p != law.p {
				law = newPanLaw(p)
			}
			l, r := law.apply(y[2*k]*vol[k], y[2*k+1]*vol[k])
			out[2*k] += float32(l)
			out[2*k+1] += float32(r)
		}
	}
	for id, tc := range mx.tracks { // tracks gone or silent start from rest
		if tc.gen != mx.gen {
			delete(mx.tracks, id)
		}
	}
	for i, v := range out { // master bus
		out[i] = max(-1, min(1, v))
	}
}

// panConst adds y at volume g and pan p (constants) to out, as Render's
// loop does sample by sample.
func panConst(y []float64, out []float32, g, p float64) {
	law := newPanLaw(p)
	for k := range len(out) / 2 {
		l, r := law.apply(y[2*k]*g, y[2*k+1]*g)
		out[2*k] += float32(l)
		out[2*k+1] += float32(r)
	}
}

// panLaw is Web Audio's StereoPannerNode on a stereo input at pan p: for
// p ≤ 0 the right side folds into the left with cos((p+1)·π/2) and keeps
// sin((p+1)·π/2); for p > 0 the mirror image.
type panLaw struct{ p, sn, c float64 }

func newPanLaw(p float64) panLaw {
	x := p
	if p <= 0 {
		x = p + 1
	}
	sn, c := math.Sincos(x * math.Pi / 2)
	return panLaw{p: p, sn: sn, c: c}
}

// apply pans the stereo sample l, r.
func (pl panLaw) apply(l, r float64) (float64, float64) {
	if pl.p <= 0 {
		return l + r*pl.c, r * pl.sn
	}
	return l * pl.c, r + l*pl.sn
}

// process returns the track's samples [at, at+n) after its inserts.
func (mx *Mixer) process(t *mixTrack, key string, at, n int) []float64 {
	blk := max(n, readAhead) // how much the chain reads at a time
	if cap(mx.in) < 2*blk {
		mx.in = make([]float64, 2*blk)
	}
	in := mx.in[:2*n]
	if len(t.fx) == 0 {
		t.renderInput(at, in)
		return in
	}
	tc := mx.tracks[key]
	if tc == nil || tc.key != t.fxKey || tc.out != at {
		tc = &trackChain{key: t.fxKey, chain: buildInserts(t.fx), in: at, out: at}
		mx.tracks[key] = tc
	}
	tc.gen = mx.gen
	// Read ahead until n samples are out: a chain with latency holds
	// back its first samples, which are then the timeline's at.
	for tries := 0; len(tc.ready) < 2*n && tries < 8; tries++ {
		x := mx.in[:2*blk]
		t.renderInput(tc.in, x)
		tc.in += blk
		tc.ready = append(tc.ready, tc.chain.Process(x)...)
	}
	if len(tc.ready) < 2*n { // a chain that holds everything back: silence
		tc.ready = append(tc.ready, make([]float64, 2*n-len(tc.ready))...)
	}
	copy(in, tc.ready[:2*n])
	tc.ready = tc.ready[:copy(tc.ready, tc.ready[2*n:])]
	tc.out = at + n
	return in
}

// mixSource is the project mix as a Source: it follows the document (a
// goroutine applies updates and swaps in a new Mix) and encodes each
// 20 ms block as it is played, so edits are heard within a frame or two.
type mixSource struct {
	mix    atomic.Pointer[Mix]
	mixer  *Mixer // the inserts' state between frames (Packet's caller only)
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
	ms := &mixSource{enc: enc, mixer: NewMixer(), pcm: make([]float32, 2*FrameLen), cancel: cancel, done: make(chan struct{})}
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
	ms.mixer.Render(ms.mix.Load(), i*FrameLen, ms.pcm)
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
