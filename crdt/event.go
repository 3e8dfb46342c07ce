package crdt

// Event describes the changes of one shared type in one transaction. The
// concrete types are *TextEvent, *ArrayEvent, *MapEvent and *XmlEvent.
// Compute Delta, Changes and Keys inside the observer: they read the
// document as it is when the observer runs.
type Event interface {
	// Target is the type that changed.
	Target() SharedType
	// CurrentTarget is the type whose deep observer receives the event.
	CurrentTarget() SharedType
	// Path leads from CurrentTarget to Target: map keys (string) and list
	// indexes (int).
	Path() []any
	// Transaction is the transaction the changes were made in.
	Transaction() *Transaction
	// Delta is the change of the type's list (for Text with attributes).
	Delta() []Delta
	// Keys is the change of the type's map entries.
	Keys() map[string]KeyChange
	// Changes holds the added and deleted items' count, the delta and keys.
	Changes() Changes

	base() *baseEvent
}

// Delta is one operation of a list delta, yjs-shaped: exactly one of
// Insert (a string for Text, []any for Array and XML children, or an
// embed / shared type), Retain or Delete is set.
type Delta struct {
	Insert     any            `json:"insert,omitempty"`
	Retain     int            `json:"retain,omitempty"`
	Delete     int            `json:"delete,omitempty"`
	Attributes map[string]any `json:"attributes,omitempty"`
}

// KeyAction says what happened to a map key.
type KeyAction string

// Key actions.
const (
	KeyAdd    KeyAction = "add"
	KeyUpdate KeyAction = "update"
	KeyDelete KeyAction = "delete"
)

// KeyChange describes the change of one map key. OldValue is the previous
// value for updates and deletes.
type KeyChange struct {
	Action   KeyAction
	OldValue any
}

// Changes is what yjs's event.changes holds.
type Changes struct {
	Added   int // number of items added
	Deleted int // number of items deleted
	Delta   []Delta
	Keys    map[string]KeyChange
}

type baseEvent struct {
	target        *branch
	currentTarget *branch
	tx            *Transaction
	cs            *changeSet
	path          []any
	keys          map[string]KeyChange
	changes       *Changes
}

func (e *baseEvent) base() *baseEvent { return e }

// Target returns the type that changed.
func (e *baseEvent) Target() SharedType { return e.target.owner }

// CurrentTarget returns the type whose observer receives the event.
func (e *baseEvent) CurrentTarget() SharedType { return e.currentTarget.owner }

// Transaction returns the transaction of the change.
func (e *baseEvent) Transaction() *Transaction { return e.tx }

// Path returns the path from CurrentTarget to Target.
func (e *baseEvent) Path() []any {
	if e.path == nil {
		e.path = pathTo(e.currentTarget, e.target)
	}
	return e.path
}

func pathTo(parent, child *branch) []any {
	path := []any{}
	for child.item != nil && child != parent {
		it := child.item
		if it.hasParentSub() {
			path = append(path, it.sub())
		} else {
			i := 0
			for c := it.parent.start; c != it && c != nil; c = c.right {
				if !c.deleted() && c.countable() {
					i += c.ilen()
				}
			}
			path = append(path, i)
		}
		child = it.parent
	}
	for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
		path[i], path[j] = path[j], path[i]
	}
	return path
}

// adds reports whether the item was created in the transaction.
func (e *baseEvent) adds(it *Item) bool {
	return it.id.Clock >= e.tx.beforeState.get(it.id.Client)
}

// deletes reports whether the item was deleted in the transaction.
func (e *baseEvent) deletes(it *Item) bool {
	return e.tx.deleteSet.contains(it.id)
}

// Keys returns the changed map keys (yjs event.keys).
func (e *baseEvent) Keys() map[string]KeyChange {
	if e.keys != nil {
		return e.keys
	}
	keys := make(map[string]KeyChange)
	for _, key := range e.cs.keys {
		it := e.target.keys[key]
		if it == nil {
			continue
		}
		last := func(x *Item) any {
			v := x.content.values()
			if len(v) == 0 {
				return nil
			}
			return v[len(v)-1]
		}
		if e.adds(it) {
			prev := it.left
			for prev != nil && e.adds(prev) {
				prev = prev.left
			}
			if e.deletes(it) {
				if prev != nil && e.deletes(prev) {
					keys[key] = KeyChange{Action: KeyDelete, OldValue: last(prev)}
				}
			} else if prev != nil && e.deletes(prev) {
				keys[key] = KeyChange{Action: KeyUpdate, OldValue: last(prev)}
			} else {
				keys[key] = KeyChange{Action: KeyAdd}
			}
		} else if e.deletes(it) {
			keys[key] = KeyChange{Action: KeyDelete, OldValue: last(it)}
		}
	}
	e.keys = keys
	return keys
}

// Changes returns the list delta, added/deleted counts and keys (yjs
// event.changes).
func (e *baseEvent) Changes() Changes {
	if e.changes != nil {
		return *e.changes
	}
	ch := &Changes{Keys: e.Keys(), Delta: []Delta{}}
	if e.cs.list {
		var last *Delta
		push := func() {
			if last != nil {
				ch.Delta = append(ch.Delta, *last)
			}
		}
		for it := e.target.start; it != nil; it = it.right {
			if it.deleted() {
				if e.deletes(it) && !e.adds(it) {
					if last == nil || last.Delete == 0 {
						push()
						last = &Delta{}
					}
					last.Delete += it.ilen()
					ch.Deleted++
				}
			} else if e.adds(it) {
				if last == nil || last.Insert == nil {
					push()
					last = &Delta{Insert: []any{}}
				}
				last.Insert = append(last.Insert.([]any), it.content.values()...)
				ch.Added++
			} else {
				if last == nil || last.Retain == 0 {
					push()
					last = &Delta{}
				}
				last.Retain += it.ilen()
			}
		}
		if last != nil && last.Retain == 0 {
			push()
		}
	}
	e.changes = ch
	return *ch
}

// Delta returns the list delta.
func (e *baseEvent) Delta() []Delta { return e.Changes().Delta }

// ArrayEvent is the event of an Array.
type ArrayEvent struct{ baseEvent }

// MapEvent is the event of a Map.
type MapEvent struct{ baseEvent }

// KeysChanged returns the keys written or deleted in the transaction.
func (e *MapEvent) KeysChanged() []string { return append([]string(nil), e.cs.keys...) }

// XmlEvent is the event of an XML type: child changes in Delta, attribute
// changes in Keys.
type XmlEvent struct{ baseEvent } //nolint:revive // named after yjs (Y.Xml*), like the rest of the API

// ChildListChanged reports whether the node's children changed (yjs
// childListChanged).
func (e *XmlEvent) ChildListChanged() bool { return e.cs.list }

// AttributesChanged returns the attributes set or removed, in the order
// they were first changed (yjs attributesChanged).
func (e *XmlEvent) AttributesChanged() []string { return append([]string(nil), e.cs.keys...) }

// TextEvent is the event of a Text; its Delta carries formatting.
type TextEvent struct {
	baseEvent
	delta []Delta
}

// newEvent builds the event of b's changes.
func newEvent(b *branch, tx *Transaction, cs *changeSet) Event {
	be := baseEvent{target: b, currentTarget: b, tx: tx, cs: cs}
	switch b.ref {
	case typeText, typeXMLText:
		return &TextEvent{baseEvent: be}
	case typeMap, typeXMLHook:
		return &MapEvent{be}
	case typeArray:
		return &ArrayEvent{be}
	case typeXMLElement, typeXMLFragment:
		return &XmlEvent{be}
	}
	return &ArrayEvent{be}
}

// observer and deepObserver wrap callbacks so they can be removed.
type observer struct{ f func(Event, *Transaction) }
type deepObserver struct{ f func([]Event, *Transaction) }

func (b *branch) observe(f func(Event, *Transaction)) func() {
	o := &observer{f: f}
	b.observers = append(b.observers, o)
	return func() { b.observers = removePtr(b.observers, o) }
}

func (b *branch) observeDeep(f func([]Event, *Transaction)) func() {
	o := &deepObserver{f: f}
	b.deepObservers = append(b.deepObservers, o)
	return func() { b.deepObservers = removePtr(b.deepObservers, o) }
}
