package crdt

import "fmt"

// Array is a shared list of values (yjs Y.Array). Values are lib0 "any"
// values (see package lib0: nil, bool, numbers, strings, []byte, []any,
// lib0.Object or map[string]any), prelim shared types (NewText, NewArray,
// NewMap, ...) and subdocument references.
type Array struct{ *branch }

func (a *Array) shared() *branch { return a.branch }

// NewArray returns a prelim Array to insert into another type (yjs
// new Y.Array()). Edits made before insertion are replayed when it is
// inserted.
func NewArray() *Array {
	return newOwner(&branch{ref: typeArray}).(*Array)
}

// Len returns the number of elements.
func (a *Array) Len() int {
	if a.doc == nil {
		return len(a.prelimList)
	}
	return a.length
}

// Insert inserts values at index. Runs of plain values become one item.
//
//	_ = a.Insert(0, "x", 1.5, map[string]any{"k": true})
func (a *Array) Insert(index int, values ...any) error {
	if err := checkValues(values); err != nil {
		return err
	}
	if len(values) == 0 {
		return nil
	}
	if a.doc == nil {
		if index < 0 || index > len(a.prelimList) {
			return fmt.Errorf("%w: insert at %d, length %d", ErrIndexOutOfRange, index, len(a.prelimList))
		}
		a.prelimList = append(a.prelimList[:index:index], append(append([]any(nil), values...), a.prelimList[index:]...)...)
		return nil
	}
	if index < 0 || index > a.length {
		return fmt.Errorf("%w: insert at %d, length %d", ErrIndexOutOfRange, index, a.length)
	}
	var err error
	a.transact(func(tx *Transaction) { err = a.listInsert(tx, index, values) })
	return err
}

// Push appends values at the end.
//
//	_ = a.Push("last")
func (a *Array) Push(values ...any) error {
	if err := checkValues(values); err != nil {
		return err
	}
	if len(values) == 0 {
		return nil
	}
	if a.doc == nil {
		a.prelimList = append(a.prelimList, values...)
		return nil
	}
	a.transact(func(tx *Transaction) { a.listPush(tx, values) })
	return nil
}

// Unshift inserts values at the start.
func (a *Array) Unshift(values ...any) error { return a.Insert(0, values...) }

// Delete deletes length elements from index.
func (a *Array) Delete(index, length int) error {
	if a.doc == nil {
		if index < 0 || length < 0 || index+length > len(a.prelimList) {
			return fmt.Errorf("%w: delete %d at %d, length %d", ErrIndexOutOfRange, length, index, len(a.prelimList))
		}
		a.prelimList = append(a.prelimList[:index:index], a.prelimList[index+length:]...)
		return nil
	}
	if index < 0 || length < 0 || index+length > a.length {
		return fmt.Errorf("%w: delete %d at %d, length %d", ErrIndexOutOfRange, length, index, a.length)
	}
	var err error
	a.transact(func(tx *Transaction) { err = a.listDelete(tx, index, length) })
	return err
}

// Get returns the element at index, or nil if index is out of range.
// Nested types are returned as *Text, *Array, *Map, ...
func (a *Array) Get(index int) any {
	if a.doc == nil {
		if index < 0 || index >= len(a.prelimList) {
			return nil
		}
		return a.prelimList[index]
	}
	v, _ := a.listGet(index)
	return v
}

// Slice returns the elements in [start, end); negative indexes count from
// the end, like JavaScript's slice.
func (a *Array) Slice(start, end int) []any { return a.listSlice(start, end) }

// ToArray returns every element.
func (a *Array) ToArray() []any {
	if a.doc == nil {
		return append([]any(nil), a.prelimList...)
	}
	return a.listValues()
}

// ToJSON returns the elements with nested types converted to JSON values.
func (a *Array) ToJSON() []any {
	vals := a.ToArray()
	for i, v := range vals {
		vals[i] = valueToJSON(v)
	}
	return vals
}

// Observe registers f for the changes of this array. It returns a function
// that removes f.
//
//	off := a.Observe(func(e *crdt.ArrayEvent, tx *crdt.Transaction) { fmt.Println(e.Delta()) })
func (a *Array) Observe(f func(e *ArrayEvent, tx *Transaction)) (unsubscribe func()) {
	return a.observe(func(e Event, tx *Transaction) { f(e.(*ArrayEvent), tx) })
}

// ObserveDeep registers f for the changes of this array and of every type
// nested in it.
func (a *Array) ObserveDeep(f func(events []Event, tx *Transaction)) (unsubscribe func()) {
	return a.observeDeep(f)
}
