package collab

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/maxbooster/maxbooster/crdt/lib0"
)

// MessageType is the outer type of a y-protocols message: the first varUint
// of every y-websocket frame (y-websocket messageSync, messageAwareness,
// messageAuth, messageQueryAwareness).
type MessageType uint64

// Outer message types.
const (
	MessageSync           MessageType = 0
	MessageAwareness      MessageType = 1
	MessageAuth           MessageType = 2
	MessageQueryAwareness MessageType = 3
)

// SyncType is the second varUint of a sync message (y-protocols sync.js).
type SyncType uint64

// Sync message types.
const (
	SyncStep1  SyncType = 0 // payload: a state vector
	SyncStep2  SyncType = 1 // payload: a v1 update (the diff the peer lacks)
	SyncUpdate SyncType = 2 // payload: an incremental v1 update
)

// AuthType is the second varUint of an auth message (y-protocols auth.js).
// y-protocols defines only PermissionDenied.
type AuthType uint64

// AuthPermissionDenied carries a varString reason.
const AuthPermissionDenied AuthType = 0

// Message is one decoded y-websocket frame. Payload aliases the frame.
type Message struct {
	Type MessageType
	// Sync is the sync sub-type when Type is MessageSync.
	Sync SyncType
	// Payload is the state vector (SyncStep1), the v1 update (SyncStep2,
	// SyncUpdate) or the awareness update (MessageAwareness).
	Payload []byte
	// Reason is the permission-denied reason of a MessageAuth.
	Reason string
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformedMessage, fmt.Sprintf(format, args...))
}

// ParseMessage decodes one y-websocket frame. Unknown types, truncated
// frames and trailing bytes are errors wrapping ErrMalformedMessage; the
// payload's own encoding (update, state vector, awareness) is not checked
// here.
func ParseMessage(frame []byte) (Message, error) {
	d := lib0.NewDecoder(frame)
	t, err := d.ReadVarUint()
	if err != nil {
		return Message{}, malformed("message type: %v", err)
	}
	m := Message{Type: MessageType(t)}
	switch m.Type {
	case MessageSync:
		st, err := d.ReadVarUint()
		if err != nil {
			return Message{}, malformed("sync type: %v", err)
		}
		if st > uint64(SyncUpdate) {
			return Message{}, malformed("unknown sync type %d", st)
		}
		m.Sync = SyncType(st)
		if m.Payload, err = d.ReadVarUint8Array(); err != nil {
			return Message{}, malformed("sync payload: %v", err)
		}
	case MessageAwareness:
		if m.Payload, err = d.ReadVarUint8Array(); err != nil {
			return Message{}, malformed("awareness payload: %v", err)
		}
	case MessageAuth:
		at, err := d.ReadVarUint()
		if err != nil {
			return Message{}, malformed("auth type: %v", err)
		}
		if at != uint64(AuthPermissionDenied) {
			return Message{}, malformed("unknown auth type %d", at)
		}
		if m.Reason, err = d.ReadVarString(); err != nil {
			return Message{}, malformed("auth reason: %v", err)
		}
	case MessageQueryAwareness:
	default:
		return Message{}, malformed("unknown message type %d", t)
	}
	if d.HasContent() {
		return Message{}, malformed("%d trailing bytes", d.Len())
	}
	return m, nil
}

// AppendMessage appends the y-websocket encoding of m to dst.
func AppendMessage(dst []byte, m Message) []byte {
	e := lib0.NewEncoder()
	e.WriteBytes(dst)
	e.WriteVarUint(uint64(m.Type))
	switch m.Type {
	case MessageSync:
		e.WriteVarUint(uint64(m.Sync))
		e.WriteVarUint8Array(m.Payload)
	case MessageAwareness:
		e.WriteVarUint8Array(m.Payload)
	case MessageAuth:
		e.WriteVarUint(uint64(AuthPermissionDenied))
		e.WriteVarString(m.Reason)
	case MessageQueryAwareness:
		// No payload.
	}
	return e.Bytes()
}

// EncodeSync returns a sync frame of type st carrying payload.
func EncodeSync(st SyncType, payload []byte) []byte {
	return AppendMessage(make([]byte, 0, len(payload)+12), Message{Type: MessageSync, Sync: st, Payload: payload})
}

// EncodeAwareness returns an awareness frame carrying an encoded awareness
// update.
func EncodeAwareness(update []byte) []byte {
	return AppendMessage(make([]byte, 0, len(update)+6), Message{Type: MessageAwareness, Payload: update})
}

// EncodePermissionDenied returns an auth frame refusing a write.
func EncodePermissionDenied(reason string) []byte {
	return AppendMessage(nil, Message{Type: MessageAuth, Reason: reason})
}

// AwarenessEntry is one client's entry in an awareness update: its clock
// and its state as JSON text. State "null" removes the client.
type AwarenessEntry struct {
	ClientID uint64
	Clock    uint64
	State    json.RawMessage
}

// Removed reports whether the entry removes its client (state null).
func (e AwarenessEntry) Removed() bool { return isJSONNull(e.State) }

func isJSONNull(s []byte) bool { return string(s) == "null" }

// AwarenessLimits bound what DecodeAwarenessUpdate accepts.
type AwarenessLimits struct {
	MaxEntries    int // entries per update
	MaxStateBytes int // JSON text per entry
}

// DecodeAwarenessUpdate decodes a y-protocols awareness update. Every state
// must be valid JSON within the limits; zero limits mean no limit.
func DecodeAwarenessUpdate(update []byte, lim AwarenessLimits) ([]AwarenessEntry, error) {
	d := lib0.NewDecoder(update)
	n, err := d.ReadVarUint()
	if err != nil {
		return nil, malformed("awareness count: %v", err)
	}
	if lim.MaxEntries > 0 && n > uint64(lim.MaxEntries) {
		return nil, fmt.Errorf("%w: %d awareness entries, limit %d", ErrMessageTooLarge, n, lim.MaxEntries)
	}
	// Each entry takes at least 3 bytes: two varUints and an empty string.
	if rest := d.Len(); rest < 0 || n > uint64(rest)/3 { //nolint:gosec // rest is checked non-negative
		return nil, malformed("awareness count %d exceeds input", n)
	}
	out := make([]AwarenessEntry, 0, n)
	for i := uint64(0); i < n; i++ {
		var e AwarenessEntry
		if e.ClientID, err = d.ReadVarUint(); err != nil {
			return nil, malformed("awareness client: %v", err)
		}
		if e.Clock, err = d.ReadVarUint(); err != nil {
			return nil, malformed("awareness clock: %v", err)
		}
		s, err := d.ReadVarUint8Array()
		if err != nil {
			return nil, malformed("awareness state: %v", err)
		}
		if lim.MaxStateBytes > 0 && len(s) > lim.MaxStateBytes {
			return nil, fmt.Errorf("%w: awareness state of %d bytes, limit %d", ErrMessageTooLarge, len(s), lim.MaxStateBytes)
		}
		if !utf8.Valid(s) || !json.Valid(s) {
			return nil, malformed("awareness state of client %d is not JSON", e.ClientID)
		}
		e.State = json.RawMessage(s)
		out = append(out, e)
	}
	if d.HasContent() {
		return nil, malformed("%d trailing bytes after awareness update", d.Len())
	}
	return out, nil
}

// EncodeAwarenessUpdate encodes entries as a y-protocols awareness update.
// A nil State is written as null.
func EncodeAwarenessUpdate(entries []AwarenessEntry) []byte {
	e := lib0.NewEncoder()
	e.WriteVarUint(uint64(len(entries)))
	for _, a := range entries {
		e.WriteVarUint(a.ClientID)
		e.WriteVarUint(a.Clock)
		if a.State == nil {
			e.WriteVarUint8Array([]byte("null"))
		} else {
			e.WriteVarUint8Array(a.State)
		}
	}
	return e.Bytes()
}

// keepAliveFrame is an awareness update with no entries: y-protocols
// applies it as a no-op, but it counts as traffic for the y-websocket
// client's 30 s liveness check, so an otherwise silent room stays open.
var keepAliveFrame = EncodeAwareness([]byte{0})
