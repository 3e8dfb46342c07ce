// Package crdt is a Y.js-compatible CRDT: documents, shared types and the
// update encodings (v1 and v2), byte-identical with yjs 13.6.33.
//
// The package does no I/O, no logging and no networking; callers move the
// encoded updates around.
//
// # Documents and types
//
// A Doc holds named root types (GetText, GetArray, GetMap,
// GetXmlFragment). Nested types are made prelim (NewText, NewArray,
// NewMap, ...) and inserted into a parent. Edits run in transactions
// (Doc.Transact; a single edit makes its own); at the end of each one the
// document merges structs, collects garbage (unless DocOptions.DisableGC),
// calls observers (Observe, ObserveDeep, with yjs-shaped deltas and key
// changes) and emits one update (OnUpdate for v1, OnUpdateV2).
// DocOptions.GCFilter keeps chosen deleted items from garbage collection
// (yjs gcFilter). Every type has Clone, a prelim copy (nested types
// included) to insert elsewhere, as yjs's clone(). Providers report
// loading and syncing with EmitLoad and EmitSync; applications wait with
// WhenLoaded and WhenSynced or OnLoad and OnSync (yjs load and sync
// events, whenLoaded, whenSynced).
//
// Concurrent inserts at one position and concurrent writes of a map key
// resolve exactly as in yjs (YATA with yjs's tie-breaks), so a Go peer and
// JavaScript peers converge to the same state and the same bytes.
//
// # Updates
//
// ApplyUpdate integrates an update from any peer. Structs whose causal
// dependencies are missing wait (with deletions of unknown structs) until
// the updates they need arrive; they are never dropped, and
// EncodeStateAsUpdate includes them, as yjs does. Malformed input returns
// an error wrapping ErrMalformedUpdate and leaves the document unchanged;
// sizes claimed by an update are bounded by its length. MergeUpdates,
// DiffUpdate, EncodeStateVectorFromUpdate and ConvertUpdateFormat* work on
// encoded updates without a Doc.
//
// # Units and values
//
// Text indexes, lengths and clocks count UTF-16 code units, as JavaScript
// strings do; a surrogate pair split by concurrent edits becomes two
// U+FFFD, as in yjs. Values in arrays and maps follow the lib0 "any" model
// (see package lib0): nil, lib0.Undefined, bool, float64 (ints accepted),
// string, []byte, []any, lib0.Object (map[string]any accepted), lib0.BigInt.
//
// # Undo
//
// An UndoManager (NewUndoManager) records the changes of chosen origins
// to a set of types and undoes and redoes them as yjs's UndoManager does,
// byte for byte: undo of a deletion re-inserts the content as new items,
// and relative positions follow them. Its scope can grow by types
// (AddToScope) or to the whole document (AddDocToScope).
//
// # XML and subdocuments
//
// XmlFragment, XmlElement, XmlText and XmlHook have yjs's editing and
// reading API (tree walker, query selectors, siblings, attributes) and
// render with String exactly as yjs's toString. Text.ToDeltaAt and
// XmlElement.GetAttributesAt read a text or an element's attributes as of
// a snapshot (yjs toDelta(snapshot, prevSnapshot, computeYChange) and
// getAttributes(snapshot)). A *Doc inserted into an
// Array or Map is a subdocument (one per track or take, say): peers see a
// *Doc with the same guid and options, and OnSubdocs reports subdocuments
// added, removed and loaded as yjs's 'subdocs' event.
//
// # Concurrency
//
// A Doc is not safe for concurrent use; callers serialize all calls on one
// document. Observers and update handlers run synchronously.
package crdt

// ID names one struct (or one unit inside a struct) of a document: the
// client that made it and that client's logical clock at the time.
// Clients are 53-bit numbers, as in yjs; clocks count UTF-16 code units for
// strings and one unit per element otherwise.
type ID struct {
	Client uint64
	Clock  uint64
}
