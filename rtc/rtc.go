// Package rtc streams audio over WebRTC (Pion v4): previews of an asset or
// of the project's own mix, rendered by the server from the DAW document,
// and live sessions where every participant's audio is forwarded to every
// other participant (an SFU, no mixing).
//
// One Engine per process holds the webrtc.API (Opus with stereo=1 and the
// RFC 6464 audio-level extension, NACK interceptors) and the single UDP port
// every peer connection shares (ICE UDP mux). Server is the signalling
// endpoint, a WebSocket speaking the JSON protocol of docs/rtc-protocol.md:
// the server always makes the offers, and each peer has its own
// renegotiation queue.
//
// The libopus-dependent parts (mix encoding, recording helpers used by
// tests) follow the audio package's build constraint: without cgo the
// package builds, asset previews and live sessions work, and a mix preview
// answers ErrNoOpus.
package rtc

import "errors"

// Errors.
var (
	// ErrNoOpus is returned where Opus encoding is needed in a build
	// without cgo and libopus.
	ErrNoOpus = errors.New("rtc: opus encoding needs a cgo build with libopus")
	// ErrClosed is returned by a closed Engine or Server.
	ErrClosed = errors.New("rtc: closed")
	// ErrBadPreview is returned for a preview that is not 20 ms Ogg Opus.
	ErrBadPreview = errors.New("rtc: malformed preview")
	// ErrNoAccess is what Options.Access wraps for a signed-in caller
	// without access to the project (close 4403 rather than 4401).
	ErrNoAccess = errors.New("rtc: no access to this project")
)
