package rtc

import (
	"github.com/pion/webrtc/v4"
)

// Modes a peer joins in.
const (
	ModePreview = "preview" // listen to an asset's preview or the project mix
	ModeLive    = "live"    // live session: publish and hear everyone else
)

// Message types (field "type"); docs/rtc-protocol.md describes each one.
const (
	// client → server
	MsgJoin      = "join"
	MsgAnswer    = "answer"
	MsgCandidate = "candidate" // both ways
	MsgMute      = "mute"
	MsgRecord    = "record"
	MsgLeave     = "leave"
	// server → client
	MsgWelcome  = "welcome"
	MsgOffer    = "offer"
	MsgJoined   = "joined"
	MsgLeft     = "left"
	MsgMuted    = "muted"
	MsgSpeaking = "speaking"
	MsgRecorded = "recorded"
	MsgError    = "error"
)

// Message is one signalling frame (a JSON text message on the WebSocket).
// Only the fields its type uses are set.
type Message struct {
	Type string `json:"type"`
	// join
	Mode string `json:"mode,omitempty"`
	// join: the asset a preview plays (empty: the project mix);
	// recorded: the asset made of the recording
	AssetID string `json:"assetId,omitempty"`
	// offer, answer
	SDP string `json:"sdp,omitempty"`
	// candidate; a null candidate is never sent (end of candidates is implicit)
	Candidate *webrtc.ICECandidateInit `json:"candidate,omitempty"`
	// welcome, joined, left, muted, speaking, recorded
	PeerID string     `json:"peerId,omitempty"`
	UserID string     `json:"userId,omitempty"`
	Peers  []PeerInfo `json:"peers,omitempty"`
	// welcome: the role the peer joined with ("viewer": listens only,
	// preview controls are refused)
	Role string `json:"role,omitempty"`
	// mute, muted
	Muted *bool `json:"muted,omitempty"`
	// speaking
	Speaking *bool `json:"speaking,omitempty"`
	Level    *int  `json:"level,omitempty"` // dBov, -127..0
	// record: On starts or stops recording PeerID (empty: yourself)
	On *bool `json:"on,omitempty"`
	// recorded
	Blob  string `json:"blob,omitempty"`
	Bytes int64  `json:"bytes,omitempty"`
	// error
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// PeerInfo describes a live participant in welcome.
type PeerInfo struct {
	PeerID string `json:"peerId"`
	UserID string `json:"userId"`
	Muted  bool   `json:"muted"`
}

// Control is a message on a preview's "control" data channel, both ways.
// Client → server: op "play", "pause", "seek" (ms), "loop" (loopStartMs,
// loopEndMs; both 0 clears the loop), owners and editors only. Server →
// client: op "state", sent on every change and every 100 ms while playing;
// op "error" (code "forbidden") answers a viewer's op, which is ignored.
type Control struct {
	Op          string `json:"op"`
	Ms          *int64 `json:"ms,omitempty"`
	LoopStartMs *int64 `json:"loopStartMs,omitempty"`
	LoopEndMs   *int64 `json:"loopEndMs,omitempty"`
	// state
	Playing    bool  `json:"playing"`
	PositionMs int64 `json:"positionMs"`
	DurationMs int64 `json:"durationMs"`
	Listeners  int   `json:"listeners,omitempty"`
	Ended      bool  `json:"ended,omitempty"`
	// state: why playback stopped; error: why an op was refused
	Error string `json:"error,omitempty"`
	// error: "forbidden" when a viewer sends an op
	Code string `json:"code,omitempty"`
}

// Close codes the server ends a socket with (4000 + the HTTP status they
// resemble).
const (
	CloseBadMessage   = 4400 // malformed JSON, unknown type, bad SDP
	CloseUnauthorized = 4401 // no or bad room token
	CloseForbidden    = 4403 // token for another project, or a viewer joining live
	CloseNotFound     = 4404 // asset not found
	CloseTimeout      = 4408 // no join or no answer in time
	CloseRoomFull     = 4429 // peer limit reached
	CloseUnavailable  = 4503 // server shutting down or feature not configured
)
