package crdt

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/maxbooster/maxbooster/crdt/lib0"
)

// XmlFragment is a shared list of XML nodes (yjs Y.XmlFragment). Updates
// with XML types decode, integrate and re-encode exactly; the editing API
// here is small (read access and child insertion).
type XmlFragment struct{ *branch } //nolint:revive // named after yjs (Y.Xml*), like the rest of the API

func (x *XmlFragment) shared() *branch { return x.branch }

// NewXmlFragment returns a prelim XmlFragment.
func NewXmlFragment() *XmlFragment { //nolint:revive // named after yjs (Y.Xml*), like the rest of the API
	return newOwner(&branch{ref: typeXMLFragment}).(*XmlFragment)
}

// Len returns the number of children.
func (x *XmlFragment) Len() int { return x.length }

// Children returns the child nodes (*XmlElement, *XmlText, *XmlHook).
func (x *XmlFragment) Children() []any { return x.listValues() }

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

// Observe registers f for the changes of this node.
func (x *XmlFragment) Observe(f func(e *XmlEvent, tx *Transaction)) (unsubscribe func()) {
	return x.observe(func(e Event, tx *Transaction) { f(e.(*XmlEvent), tx) })
}

// ObserveDeep registers f for the changes of this node and its descendants.
func (x *XmlFragment) ObserveDeep(f func(events []Event, tx *Transaction)) (unsubscribe func()) {
	return x.observeDeep(f)
}

// XmlElement is an XML element with a node name, attributes and children
// (yjs Y.XmlElement).
type XmlElement struct{ *branch } //nolint:revive // named after yjs (Y.Xml*), like the rest of the API

func (x *XmlElement) shared() *branch { return x.branch }

// NewXmlElement returns a prelim XmlElement called nodeName.
func NewXmlElement(nodeName string) *XmlElement { //nolint:revive // named after yjs (Y.Xml*), like the rest of the API
	return newOwner(&branch{ref: typeXMLElement, name: nodeName}).(*XmlElement)
}

// NodeName returns the element's node name.
func (x *XmlElement) NodeName() string { return x.name }

// Len returns the number of children.
func (x *XmlElement) Len() int { return x.length }

// Children returns the child nodes.
func (x *XmlElement) Children() []any { return x.listValues() }

// Attributes returns the element's attributes.
func (x *XmlElement) Attributes() map[string]any {
	out := make(map[string]any)
	for _, k := range x.mapKeys() {
		out[k], _ = x.mapGet(k)
	}
	return out
}

// GetAttribute returns one attribute.
func (x *XmlElement) GetAttribute(name string) (any, bool) { return x.mapGet(name) }

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

// Insert inserts prelim XML nodes at index.
func (x *XmlElement) Insert(index int, nodes ...SharedType) error {
	return (&XmlFragment{x.branch}).Insert(index, nodes...)
}

// String renders the element the way yjs's toString does.
func (x *XmlElement) String() string { return xmlString(x.branch) }

// Observe registers f for the changes of this element.
func (x *XmlElement) Observe(f func(e *XmlEvent, tx *Transaction)) (unsubscribe func()) {
	return x.observe(func(e Event, tx *Transaction) { f(e.(*XmlEvent), tx) })
}

// ObserveDeep registers f for the changes of this element and its
// descendants.
func (x *XmlElement) ObserveDeep(f func(events []Event, tx *Transaction)) (unsubscribe func()) {
	return x.observeDeep(f)
}

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
		sort.Strings(keys)
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
			type node struct {
				name  string
				attrs []string
			}
			var nodes []node
			for n, a := range d.Attributes {
				nd := node{name: n}
				// yjs renders `for (key in value)`: an object's keys, a
				// string's or array's indices; other values have none.
				switch v := normalizeObj(a).(type) {
				case lib0.Object:
					for _, f := range v {
						nd.attrs = append(nd.attrs, f.Key+`="`+jsString(f.Value)+`"`)
					}
				case string:
					for i, u := range lib0.AppendUTF16(nil, v) {
						nd.attrs = append(nd.attrs, strconv.Itoa(i)+`="`+lib0.StringFromUTF16([]uint16{u})+`"`)
					}
				case []any:
					for i, e := range v {
						nd.attrs = append(nd.attrs, strconv.Itoa(i)+`="`+jsString(e)+`"`)
					}
				}
				sort.Strings(nd.attrs)
				nodes = append(nodes, nd)
			}
			sort.Slice(nodes, func(i, j int) bool { return nodes[i].name < nodes[j].name })
			for _, n := range nodes {
				sb.WriteString("<" + n.name)
				for _, a := range n.attrs {
					sb.WriteString(" " + a)
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
