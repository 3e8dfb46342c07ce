package crdt

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/maxbooster/maxbooster/crdt/lib0"
)

// XmlFragment is a shared list of XML nodes (yjs Y.XmlFragment): elements,
// texts and hooks. XmlElement has all of its methods.
type XmlFragment struct{ *branch } //nolint:revive // named after yjs (Y.Xml*), like the rest of the API

func (x *XmlFragment) shared() *branch { return x.branch }

// NewXmlFragment returns a prelim XmlFragment.
func NewXmlFragment() *XmlFragment { //nolint:revive // named after yjs (Y.Xml*), like the rest of the API
	return newOwner(&branch{ref: typeXMLFragment}).(*XmlFragment)
}

// Len returns the number of children.
func (x *XmlFragment) Len() int {
	if x.doc == nil {
		return len(x.prelimList)
	}
	return x.length
}

// Children returns the child nodes (*XmlElement, *XmlText, *XmlHook).
func (x *XmlFragment) Children() []any { return x.ToArray() }

// ToArray returns the child nodes (*XmlElement, *XmlText, *XmlHook), as
// yjs's toArray.
func (x *XmlFragment) ToArray() []any {
	if x.doc == nil {
		return append([]any{}, x.prelimList...)
	}
	return x.listValues()
}

// Get returns the child at index, or nil.
func (x *XmlFragment) Get(index int) any {
	if x.doc == nil {
		if index < 0 || index >= len(x.prelimList) {
			return nil
		}
		return x.prelimList[index]
	}
	v, _ := x.listGet(index)
	return v
}

// Slice returns the children in [start, end); negative indexes count
// from the end, as in yjs.
func (x *XmlFragment) Slice(start, end int) []any { return x.listSlice(start, end) }

// FirstChild returns the first child, or nil.
func (x *XmlFragment) FirstChild() SharedType {
	for it := x.start; it != nil; it = it.right {
		if !it.deleted() {
			if v := it.content.values(); len(v) > 0 {
				st, _ := v[0].(SharedType)
				return st
			}
		}
	}
	return nil
}

// Insert inserts prelim XML nodes at index.
func (x *XmlFragment) Insert(index int, nodes ...SharedType) error {
	vals := make([]any, len(nodes))
	for i, n := range nodes {
		vals[i] = n
	}
	if err := checkValues(vals); err != nil {
		return err
	}
	if x.doc == nil {
		if index < 0 || index > len(x.prelimList) {
			return fmt.Errorf("%w: insert at %d, length %d", ErrIndexOutOfRange, index, len(x.prelimList))
		}
		x.prelimList = append(x.prelimList[:index:index], append(vals, x.prelimList[index:]...)...)
		return nil
	}
	var err error
	x.transact(func(tx *Transaction) { err = x.listInsert(tx, index, vals) })
	return err
}

// ErrNotAChild is returned by InsertAfter when the reference node is not a
// child of the node inserted into.
var ErrNotAChild = fmt.Errorf("crdt: reference node is not a child")

// InsertAfter inserts prelim XML nodes after the child ref (nil: at the
// start), yjs insertAfter.
func (x *XmlFragment) InsertAfter(ref SharedType, nodes ...SharedType) error {
	vals := make([]any, len(nodes))
	for i, n := range nodes {
		vals[i] = n
	}
	if err := checkValues(vals); err != nil {
		return err
	}
	if x.doc == nil {
		index := 0
		if ref != nil {
			index = -1
			for i, v := range x.prelimList {
				if st, ok := v.(SharedType); ok && st.shared() == ref.shared() {
					index = i + 1
					break
				}
			}
			if index < 0 {
				return ErrNotAChild
			}
		}
		x.prelimList = append(x.prelimList[:index:index], append(vals, x.prelimList[index:]...)...)
		return nil
	}
	var refItem *Item
	if ref != nil {
		rb := ref.shared()
		if rb == nil || rb.item == nil || rb.item.parent != x.branch {
			return ErrNotAChild
		}
		refItem = rb.item
	}
	x.transact(func(tx *Transaction) { x.listInsertAfter(tx, refItem, vals) })
	return nil
}

// Push appends prelim XML nodes.
func (x *XmlFragment) Push(nodes ...SharedType) error { return x.Insert(x.Len(), nodes...) }

// Unshift inserts prelim XML nodes at the start.
func (x *XmlFragment) Unshift(nodes ...SharedType) error { return x.Insert(0, nodes...) }

// Delete deletes length children from index.
func (x *XmlFragment) Delete(index, length int) error {
	if x.doc == nil {
		if index < 0 || length < 0 || index+length > len(x.prelimList) {
			return fmt.Errorf("%w: delete %d at %d, length %d", ErrIndexOutOfRange, length, index, len(x.prelimList))
		}
		x.prelimList = append(x.prelimList[:index:index], x.prelimList[index+length:]...)
		return nil
	}
	var err error
	x.transact(func(tx *Transaction) { err = x.listDelete(tx, index, length) })
	return err
}

// String renders the nodes the way yjs's toString does.
func (x *XmlFragment) String() string { return xmlString(x.branch) }

// ToJSON returns String(), as yjs's toJSON of XML types.
func (x *XmlFragment) ToJSON() string { return xmlString(x.branch) }

// Observe registers f for the changes of this node.
func (x *XmlFragment) Observe(f func(e *XmlEvent, tx *Transaction)) (unsubscribe func()) {
	return x.observe(func(e Event, tx *Transaction) { f(e.(*XmlEvent), tx) })
}

// ObserveDeep registers f for the changes of this node and its descendants.
func (x *XmlFragment) ObserveDeep(f func(events []Event, tx *Transaction)) (unsubscribe func()) {
	return x.observeDeep(f)
}

// CreateTreeWalker returns a walker over the descendants of the node in
// document order (depth first) that yields those filter accepts (all when
// filter is nil), as yjs's createTreeWalker. It walks into elements and
// fragments, not into texts or hooks.
func (x *XmlFragment) CreateTreeWalker(filter func(node SharedType) bool) *XmlTreeWalker {
	if filter == nil {
		filter = func(SharedType) bool { return true }
	}
	return &XmlTreeWalker{root: x.branch, filter: filter, cur: x.start, first: true}
}

// QuerySelector returns the first descendant element whose node name is
// query, ignoring case, or nil (yjs querySelector: only node names).
func (x *XmlFragment) QuerySelector(query string) *XmlElement {
	w := x.CreateTreeWalker(nodeNameIs(query))
	if n, ok := w.Next(); ok {
		return n.(*XmlElement)
	}
	return nil
}

// QuerySelectorAll returns every descendant element whose node name is
// query, ignoring case, in document order.
func (x *XmlFragment) QuerySelectorAll(query string) []*XmlElement {
	out := []*XmlElement{}
	w := x.CreateTreeWalker(nodeNameIs(query))
	for n, ok := w.Next(); ok; n, ok = w.Next() {
		out = append(out, n.(*XmlElement))
	}
	return out
}

func nodeNameIs(query string) func(SharedType) bool {
	q := strings.ToUpper(query)
	return func(n SharedType) bool {
		el, ok := n.(*XmlElement)
		return ok && el.name != "" && strings.ToUpper(el.name) == q
	}
}

// XmlTreeWalker walks the descendants of an XML node (yjs
// YXmlTreeWalker). It reads the document as it is at each Next.
type XmlTreeWalker struct { //nolint:revive // named after yjs (Y.Xml*), like the rest of the API
	root   *branch
	filter func(SharedType) bool
	cur    *Item
	first  bool
}

// itemType is the shared type an item holds, or nil.
func itemType(it *Item) SharedType {
	if it == nil || !it.isItem() {
		return nil
	}
	if ct, ok := it.content.(*contentType); ok {
		return ct.t.owner
	}
	return nil
}

// Next returns the next node the filter accepts, and false at the end.
func (w *XmlTreeWalker) Next() (SharedType, bool) {
	n := w.cur
	accept := func(it *Item) bool {
		t := itemType(it)
		return t != nil && w.filter(t)
	}
	if n != nil && (!w.first || n.deleted() || !accept(n)) {
		for {
			t := itemType(n)
			var tb *branch
			if t != nil {
				tb = t.shared()
			}
			if !n.deleted() && tb != nil && (tb.ref == typeXMLElement || tb.ref == typeXMLFragment) && tb.start != nil {
				n = tb.start // down
			} else {
				for n != nil { // right, or up and right
					if nxt := n.next(); nxt != nil {
						n = nxt
						break
					}
					if n.parent == w.root || n.parent == nil {
						n = nil
					} else {
						n = n.parent.item
					}
				}
			}
			if n == nil || (!n.deleted() && accept(n)) {
				break
			}
		}
	}
	w.first = false
	if n == nil {
		return nil, false
	}
	w.cur = n
	return itemType(n), true
}

// next is the next non-deleted item to the right.
func (it *Item) next() *Item {
	n := it.right
	for n != nil && n.deleted() {
		n = n.right
	}
	return n
}

// siblingOf returns the node of the item, skipping deleted ones, or nil.
func siblingOf(it *Item) SharedType {
	if it == nil {
		return nil
	}
	return itemType(it)
}

// XmlElement is an XML element with a node name, attributes and children
// (yjs Y.XmlElement); it has every method of XmlFragment.
type XmlElement struct{ XmlFragment } //nolint:revive // named after yjs (Y.Xml*), like the rest of the API

func (x *XmlElement) shared() *branch { return x.branch }

// NewXmlElement returns a prelim XmlElement called nodeName.
func NewXmlElement(nodeName string) *XmlElement { //nolint:revive // named after yjs (Y.Xml*), like the rest of the API
	return newOwner(&branch{ref: typeXMLElement, name: nodeName}).(*XmlElement)
}

// NodeName returns the element's node name.
func (x *XmlElement) NodeName() string { return x.name }

// Attributes returns the element's attributes.
func (x *XmlElement) Attributes() map[string]any { return x.GetAttributes() }

// GetAttributes returns the element's attributes (yjs getAttributes).
func (x *XmlElement) GetAttributes() map[string]any {
	out := make(map[string]any)
	if x.doc == nil {
		if x.prelimMap != nil {
			for _, k := range x.prelimMap.keys {
				out[k] = x.prelimMap.vals[k]
			}
		}
		return out
	}
	for _, k := range x.mapKeys() {
		out[k], _ = x.mapGet(k)
	}
	return out
}

// GetAttributesAt returns the attributes the element had at snapshot s
// (yjs getAttributes(snapshot)): for each attribute, the last value
// written before s, if s did not delete it. It needs the values that were
// overwritten since s, so the document must be made with DisableGC; with
// garbage collection, a collected value reads as lib0.Undefined. A prelim
// element has none.
//
//	before := crdt.SnapshotOf(d)
//	_ = el.SetAttribute("color", "red")
//	el.GetAttributesAt(before) // the attributes without the new color
func (x *XmlElement) GetAttributesAt(s Snapshot) map[string]any {
	out := make(map[string]any)
	if x.doc == nil {
		return out
	}
	for _, k := range x.keyOrder {
		v := x.keys[k]
		for v != nil {
			if clock, ok := s.StateVector[v.id.Client]; ok && v.id.Clock < clock {
				break
			}
			v = v.left
		}
		if v != nil && s.Contains(v.id) {
			vals := v.content.values()
			if i := clockInt(v.len) - 1; i >= 0 && i < len(vals) {
				out[k] = vals[i]
			} else {
				out[k] = lib0.Undefined
			}
		}
	}
	return out
}

// GetAttribute returns one attribute.
func (x *XmlElement) GetAttribute(name string) (any, bool) {
	if x.doc == nil {
		if x.prelimMap == nil {
			return nil, false
		}
		return x.prelimMap.get(name)
	}
	return x.mapGet(name)
}

// HasAttribute reports whether the element has the attribute.
func (x *XmlElement) HasAttribute(name string) bool {
	_, ok := x.GetAttribute(name)
	return ok
}

// SetAttribute sets one attribute.
func (x *XmlElement) SetAttribute(name string, value any) error {
	if err := checkValues([]any{value}); err != nil {
		return err
	}
	if x.doc == nil {
		if x.prelimMap == nil {
			x.prelimMap = &orderedAttrs{}
		}
		x.prelimMap.set(name, value)
		return nil
	}
	x.transact(func(tx *Transaction) { x.mapSet(tx, name, value) })
	return nil
}

// RemoveAttribute removes one attribute.
func (x *XmlElement) RemoveAttribute(name string) {
	if x.doc == nil {
		if x.prelimMap != nil {
			x.prelimMap.del(name)
		}
		return
	}
	x.transact(func(tx *Transaction) { x.mapDelete(tx, name) })
}

// NextSibling returns the next node of the element's parent, or nil.
func (x *XmlElement) NextSibling() SharedType { return nextSibling(x.branch) }

// PrevSibling returns the previous node of the element's parent, or nil.
func (x *XmlElement) PrevSibling() SharedType { return prevSibling(x.branch) }

func nextSibling(b *branch) SharedType {
	if b.item == nil {
		return nil
	}
	return siblingOf(b.item.next())
}

func prevSibling(b *branch) SharedType {
	if b.item == nil {
		return nil
	}
	return siblingOf(b.item.prev())
}

// String renders the element the way yjs's toString does.
func (x *XmlElement) String() string { return xmlString(x.branch) }

// ToJSON returns String(), as yjs's toJSON of XML types.
func (x *XmlElement) ToJSON() string { return xmlString(x.branch) }

// XmlText is a text node with formatting (yjs Y.XmlText); it has the
// methods of Text.
type XmlText struct{ Text } //nolint:revive // named after yjs (Y.Xml*), like the rest of the API

// NewXmlText returns a prelim XmlText.
func NewXmlText() *XmlText { //nolint:revive // named after yjs (Y.Xml*), like the rest of the API
	return newOwner(&branch{ref: typeXMLText}).(*XmlText)
}

// String renders the text with its formatting as nested elements, the way
// yjs's toString does.
func (x *XmlText) String() string { return xmlString(x.branch) }

// ToJSON returns String(), as yjs's toJSON of XML types.
func (x *XmlText) ToJSON() string { return xmlString(x.branch) }

// NextSibling returns the next node of the text's parent, or nil.
func (x *XmlText) NextSibling() SharedType { return nextSibling(x.branch) }

// PrevSibling returns the previous node of the text's parent, or nil.
func (x *XmlText) PrevSibling() SharedType { return prevSibling(x.branch) }

// XmlHook is a named map node (yjs Y.XmlHook); it has the methods of Map.
type XmlHook struct{ Map } //nolint:revive // named after yjs (Y.Xml*), like the rest of the API

// NewXmlHook returns a prelim XmlHook called hookName.
func NewXmlHook(hookName string) *XmlHook { //nolint:revive // named after yjs (Y.Xml*), like the rest of the API
	return newOwner(&branch{ref: typeXMLHook, name: hookName}).(*XmlHook)
}

// HookName returns the hook's name.
func (x *XmlHook) HookName() string { return x.name }

// xmlString renders an XML type (yjs toString).
func xmlString(b *branch) string {
	switch b.ref {
	case typeXMLFragment:
		return xmlChildren(b)
	case typeXMLElement:
		keys := b.mapKeys()
		sort.Slice(keys, func(i, j int) bool { return lessUTF16(keys[i], keys[j]) })
		var sb strings.Builder
		name := strings.ToLower(b.name)
		sb.WriteString("<" + name)
		for _, k := range keys {
			v, _ := b.mapGet(k)
			sb.WriteString(" " + k + `="` + jsString(v) + `"`)
		}
		sb.WriteString(">")
		sb.WriteString(xmlChildren(b))
		sb.WriteString("</" + name + ">")
		return sb.String()
	case typeXMLText:
		var sb strings.Builder
		for _, d := range (&Text{b}).ToDelta() {
			type attr struct{ key, value string }
			type node struct {
				name  string
				attrs []attr
			}
			var nodes []node
			for n, a := range d.Attributes {
				nd := node{name: n}
				// yjs renders `for (key in value)`: an object's keys, a
				// string's or array's indices; other values have none.
				switch v := normalizeObj(a).(type) {
				case lib0.Object:
					for _, f := range v {
						nd.attrs = append(nd.attrs, attr{f.Key, jsString(f.Value)})
					}
				case string:
					for i, u := range lib0.AppendUTF16(nil, v) {
						nd.attrs = append(nd.attrs, attr{strconv.Itoa(i), lib0.StringFromUTF16([]uint16{u})})
					}
				case []any:
					for i, e := range v {
						nd.attrs = append(nd.attrs, attr{strconv.Itoa(i), jsString(e)})
					}
				}
				sort.Slice(nd.attrs, func(i, j int) bool { return lessUTF16(nd.attrs[i].key, nd.attrs[j].key) })
				nodes = append(nodes, nd)
			}
			sort.Slice(nodes, func(i, j int) bool { return lessUTF16(nodes[i].name, nodes[j].name) })
			for _, n := range nodes {
				sb.WriteString("<" + n.name)
				for _, a := range n.attrs {
					sb.WriteString(" " + a.key + `="` + a.value + `"`)
				}
				sb.WriteString(">")
			}
			sb.WriteString(jsString(d.Insert))
			for i := len(nodes) - 1; i >= 0; i-- {
				sb.WriteString("</" + nodes[i].name + ">")
			}
		}
		return sb.String()
	case typeXMLHook:
		return "[object Object]"
	}
	return ""
}

func xmlChildren(b *branch) string {
	var sb strings.Builder
	for _, v := range b.listValues() {
		if st, ok := v.(SharedType); ok {
			sb.WriteString(xmlString(st.shared()))
		} else {
			sb.WriteString(jsString(v))
		}
	}
	return sb.String()
}

// jsString converts a value to a string the way JavaScript's String()
// does for template literals.
func jsString(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case bool:
		if x {
			return "true"
		}
		return "false"
	case float64:
		return lib0.FormatNumber(x)
	case lib0.UndefinedValue:
		return "undefined"
	case lib0.BigInt:
		return lib0.FormatNumber(float64(x))
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			if e == nil || isUndefined(e) {
				continue
			}
			parts[i] = jsString(e)
		}
		return strings.Join(parts, ",")
	case SharedType:
		if x.shared().ref == typeXMLHook || x.shared().ref == typeMap {
			return "[object Object]"
		}
		return xmlString(x.shared())
	}
	if f, ok := toFloat(v); ok {
		return lib0.FormatNumber(f)
	}
	return "[object Object]"
}

// lessUTF16 orders strings as JavaScript compares them: by UTF-16 code
// units (which differs from UTF-8 byte order when a character above
// U+FFFF meets one in U+E000..U+FFFF).
func lessUTF16(a, b string) bool {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			ua, ub := utf16.AppendRune(nil, ra), utf16.AppendRune(nil, rb)
			for i := 0; i < len(ua) && i < len(ub); i++ {
				if ua[i] != ub[i] {
					return ua[i] < ub[i]
				}
			}
			return len(ua) < len(ub)
		}
		a, b = a[na:], b[nb:]
	}
	return a == "" && b != ""
}
