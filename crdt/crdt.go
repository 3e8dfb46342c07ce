// Package crdt is a Y.js-compatible CRDT: documents, shared types and the
// update encodings (v1 and v2), byte-identical with yjs 13.6.33.
//
// The package does no I/O, no logging and no networking; callers move the
// encoded updates around.
package crdt

// ID names one struct (or one unit inside a struct) of a document: the
// client that made it and that client's logical clock at the time.
// Clients are 53-bit numbers, as in yjs; clocks count UTF-16 code units for
// strings and one unit per element otherwise.
type ID struct {
	Client uint64
	Clock  uint64
}
