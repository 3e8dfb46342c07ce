// Package collab is Max Booster's real-time collaboration hub: one room per
// project, each holding a crdt.Doc, spoken to by browsers running yjs with
// the y-websocket provider.
//
// The pieces:
//
//   - protocol.go: the y-protocols messages (sync step 1/2, update,
//     awareness, auth, query awareness) as y-websocket frames them.
//   - awareness.go: the awareness states of a room, with the y-protocols
//     clock rules, and which connection introduced which client id.
//   - room.go: one goroutine per loaded room owns its Doc and awareness and
//     serializes every change; accepted updates are appended to the DocStore
//     (group commit) before any other connection sees them.
//   - hub.go: the room registry; loads a room on first join, unloads it when
//     idle, and serves GET /collab/{projectId}.
//   - conn.go: the WebSocket read and write pumps (coder/websocket), bounded
//     send queues, rate limits and keep-alives.
//   - persist.go: the DocStore interface (an update log plus a compacted
//     snapshot) and MemStore; store.DocStore implements it on SQL.
//   - fanout.go: the Bus interface that carries updates and awareness
//     between nodes, and LocalBus for one process; redisbus implements it
//     on Redis Streams.
//
// collabtest holds the conformance suites every DocStore and Bus
// implementation runs.
package collab

import "errors"

// Errors reported by the hub. Connection-level problems are sent to the
// client as a WebSocket close reason; these sentinels let callers and
// tests tell them apart.
var (
	// ErrMalformedMessage wraps every decoding failure of a client frame.
	ErrMalformedMessage = errors.New("collab: malformed message")
	// ErrMessageTooLarge is returned when a frame or a part of it exceeds
	// a configured limit.
	ErrMessageTooLarge = errors.New("collab: message too large")
	// ErrRoomUnavailable is returned when a room's document cannot be
	// loaded from the DocStore. The room is not replaced by an empty one.
	ErrRoomUnavailable = errors.New("collab: document unavailable")
	// ErrRoomFull is returned when a room has reached its connection limit.
	ErrRoomFull = errors.New("collab: room is full")
	// ErrHubClosed is returned by operations on a closed hub.
	ErrHubClosed = errors.New("collab: hub closed")
	// ErrCompactConflict is returned by DocStore.Compact when another
	// writer compacted the same room since the caller loaded it.
	ErrCompactConflict = errors.New("collab: concurrent compaction")
)
