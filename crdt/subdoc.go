package crdt

import (
	"fmt"
	"slices"

	"github.com/maxbooster/maxbooster/crdt/lib0"
)

// Subdocuments. A *Doc inserted into an Array or Map (or set as a map
// value) becomes a subdocument: the parent stores its guid and options,
// and peers get a *Doc of their own with the same guid, which a provider
// then syncs as a document of its own. The parent's OnSubdocs reports
// subdocuments added, removed and loaded, as yjs's 'subdocs' event.
//
//	track := crdt.NewDoc(&crdt.DocOptions{GUID: "track-1", Meta: "drums"})
//	_ = project.GetMap("tracks").Set("1", track)

// SubdocsEvent lists the subdocuments a transaction added, removed and
// loaded (yjs 'subdocs' event), each in the order it happened.
type SubdocsEvent struct {
	Added, Removed, Loaded []*Doc
}

type subdocsHandler struct {
	f func(e SubdocsEvent, tx *Transaction)
}
type destroyHandler struct{ f func(d *Doc) }

// OnSubdocs registers f for the subdocuments each transaction added,
// removed or loaded. It runs after the update handlers.
func (d *Doc) OnSubdocs(f func(e SubdocsEvent, tx *Transaction)) (unsubscribe func()) {
	h := &subdocsHandler{f: f}
	d.subdocsHandlers = append(d.subdocsHandlers, h)
	return func() { d.subdocsHandlers = removePtr(d.subdocsHandlers, h) }
}

// OnDestroy registers f to run when the document is destroyed.
func (d *Doc) OnDestroy(f func(d *Doc)) (unsubscribe func()) {
	h := &destroyHandler{f: f}
	d.destroyHandlers = append(d.destroyHandlers, h)
	return func() { d.destroyHandlers = removePtr(d.destroyHandlers, h) }
}

// Subdocs returns the document's subdocuments, in the order they were
// added (yjs getSubdocs).
func (d *Doc) Subdocs() []*Doc { return slices.Clone(d.subdocs) }

// SubdocGUIDs returns the guids of the subdocuments (yjs getSubdocGuids),
// without repeats, in the order of Subdocs.
func (d *Doc) SubdocGUIDs() []string {
	var out []string
	for _, s := range d.subdocs {
		if !slices.Contains(out, s.guid) {
			out = append(out, s.guid)
		}
	}
	return out
}

// CollectionID returns the document's collection id (yjs collectionid).
func (d *Doc) CollectionID() string { return d.collectionID }

// Meta returns the document's meta value (nil when none).
func (d *Doc) Meta() any { return d.meta }

// AutoLoad reports whether the document asks to be loaded as soon as it
// is seen as a subdocument.
func (d *Doc) AutoLoad() bool { return d.autoLoad }

// ShouldLoad reports whether the document is to be loaded (yjs
// shouldLoad): true for documents made with NewDoc unless DeferLoad, and
// for subdocuments once Load was called or when they auto-load.
func (d *Doc) ShouldLoad() bool { return d.shouldLoad }

// IsSubdoc reports whether the document is held by a parent document.
func (d *Doc) IsSubdoc() bool { return d.item != nil }

// Destroyed reports whether Destroy was called.
func (d *Doc) Destroyed() bool { return d.destroyed }

// Load asks for the subdocument to be loaded: the parent's next subdocs
// event lists it as loaded (yjs load). Loading a document that is not a
// subdocument only sets ShouldLoad.
func (d *Doc) Load() {
	if it := d.item; it != nil && !d.shouldLoad && it.parent != nil && it.parent.doc != nil {
		it.parent.doc.transact(func(tx *Transaction) {
			tx.subdocsLoaded = addDoc(tx.subdocsLoaded, d)
		}, nil, true)
	}
	d.shouldLoad = true
}

// Destroy destroys the document and its subdocuments, and drops the
// document's handlers (OnUpdate, OnSubdocs, ...) after calling its destroy
// handlers, as yjs does. A subdocument is
// replaced in its parent by a fresh unloaded Doc with the same guid and
// options, reported as added (unless its item is deleted) while this one
// is reported removed (yjs destroy).
func (d *Doc) Destroy() {
	d.destroyed = true
	for _, s := range slices.Clone(d.subdocs) {
		s.Destroy()
	}
	if it := d.item; it != nil {
		d.item = nil
		var opts lib0.Object
		c, ok := it.content.(*contentDoc)
		if ok {
			opts = c.opts
		}
		nd := docFromOpts(d.guid, opts, false)
		nd.item = it
		if ok {
			c.doc = nd
		}
		if it.parent != nil && it.parent.doc != nil {
			it.parent.doc.transact(func(tx *Transaction) {
				if !it.deleted() {
					tx.subdocsAdded = addDoc(tx.subdocsAdded, nd)
				}
				tx.subdocsRemoved = addDoc(tx.subdocsRemoved, d)
			}, nil, true)
		}
	}
	for _, h := range slices.Clone(d.destroyHandlers) {
		h.f(d)
	}
	// yjs's Observable.destroy: the document's handlers go (observers of
	// its types stay with the types).
	d.updateHandlers, d.updateV2Handlers, d.afterTxHandlers = nil, nil, nil
	d.subdocsHandlers, d.destroyHandlers, d.loadHandlers, d.syncHandlers = nil, nil, nil, nil
}

// finishSubdocs runs at the end of a transaction that added, removed or
// loaded subdocuments (yjs cleanupTransactions).
func (d *Doc) finishSubdocs(tx *Transaction) {
	for _, s := range tx.subdocsAdded {
		s.clientID = d.clientID
		if s.collectionID == "" {
			s.collectionID = d.collectionID
		}
		d.subdocs = addDoc(d.subdocs, s)
	}
	for _, s := range tx.subdocsRemoved {
		d.subdocs = removePtr(d.subdocs, s)
	}
	ev := SubdocsEvent{Added: slices.Clone(tx.subdocsAdded), Removed: slices.Clone(tx.subdocsRemoved), Loaded: slices.Clone(tx.subdocsLoaded)}
	for _, h := range slices.Clone(d.subdocsHandlers) {
		h.f(ev, tx)
	}
	for _, s := range tx.subdocsRemoved {
		s.Destroy()
	}
}

// addDoc adds d to an ordered set of documents.
func addDoc(set []*Doc, d *Doc) []*Doc {
	if slices.Contains(set, d) {
		return set
	}
	return append(set, d)
}

// docFromOpts makes the Doc of a subdocument from its stored options (yjs
// createDocFromOpts).
func docFromOpts(guid string, opts lib0.Object, load bool) *Doc {
	o := DocOptions{GUID: guid, DeferLoad: !load}
	if v, ok := opts.Get("gc"); ok && !isUndefined(v) && !jsTruthy(v) {
		o.DisableGC = true
	}
	if v, ok := opts.Get("autoLoad"); ok && jsTruthy(v) {
		o.AutoLoad = true
	}
	if v, ok := opts.Get("meta"); ok && v != nil && !isUndefined(v) {
		o.Meta = v
	}
	return NewDoc(&o)
}

// newContentDoc is the content of a subdocument inserted locally; its
// options are the non-default ones of the document (yjs ContentDoc).
func newContentDoc(sub *Doc) *contentDoc {
	opts := lib0.Object{}
	if !sub.gc {
		opts = append(opts, lib0.Field{Key: "gc", Value: false})
	}
	if sub.autoLoad {
		opts = append(opts, lib0.Field{Key: "autoLoad", Value: true})
	}
	if sub.meta != nil && !isUndefined(sub.meta) {
		opts = append(opts, lib0.Field{Key: "meta", Value: normalizeAny(sub.meta)})
	}
	return &contentDoc{guid: sub.guid, opts: opts, doc: sub}
}

// checkSubdoc reports whether sub can be inserted as a subdocument.
func checkSubdoc(sub *Doc) error {
	if sub == nil {
		return fmt.Errorf("%w: nil document", ErrInvalidValue)
	}
	if sub.item != nil {
		return fmt.Errorf("%w: the document is already a subdocument; insert a new Doc with the same guid", ErrInvalidValue)
	}
	if err := checkAny(sub.meta); sub.meta != nil && err != nil {
		return err
	}
	return nil
}
