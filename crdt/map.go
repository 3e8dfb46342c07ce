package crdt

// Map is a shared map from string keys to values (yjs Y.Map); values are
// as in Array. Concurrent writes of a key resolve to the write of the
// higher client id, as in yjs.
type Map struct{ *branch }

func (m *Map) shared() *branch { return m.branch }

// NewMap returns a prelim Map to insert into another type (yjs
// new Y.Map()). Entries set before insertion are written when it is
// inserted.
func NewMap() *Map {
	return newOwner(&branch{ref: typeMap}).(*Map)
}

// Set writes key. It returns an error for values that cannot be stored.
//
//	_ = m.Set("tempo", 120)
func (m *Map) Set(key string, value any) error {
	if err := checkValues([]any{value}); err != nil {
		return err
	}
	if m.doc == nil {
		if m.prelimMap == nil {
			m.prelimMap = &orderedAttrs{}
		}
		m.prelimMap.set(key, value)
		return nil
	}
	m.transact(func(tx *Transaction) { m.mapSet(tx, key, value) })
	return nil
}

// Get returns the value of key.
func (m *Map) Get(key string) (any, bool) {
	if m.doc == nil {
		if m.prelimMap == nil {
			return nil, false
		}
		return m.prelimMap.get(key)
	}
	return m.mapGet(key)
}

// Has reports whether key is set.
func (m *Map) Has(key string) bool {
	_, ok := m.Get(key)
	return ok
}

// Delete deletes key.
func (m *Map) Delete(key string) {
	if m.doc == nil {
		if m.prelimMap != nil {
			m.prelimMap.del(key)
		}
		return
	}
	m.transact(func(tx *Transaction) { m.mapDelete(tx, key) })
}

// Keys returns the keys in the order they were first set.
func (m *Map) Keys() []string {
	if m.doc == nil {
		if m.prelimMap == nil {
			return []string{}
		}
		return append([]string{}, m.prelimMap.keys...)
	}
	return m.mapKeys()
}

// Len returns the number of keys.
func (m *Map) Len() int { return len(m.Keys()) }

// ToJSON returns the entries with nested types converted to JSON values.
func (m *Map) ToJSON() map[string]any {
	out := make(map[string]any)
	for _, k := range m.Keys() {
		v, _ := m.Get(k)
		out[k] = valueToJSON(v)
	}
	return out
}

// Observe registers f for the changes of this map. It returns a function
// that removes f.
//
//	off := m.Observe(func(e *crdt.MapEvent, tx *crdt.Transaction) { fmt.Println(e.Keys()) })
func (m *Map) Observe(f func(e *MapEvent, tx *Transaction)) (unsubscribe func()) {
	return m.observe(func(e Event, tx *Transaction) { f(e.(*MapEvent), tx) })
}

// ObserveDeep registers f for the changes of this map and of every type
// nested in it.
func (m *Map) ObserveDeep(f func(events []Event, tx *Transaction)) (unsubscribe func()) {
	return m.observeDeep(f)
}
