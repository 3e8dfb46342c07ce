package crdt

import (
	"encoding/json"
	"fmt"
	"strings"
)

// genXMLListOp makes a random child edit of an XML fragment or element.
func (r *liveRun) genXMLListOp(op *liveOp, t *XmlFragment, x float64, pathLen int) {
	n := t.Len()
	value := func() []valueSpec {
		vs := []valueSpec{r.randValue(pathLen, true)}
		if r.rng.IntN(4) == 0 {
			vs = append(vs, r.randValue(pathLen, true))
		}
		return vs
	}
	switch {
	case x < 0.45 || n == 0 && x < 0.75:
		op.Kind, op.Index, op.Values = "xmlInsert", r.rng.IntN(n+1), value()
	case x < 0.55:
		op.Kind, op.Index, op.Values = "xmlInsertAfter", r.rng.IntN(n+1)-1, value()
	case x < 0.65:
		op.Kind, op.Values = "xmlPush", value()
	case x < 0.75:
		op.Kind, op.Values = "xmlUnshift", value()
	default:
		if n == 0 {
			op.Kind, op.Values = "xmlPush", value()
			return
		}
		op.Kind, op.Index = "xmlDelete", r.rng.IntN(n)
		op.Len = 1 + r.rng.IntN(min(2, n-op.Index))
	}
}

// applyXMLListOp performs a child edit on an XML fragment or element.
func applyXMLListOp(op liveOp, target any) error {
	var t *XmlFragment
	switch x := target.(type) {
	case *XmlFragment:
		t = x
	case *XmlElement:
		t = &x.XmlFragment
	default:
		return fmt.Errorf("%s on %T", op.Kind, target)
	}
	nodes := make([]SharedType, len(op.Values))
	for i, v := range op.Values {
		nodes[i] = v.goValue().(SharedType)
	}
	switch op.Kind {
	case "xmlInsert":
		return t.Insert(op.Index, nodes...)
	case "xmlInsertAfter":
		var ref SharedType
		if op.Index >= 0 {
			ref = t.Get(op.Index).(SharedType)
		}
		return t.InsertAfter(ref, nodes...)
	case "xmlPush":
		return t.Push(nodes...)
	case "xmlUnshift":
		return t.Unshift(nodes...)
	case "xmlDelete":
		return t.Delete(op.Index, op.Len)
	}
	return fmt.Errorf("unknown op %s", op.Kind)
}

// xmlDesc names an XML node as desc in peer.mjs does.
func xmlDesc(n any) string {
	switch x := n.(type) {
	case *XmlElement:
		if x == nil {
			return "null"
		}
		return "<" + x.NodeName() + ">"
	case *XmlText:
		if x == nil {
			return "null"
		}
		return "#text(" + x.String() + ")"
	case *XmlHook:
		if x == nil {
			return "null"
		}
		return "#hook(" + x.HookName() + ")"
	case nil:
		return "null"
	}
	return "?"
}

// xmlEventDesc describes a deep event of root "x" as xmlEventDesc in
// peer.mjs does.
func xmlEventDesc(e Event) string {
	var delta []any
	for _, d := range e.Delta() {
		m := map[string]any{}
		switch {
		case d.Insert != nil:
			if ins, ok := d.Insert.([]any); ok {
				out := make([]any, len(ins))
				for i, v := range ins {
					if st, ok := v.(SharedType); ok {
						out[i] = xmlDesc(st)
					} else {
						out[i] = v
					}
				}
				m["insert"] = out
			} else {
				m["insert"] = d.Insert
			}
		case d.Delete > 0:
			m["delete"] = float64(d.Delete)
		default:
			m["retain"] = float64(d.Retain)
		}
		if d.Attributes != nil {
			m["attributes"] = d.Attributes
		}
		delta = append(delta, m)
	}
	if delta == nil {
		delta = []any{}
	}
	path, _ := json.Marshal(e.Path())
	xe, ok := e.(*XmlEvent)
	if !ok {
		return fmt.Sprintf("other %s %s", path, canonJSON(delta))
	}
	keys := map[string]any{}
	for k, kc := range e.Keys() {
		if kc.Action == KeyAdd {
			keys[k] = map[string]any{"action": string(kc.Action)}
		} else {
			keys[k] = map[string]any{"action": string(kc.Action), "oldValue": kc.OldValue}
		}
	}
	attrs := xe.AttributesChanged()
	sortUTF16(attrs)
	return fmt.Sprintf("xml %s %s %t %s %s %s", path, xmlDesc(e.Target()), xe.ChildListChanged(), strings.Join(attrs, ","), canonJSON(delta), canonJSON(keys))
}

func sortUTF16(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && lessUTF16(s[j], s[j-1]); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// xmlSummary exercises the XML read API as xmlSummary in peer.mjs does.
func xmlSummary(d *Doc) string {
	x := d.GetXmlFragment("x")
	var walk []string
	w := x.CreateTreeWalker(nil)
	for n, ok := w.Next(); ok; n, ok = w.Next() {
		walk = append(walk, xmlDesc(n))
	}
	var elems []string
	w = x.CreateTreeWalker(func(n SharedType) bool { _, ok := n.(*XmlElement); return ok })
	for n, ok := w.Next(); ok; n, ok = w.Next() {
		e := n.(*XmlElement)
		attrs := map[string]any{}
		for k, v := range e.GetAttributes() {
			attrs[k] = v
		}
		elems = append(elems, fmt.Sprintf("%s[%s,%s,%s,%d,%s,%t,%d]", e.NodeName(), xmlDesc(e.PrevSibling()), xmlDesc(e.NextSibling()),
			xmlDesc(e.FirstChild()), e.Len(), canonJSON(attrs), e.HasAttribute("id"), len(e.QuerySelectorAll("span"))))
	}
	var sl []string
	for _, v := range x.Slice(1, 3) {
		sl = append(sl, xmlDesc(v))
	}
	var q any
	if el := x.QuerySelector("span"); el != nil {
		q = el
	}
	return fmt.Sprintf("%s | %d %s | %s | %s %s %d", strings.Join(walk, " "), len(x.QuerySelectorAll("P")), xmlDesc(q),
		strings.Join(elems, " "), xmlDesc(x.FirstChild()), strings.Join(sl, ","), len(x.ToArray()))
}
