package rtc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/maxbooster/maxbooster/audio/blob"
)

// Grant is what an authenticated signalling request may do.
type Grant struct {
	UserID    string
	ProjectID string
	Role      string // "viewer", "editor" or "owner"
}

// Assets opens a project's assets. The assets module supplies it.
type Assets interface {
	// Preview opens the Ogg Opus preview made at upload (48 kHz stereo,
	// 20 ms packets) of an asset userID may read. It returns an error
	// wrapping blob.ErrNotFound when there is no such asset for userID in
	// projectID, or it has no preview yet.
	Preview(ctx context.Context, userID, projectID, assetID string) (io.ReadCloser, error)
	// Audio opens the asset's original audio (any format audio.NewReader
	// decodes), for the project mix.
	Audio(ctx context.Context, userID, projectID, assetID string) (blob.Object, error)
}

// Recordings keeps finished live recordings. The api wiring makes each
// one an asset of the project (so it can be dropped in as a clip), or a
// plain blob when assets are not mounted.
type Recordings interface {
	// StoreRecording saves an Ogg Opus recording of userID made in
	// projectID, size bytes read from r.
	StoreRecording(ctx context.Context, userID, projectID, filename string, r io.Reader, size int64) (Stored, error)
}

// Stored names a saved recording.
type Stored struct {
	AssetID string // the asset made of it, if any
	Blob    string // its blob key (SHA-256)
	Bytes   int64
}

// Limits bound what a client controls. Zero fields take the defaults
// named in their comments.
type Limits struct {
	MaxMessageBytes   int64         // one signalling message; default 64 KiB
	MaxPeersPerRoom   int           // peers of one project, both modes; default 32
	JoinTimeout       time.Duration // from upgrade to the join message; default 10 s
	AnswerTimeout     time.Duration // from an offer to its answer; default 10 s
	MaxPendingICE     int           // remote candidates held before the answer; default 64
	MaxPreviewBytes   int64         // an asset preview read into memory; default 64 MiB
	MaxRecordBytes    int64         // one recording; default 64 MiB (about an hour)
	MaxMixAssetFrames int64         // decoded frames of one asset in the mix; default 20 min at 48 kHz
	// MaxMixBytes bounds the decoded audio of every mix together (8 bytes
	// per frame: 23 MB per stereo minute); default 1 GiB. Assets are
	// shared between mixes and kept, least recently used first, while
	// room remains; a clip that does not fit is silent.
	MaxMixBytes int64
}

func (l *Limits) defaults() {
	if l.MaxMessageBytes <= 0 {
		l.MaxMessageBytes = 64 << 10
	}
	if l.MaxPeersPerRoom <= 0 {
		l.MaxPeersPerRoom = 32
	}
	if l.JoinTimeout <= 0 {
		l.JoinTimeout = 10 * time.Second
	}
	if l.AnswerTimeout <= 0 {
		l.AnswerTimeout = 10 * time.Second
	}
	if l.MaxPendingICE <= 0 {
		l.MaxPendingICE = 64
	}
	if l.MaxPreviewBytes <= 0 {
		l.MaxPreviewBytes = 64 << 20
	}
	if l.MaxRecordBytes <= 0 {
		l.MaxRecordBytes = 64 << 20
	}
	if l.MaxMixAssetFrames <= 0 {
		l.MaxMixAssetFrames = 20 * 60 * SampleRate
	}
	if l.MaxMixBytes <= 0 {
		l.MaxMixBytes = 1 << 30
	}
}

// Options configure a Server.
type Options struct {
	// Engine is required.
	Engine *Engine
	// Verify checks a room token (the "token" query parameter or an
	// Authorization: Bearer header); wire it to session.RoomTokens.Verify.
	Verify func(ctx context.Context, token string) (Grant, error)
	// Access, if set, admits a request without a token (a browser with a
	// session cookie) by deciding the caller's grant for projectID. It
	// returns an error when the caller is not signed in, or one wrapping
	// ErrNoAccess when the caller has no access to the project.
	Access func(r *http.Request, projectID string) (Grant, error)
	// Assets serves asset previews and the mix's audio. Nil answers
	// "unavailable" to asset previews and renders clips as silence.
	Assets Assets
	// Docs follows project documents for the mix preview. Nil answers
	// "unavailable" to mix previews.
	Docs DocSource
	// Recordings stores recordings. Nil refuses recording.
	Recordings Recordings
	// OriginPatterns are extra origins allowed to open the WebSocket
	// (coder/websocket AcceptOptions); the request's own host always is.
	OriginPatterns []string
	// Leases, if set, elects one node per project's room among the nodes
	// sharing it (rtc/redislease on Redis): a connection that arrives at
	// another node is relayed there, message by message. Nil keeps every
	// room on the node its connections arrive at (a single node).
	Leases Leases
	Logger *slog.Logger
	Limits Limits
}

// Server is the signalling endpoint (an http.Handler for
// GET /rtc/{projectId}) and the rooms behind it.
type Server struct {
	opts Options
	log  *slog.Logger
	lim  Limits

	mu     sync.Mutex
	closed bool
	rooms  map[string]*room
	peers  map[*peer]struct{}
	leases map[string]*lease   // by project, with Options.Leases
	relays map[*relay]struct{} // connections relayed to another node
	stop   chan struct{}       // closed by Close
	renewd chan struct{}       // closed when renewLoop returns
	wg     sync.WaitGroup
	nextID atomic.Uint64
	pcm    *pcmCache // decoded mix assets, shared by every mix
	stats  struct {
		received, forwarded atomic.Uint64
		tracks              atomic.Int64
	}
}

// Stats are counters since the server started.
type Stats struct {
	Peers            int    // signalling connections served here
	Relayed          int    // signalling connections relayed to the node holding their room
	Rooms            int    // projects with peers
	Tracks           int    // live tracks being forwarded
	ReceivedPackets  uint64 // live RTP packets received from publishers
	ForwardedPackets uint64 // live RTP packets sent on (one per subscriber)
	MixBytes         int64  // decoded mix audio held (at most Limits.MaxMixBytes)
	MixAssets        int    // decoded mix assets held
	MixDecodes       int64  // mix assets decoded (cache misses) since the start
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	rooms, peers := s.Rooms()
	s.mu.Lock()
	relayed := len(s.relays)
	s.mu.Unlock()
	mixBytes, mixAssets, mixDecodes := s.pcm.usage()
	return Stats{Peers: peers, Relayed: relayed, Rooms: rooms, Tracks: int(s.stats.tracks.Load()),
		ReceivedPackets: s.stats.received.Load(), ForwardedPackets: s.stats.forwarded.Load(),
		MixBytes: mixBytes, MixAssets: mixAssets, MixDecodes: mixDecodes}
}

// NewServer returns a Server on opts.Engine.
func NewServer(opts Options) (*Server, error) {
	if opts.Engine == nil {
		return nil, errors.New("rtc: NewServer without an Engine")
	}
	if opts.Verify == nil && opts.Access == nil {
		return nil, errors.New("rtc: NewServer without Verify or Access")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.Limits.defaults()
	s := &Server{opts: opts, log: opts.Logger, lim: opts.Limits, rooms: map[string]*room{}, peers: map[*peer]struct{}{},
		leases: map[string]*lease{}, relays: map[*relay]struct{}{}, stop: make(chan struct{}), renewd: make(chan struct{}),
		pcm: newPCMCache(opts.Limits.MaxMixBytes)}
	if opts.Leases != nil {
		go s.renewLoop(s.stop, s.renewd) // ends with Close
	} else {
		close(s.renewd)
	}
	return s, nil
}

var projectIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)

// authorize finds the grant of r for projectID, or a close code and reason.
func (s *Server) authorize(r *http.Request, projectID string) (Grant, websocket.StatusCode, string) {
	tok := r.URL.Query().Get("token")
	if tok == "" {
		if h := r.Header.Get("Authorization"); len(h) > 7 && (h[:7] == "Bearer " || h[:7] == "bearer ") {
			tok = h[7:]
		}
	}
	var g Grant
	switch {
	case tok != "" && s.opts.Verify != nil:
		var err error
		if g, err = s.opts.Verify(r.Context(), tok); err != nil {
			return Grant{}, CloseUnauthorized, "invalid room token"
		}
	case tok == "" && s.opts.Access != nil:
		var err error
		if g, err = s.opts.Access(r, projectID); err != nil {
			if errors.Is(err, ErrNoAccess) {
				return Grant{}, CloseForbidden, "no access to this project"
			}
			return Grant{}, CloseUnauthorized, "not signed in"
		}
	default:
		return Grant{}, CloseUnauthorized, "no room token"
	}
	if g.UserID == "" {
		return Grant{}, CloseUnauthorized, "token names no user"
	}
	if g.ProjectID != projectID {
		return Grant{}, CloseForbidden, "token is for another project"
	}
	switch g.Role {
	case "viewer", "editor", "owner":
	default:
		return Grant{}, CloseForbidden, "unknown role"
	}
	return g, 0, ""
}

// ServeHTTP upgrades GET /rtc/{projectId} to the signalling WebSocket.
// Authentication failures are reported after the upgrade as close codes
// (4401, 4403), since browsers cannot read an HTTP error of a WebSocket.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	projectID := r.PathValue("projectId")
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: s.opts.OriginPatterns})
	if err != nil {
		return // Accept wrote the HTTP error
	}
	if !projectIDPattern.MatchString(projectID) {
		_ = ws.Close(CloseNotFound, "no such project")
		return
	}
	g, code, reason := s.authorize(r, projectID)
	if code != 0 {
		_ = ws.Close(code, reason)
		return
	}
	release := func() {}
	if s.opts.Leases != nil {
		var here bool
		if release, here = s.route(r, ws, projectID); !here {
			return // relayed to the room's node, or refused
		}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		release()
		_ = ws.Close(CloseUnavailable, "server shutting down")
		return
	}
	s.wg.Add(1)
	p := newPeer(s, ws, g, "p"+strconv.FormatUint(s.nextID.Add(1), 36))
	s.peers[p] = struct{}{}
	s.mu.Unlock()
	defer s.wg.Done()
	p.run(r.Context())
	s.mu.Lock()
	delete(s.peers, p)
	s.mu.Unlock()
	release()
}

// Close ends every connection (close code 4503), relayed ones too, and
// waits for them, until ctx ends. The room leases held here are released
// as their last peers go.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	if !s.closed {
		close(s.stop)
	}
	s.closed = true
	peers := make([]*peer, 0, len(s.peers))
	for p := range s.peers {
		peers = append(peers, p)
	}
	s.mu.Unlock()
	for _, p := range peers {
		p.fail(CloseUnavailable, "shutting_down", "server shutting down")
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); <-s.renewd; close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("rtc: close: %w", ctx.Err())
	}
}

// Rooms reports how many projects have peers and how many peers there are.
func (s *Server) Rooms() (rooms, peers int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.rooms), len(s.peers)
}

// joinRoom adds p to its project's room, or reports why not.
func (s *Server) joinRoom(p *peer) (*room, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errClosing
	}
	rm := s.rooms[p.grant.ProjectID]
	if rm == nil {
		rm = newRoom(s, p.grant.ProjectID)
		s.rooms[p.grant.ProjectID] = rm
	}
	if !rm.add(p, s.lim.MaxPeersPerRoom) {
		return nil, errRoomFull
	}
	return rm, nil
}

// leaveRoom removes p; the room goes when its last peer does.
func (s *Server) leaveRoom(rm *room, p *peer) {
	s.mu.Lock()
	empty := rm.remove(p)
	if empty && s.rooms[rm.id] == rm {
		delete(s.rooms, rm.id)
	}
	s.mu.Unlock()
}

var (
	errClosing  = errors.New("rtc: server shutting down")
	errRoomFull = errors.New("rtc: room full")
)

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own message types are marshalled
	}
	return b
}
