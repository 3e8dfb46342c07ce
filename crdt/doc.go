package crdt

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
)

// DocOptions configures a Doc. The zero value (or a nil *DocOptions) gives
// the yjs defaults: a random 32-bit client id and garbage collection on.
type DocOptions struct {
	// ClientID is the id this document writes its own changes under. Zero
	// picks a random 32-bit id, as yjs does. Ids up to 2^53-1 are valid.
	ClientID uint64
	// DisableGC keeps the content of deleted items (yjs gc: false), which
	// snapshots and undo of remote changes need. Documents grow with every
	// deletion when set.
	DisableGC bool
	// GUID names the document (yjs guid); empty picks a random one.
	GUID string
	// CollectionID groups documents for providers (yjs collectionid); a
	// subdocument without one takes its parent's.
	CollectionID string
	// Meta is stored with the document where it is a subdocument (yjs
	// meta), a lib0 "any" value; nil means none.
	Meta any
	// AutoLoad asks every peer to load the document as soon as it sees it
	// as a subdocument (yjs autoLoad).
	AutoLoad bool
	// DeferLoad leaves a subdocument unloaded until Load is called (yjs
	// shouldLoad: false); the default loads it when it is integrated.
	DeferLoad bool
	// GCFilter, when set, is asked about every deleted item before garbage
	// collection replaces its content (yjs gcFilter); a false answer keeps
	// the item's content (it stays deleted). It runs at the end of
	// transactions, for the items the transaction deleted, and must not
	// change the document. Unused when DisableGC is set. Subdocuments made
	// from an update do not inherit it, as in yjs.
	GCFilter func(it *Item) bool
}

// Doc is a Y.js document: a set of named root types whose state converges
// with every other copy that has seen the same updates.
//
// A Doc is not safe for concurrent use: callers serialize every call
// (including reads) on one document, for example with a mutex or by owning
// the Doc from one goroutine. Observers and update handlers run
// synchronously inside the calls that trigger them.
type Doc struct {
	clientID uint64
	gc       bool
	gcFilter func(it *Item) bool
	guid     string
	store    *structStore

	share      map[string]*branch
	shareOrder []string

	tx       *Transaction
	cleanups []*Transaction

	v1enc *updateEncoderV1 // reused for transaction updates
	v1dec updateDecoderV1  // reused by ApplyUpdate

	updateHandlers   []*updateHandler
	updateV2Handlers []*updateHandler
	afterTxHandlers  []*afterTxHandler

	// trackParents counts the UndoManagers of the document: while
	// positive, transactions record their changed parent types.
	trackParents int

	// Subdocuments (subdoc.go).
	collectionID    string
	meta            any
	autoLoad        bool
	shouldLoad      bool
	item            *Item  // the item of the parent that holds this document
	subdocs         []*Doc // in the order they were added (a JS Set)
	destroyed       bool
	subdocsHandlers []*subdocsHandler
	destroyHandlers []*destroyHandler

	// Provider state (EmitLoad, EmitSync): yjs isLoaded, isSynced and the
	// channels behind WhenLoaded and WhenSynced, made when first asked for.
	loaded, synced bool
	loadedCh       chan struct{}
	syncedCh       chan struct{}
	syncedChClosed bool
	loadHandlers   []*loadHandler
	syncHandlers   []*syncHandler
}

type updateHandler struct {
	f func(update []byte, origin any, tx *Transaction)
}

type afterTxHandler struct{ f func(tx *Transaction) }

// NewDoc returns an empty document.
//
//	d := crdt.NewDoc(&crdt.DocOptions{ClientID: 7})
//	_ = d.GetText("t").Insert(0, "hi")
func NewDoc(opts *DocOptions) *Doc {
	var o DocOptions
	if opts != nil {
		o = *opts
	}
	d := &Doc{
		clientID:     o.ClientID,
		gc:           !o.DisableGC,
		gcFilter:     o.GCFilter,
		guid:         o.GUID,
		store:        newStructStore(),
		share:        make(map[string]*branch),
		collectionID: o.CollectionID,
		meta:         o.Meta,
		autoLoad:     o.AutoLoad,
		shouldLoad:   !o.DeferLoad,
	}
	if d.clientID == 0 {
		d.clientID = newClientID()
	}
	if d.guid == "" {
		d.guid = newGUID()
	}
	return d
}

// newClientID returns a random 32-bit client id, as yjs does.
func newClientID() uint64 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return uint64(binary.LittleEndian.Uint32(b[:]))
}

// newGUID returns a random version-4 UUID string (yjs uuidv4).
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// ClientID returns the id the document writes its own changes under.
func (d *Doc) ClientID() uint64 { return d.clientID }

// GUID returns the document's guid.
func (d *Doc) GUID() string { return d.guid }

// GC reports whether garbage collection of deleted content is on.
func (d *Doc) GC() bool { return d.gc }

// root returns the root type name, creating it as an untyped root if new.
func (d *Doc) root(name string) *branch {
	b := d.share[name]
	if b == nil {
		b = &branch{doc: d, name: name, ref: refUnknown}
		d.share[name] = b
		d.shareOrder = append(d.shareOrder, name)
	}
	return b
}

// ErrTypeMismatch is returned when a root type is requested with a kind
// other than the one it already has.
var ErrTypeMismatch = fmt.Errorf("crdt: root type defined with a different kind")

func (d *Doc) typedRoot(name string, ref uint8) (*branch, error) {
	b := d.root(name)
	if b.ref == refUnknown {
		// yjs replaces the untyped root by a fresh typed one that keeps the
		// items: flags such as "has formatting" start over, and search
		// markers are on even if formatting was integrated before.
		b.ref = ref
		b.hasFormatting = false
		b.resetMarkers()
		newOwner(b)
		return b, nil
	}
	if b.ref != ref {
		return nil, fmt.Errorf("%w: %q", ErrTypeMismatch, name)
	}
	return b, nil
}

func (d *Doc) mustRoot(name string, ref uint8) *branch {
	b, err := d.typedRoot(name, ref)
	if err != nil {
		panic(err)
	}
	return b
}

// GetText returns the root Text called name. It panics if name is already
// a root of another kind (like yjs); use Root to check first.
//
//	t := d.GetText("t")
func (d *Doc) GetText(name string) *Text { return d.mustRoot(name, typeText).owner.(*Text) }

// GetArray returns the root Array called name (panics on a kind mismatch,
// like GetText).
func (d *Doc) GetArray(name string) *Array { return d.mustRoot(name, typeArray).owner.(*Array) }

// GetMap returns the root Map called name (panics on a kind mismatch, like
// GetText).
func (d *Doc) GetMap(name string) *Map { return d.mustRoot(name, typeMap).owner.(*Map) }

// GetXmlFragment returns the root XmlFragment called name (panics on a kind
// mismatch, like GetText).
func (d *Doc) GetXmlFragment(name string) *XmlFragment { //nolint:revive // named after yjs (Y.Xml*), like the rest of the API
	return d.mustRoot(name, typeXMLFragment).owner.(*XmlFragment)
}

// GetXmlElement returns the root XmlElement called name (panics on a kind
// mismatch, like GetText).
func (d *Doc) GetXmlElement(name string) *XmlElement { //nolint:revive // named after yjs (Y.Xml*), like the rest of the API
	return d.mustRoot(name, typeXMLElement).owner.(*XmlElement)
}

// RootKind names the kind of a root type in RootNames and Root.
type RootKind string

// Root kinds.
const (
	KindUnknown     RootKind = ""
	KindText        RootKind = "text"
	KindArray       RootKind = "array"
	KindMap         RootKind = "map"
	KindXmlFragment RootKind = "xml"        //nolint:revive // named after yjs (Y.Xml*), like the rest of the API
	KindXmlElement  RootKind = "xmlelement" //nolint:revive // named after yjs (Y.Xml*), like the rest of the API
)

// Roots returns the names of the root types the document knows (asked
// for, or created by applied updates) in the order they appeared, with
// their kinds (KindUnknown for roots that only updates created).
func (d *Doc) Roots() []RootInfo {
	out := make([]RootInfo, 0, len(d.shareOrder))
	for _, n := range d.shareOrder {
		b := d.share[n]
		out = append(out, RootInfo{Name: n, Kind: kindOf(b.ref), HasList: b.start != nil, HasKeys: len(b.keys) > 0})
	}
	return out
}

// RootInfo describes one root type.
type RootInfo struct {
	Name string
	Kind RootKind
	// HasList and HasKeys tell whether the root holds list items or map
	// entries, which lets a caller guess the kind of an unknown root.
	HasList, HasKeys bool
}

func kindOf(ref uint8) RootKind {
	switch ref {
	case typeText:
		return KindText
	case typeArray:
		return KindArray
	case typeMap:
		return KindMap
	case typeXMLFragment:
		return KindXmlFragment
	case typeXMLElement:
		return KindXmlElement
	}
	return KindUnknown
}

// Root returns the root type called name as the given kind, creating it if
// needed, or ErrTypeMismatch.
func (d *Doc) Root(name string, kind RootKind) (SharedType, error) {
	var ref uint8
	switch kind {
	case KindText:
		ref = typeText
	case KindArray:
		ref = typeArray
	case KindMap:
		ref = typeMap
	case KindXmlFragment:
		ref = typeXMLFragment
	case KindXmlElement:
		ref = typeXMLElement
	default:
		return nil, fmt.Errorf("crdt: unknown root kind %q", kind)
	}
	b, err := d.typedRoot(name, ref)
	if err != nil {
		return nil, err
	}
	return b.owner, nil
}

// OnUpdate registers f to receive the v1 update of every transaction that
// changed the document, with the transaction's origin. It returns a
// function that unregisters f.
//
//	off := d.OnUpdate(func(update []byte, origin any, tx *crdt.Transaction) {
//		broadcast(update)
//	})
//	defer off()
func (d *Doc) OnUpdate(f func(update []byte, origin any, tx *Transaction)) (unsubscribe func()) {
	h := &updateHandler{f: f}
	d.updateHandlers = append(d.updateHandlers, h)
	return func() { d.updateHandlers = removePtr(d.updateHandlers, h) }
}

// OnUpdateV2 is OnUpdate with updates in the v2 format.
func (d *Doc) OnUpdateV2(f func(update []byte, origin any, tx *Transaction)) (unsubscribe func()) {
	h := &updateHandler{f: f}
	d.updateV2Handlers = append(d.updateV2Handlers, h)
	return func() { d.updateV2Handlers = removePtr(d.updateV2Handlers, h) }
}

// OnAfterTransaction registers f to run after every transaction, once its
// observers ran (yjs 'afterTransaction').
func (d *Doc) OnAfterTransaction(f func(tx *Transaction)) (unsubscribe func()) {
	h := &afterTxHandler{f: f}
	d.afterTxHandlers = append(d.afterTxHandlers, h)
	return func() { d.afterTxHandlers = removePtr(d.afterTxHandlers, h) }
}

func removePtr[T comparable](s []T, v T) []T {
	for i, x := range s {
		if x == v {
			out := make([]T, 0, len(s)-1)
			out = append(out, s[:i]...)
			return append(out, s[i+1:]...)
		}
	}
	return s
}

// ToJSON returns every root type's JSON value by name, like yjs's
// doc.toJSON(); roots of unknown kind are left out.
func (d *Doc) ToJSON() map[string]any {
	out := make(map[string]any, len(d.share))
	for _, n := range d.shareOrder {
		b := d.share[n]
		if b.owner != nil {
			out[n] = typeToJSON(b)
		}
	}
	return out
}

// HasPending reports whether the document holds structs or deletions
// that wait for updates it has not seen yet.
func (d *Doc) HasPending() bool {
	return d.store.pendingStructs != nil || d.store.pendingDS != nil
}

// Loading and syncing. Providers tell a document where its content stands
// (yjs doc.emit('load') and doc.emit('sync', [isSynced])): a persistence
// provider calls EmitLoad once it applied the stored state, a connection
// provider calls EmitSync(true) once it synced with its backend and
// EmitSync(false) when the connection is lost. Applications wait with
// WhenLoaded and WhenSynced, or register OnLoad and OnSync handlers.
//
//	applyStored(d)
//	d.EmitLoad()
//	...
//	<-d.WhenLoaded() // in another goroutine, obtained before
//
// A destroyed document ignores both signals, as yjs (which drops every
// handler on destroy) does.

type loadHandler struct{ f func(d *Doc) }
type syncHandler struct{ f func(synced bool, d *Doc) }

// OnLoad registers f to run each time a provider signals that the
// document was loaded (EmitLoad, and the first EmitSync(true) of a
// document not loaded yet), after IsLoaded became true.
func (d *Doc) OnLoad(f func(d *Doc)) (unsubscribe func()) {
	h := &loadHandler{f: f}
	d.loadHandlers = append(d.loadHandlers, h)
	return func() { d.loadHandlers = removePtr(d.loadHandlers, h) }
}

// OnSync registers f to run each time a provider signals the sync state
// (EmitSync), after IsSynced (and, for a first sync, IsLoaded and the load
// handlers) took it into account.
func (d *Doc) OnSync(f func(synced bool, d *Doc)) (unsubscribe func()) {
	h := &syncHandler{f: f}
	d.syncHandlers = append(d.syncHandlers, h)
	return func() { d.syncHandlers = removePtr(d.syncHandlers, h) }
}

// EmitLoad signals that a provider loaded the document's content (yjs
// doc.emit('load', [doc])): IsLoaded becomes true, the WhenLoaded channel
// is closed, then the OnLoad handlers run. Emitting again runs the
// handlers again.
func (d *Doc) EmitLoad() {
	if d.destroyed {
		return
	}
	d.loaded = true
	if d.loadedCh != nil {
		select {
		case <-d.loadedCh:
		default:
			close(d.loadedCh)
		}
	}
	for _, h := range slices.Clone(d.loadHandlers) {
		h.f(d)
	}
}

// EmitSync signals the sync state with a provider's backend (yjs
// doc.emit('sync', [isSynced])). EmitSync(true) sets IsSynced, emits the
// load event first if the document was not loaded yet, and closes the
// WhenSynced channel. EmitSync(false) after a sync clears IsSynced and
// gives WhenSynced a new channel that closes at the next EmitSync(true).
// The OnSync handlers run last.
func (d *Doc) EmitSync(synced bool) {
	if d.destroyed {
		return
	}
	if !synced && d.synced {
		d.syncedCh, d.syncedChClosed = nil, false
	}
	d.synced = synced
	if synced && !d.loaded {
		d.EmitLoad()
	}
	if synced && d.syncedCh != nil && !d.syncedChClosed {
		close(d.syncedCh)
		d.syncedChClosed = true
	}
	for _, h := range slices.Clone(d.syncHandlers) {
		h.f(synced, d)
	}
}

// IsLoaded reports whether a provider signalled that the document was
// loaded (yjs isLoaded).
func (d *Doc) IsLoaded() bool { return d.loaded }

// IsSynced reports whether the last sync signal was EmitSync(true) (yjs
// isSynced).
func (d *Doc) IsSynced() bool { return d.synced }

// WhenLoaded returns a channel that is closed once the document is
// loaded (yjs whenLoaded): already closed if IsLoaded. The channel may be
// waited on from any goroutine; the call itself is serialized with the
// document's other calls.
func (d *Doc) WhenLoaded() <-chan struct{} {
	if d.loadedCh == nil {
		d.loadedCh = make(chan struct{})
		if d.loaded {
			close(d.loadedCh)
		}
	}
	return d.loadedCh
}

// WhenSynced returns a channel that is closed at the next EmitSync(true),
// or already closed if IsSynced (yjs whenSynced). Losing the sync
// (EmitSync(false)) starts a new channel: ask again after it.
func (d *Doc) WhenSynced() <-chan struct{} {
	if d.syncedCh == nil {
		d.syncedCh = make(chan struct{})
		if d.synced {
			close(d.syncedCh)
			d.syncedChClosed = true
		}
	}
	return d.syncedCh
}
