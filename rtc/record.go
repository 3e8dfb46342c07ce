package rtc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"
)

// recorder writes one participant's packets to an Ogg Opus temp file; on
// stop the file goes into the blob store.
type recorder struct {
	mu    sync.Mutex
	f     *os.File
	w     *oggwriter.OggWriter
	n     countWriter
	limit int64
	full  bool
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

func newRecorder(limit int64) (*recorder, error) {
	f, err := os.CreateTemp("", "mb-rtc-rec-*.opus")
	if err != nil {
		return nil, fmt.Errorf("rtc: recording file: %w", err)
	}
	r := &recorder{f: f, limit: limit}
	r.n.w = f
	w, err := oggwriter.NewWith(&r.n, SampleRate, Channels)
	if err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return nil, fmt.Errorf("rtc: recording: %w", err)
	}
	r.w = w
	return r, nil
}

// write appends one packet; past the size limit packets are dropped.
func (r *recorder) write(pkt *rtp.Packet) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.w == nil || r.full || len(pkt.Payload) == 0 {
		return
	}
	if r.n.n+int64(len(pkt.Payload)) > r.limit {
		r.full = true
		return
	}
	_ = r.w.WriteRTP(pkt) // a bad payload is skipped, the recording goes on
}

// finish stores the recording and removes the temp file.
func (r *recorder) finish(ctx context.Context, store Recordings, userID, projectID, filename string) (Stored, error) {
	r.mu.Lock()
	w := r.w
	r.w = nil
	size := r.n.n
	r.mu.Unlock()
	defer func() { _ = r.f.Close(); _ = os.Remove(r.f.Name()) }() //nolint:gosec // G703: the name comes from os.CreateTemp
	if w == nil {
		return Stored{}, errors.New("rtc: recording already stopped")
	}
	if _, err := r.f.Seek(0, io.SeekStart); err != nil {
		return Stored{}, fmt.Errorf("rtc: recording: %w", err)
	}
	st, err := store.StoreRecording(ctx, userID, projectID, filename, io.LimitReader(r.f, size), size)
	if err != nil {
		return Stored{}, fmt.Errorf("rtc: store recording: %w", err)
	}
	return st, nil
}

// abort drops the recording.
func (r *recorder) abort() {
	r.mu.Lock()
	r.w = nil
	r.mu.Unlock()
	_ = r.f.Close()
	_ = os.Remove(r.f.Name()) //nolint:gosec // G703: the name comes from os.CreateTemp
}

// record starts or stops recording a participant (peerID, or the caller
// when empty). Only owners and editors may record someone else.
func (p *peer) record(ctx context.Context, peerID string, on bool) {
	if p.s.opts.Recordings == nil {
		p.send(Message{Type: MsgError, Code: "unavailable", Message: "recording is not configured"})
		return
	}
	p.mu.Lock()
	rm := p.room
	p.mu.Unlock()
	target := p
	if peerID != "" && peerID != p.id {
		target = nil
		rm.mu.Lock()
		for q := range rm.live {
			if q.id == peerID {
				target = q
			}
		}
		rm.mu.Unlock()
		if target == nil {
			p.send(Message{Type: MsgError, Code: "not_found", Message: "no such participant"})
			return
		}
	}
	if on {
		if target.rec.Load() != nil {
			return // already recording
		}
		rec, err := newRecorder(p.s.lim.MaxRecordBytes)
		if err != nil {
			p.send(Message{Type: MsgError, Code: "internal", Message: "cannot start recording"})
			return
		}
		if !target.rec.CompareAndSwap(nil, rec) {
			rec.abort() // started meanwhile
		}
		return
	}
	cur := target.rec.Swap(nil)
	if cur == nil {
		p.send(Message{Type: MsgError, Code: "bad_message", Message: "not recording"})
		return
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	name := fmt.Sprintf("live-%s-%s.opus", target.grant.UserID, time.Now().UTC().Format("20060102-150405"))
	st, err := cur.finish(sctx, p.s.opts.Recordings, target.grant.UserID, target.grant.ProjectID, name)
	if err != nil {
		p.s.log.Warn("rtc: recording", "peer", target.id, "err", err)
		p.send(Message{Type: MsgError, Code: "internal", Message: "cannot store the recording"})
		return
	}
	p.send(Message{Type: MsgRecorded, PeerID: target.id, UserID: target.grant.UserID, AssetID: st.AssetID, Blob: st.Blob, Bytes: st.Bytes})
}
