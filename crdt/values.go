package crdt

import (
	"fmt"
	"math"

	"github.com/maxbooster/maxbooster/crdt/lib0"
)

// checkAny reports whether v is a value lib0 can encode (see package
// lib0 for the accepted Go types).
func checkAny(v any) error {
	e := lib0.NewEncoder()
	if err := e.WriteAny(v); err != nil {
		return fmt.Errorf("%w: %T: %w", ErrInvalidValue, v, err)
	}
	return nil
}

// normalizeAny converts a value to the form a decoder would produce, so
// that local reads and remote reads agree: numbers become float64, maps
// and *Object become Object, typed slices become []any.
func normalizeAny(v any) any {
	switch x := v.(type) {
	case nil, bool, string, float64, lib0.UndefinedValue, lib0.BigInt, []byte:
		return v
	case float32:
		return float64(x)
	case int:
		return float64(x)
	case int8:
		return float64(x)
	case int16:
		return float64(x)
	case int32:
		return float64(x)
	case int64:
		return float64(x)
	case uint:
		return float64(x)
	case uint8:
		return float64(x)
	case uint16:
		return float64(x)
	case uint32:
		return float64(x)
	case uint64:
		return float64(x)
	case uintptr:
		return float64(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeAny(e)
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out
	case []float64:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out
	case []int:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = float64(e)
		}
		return out
	case lib0.Object:
		out := make(lib0.Object, 0, len(x))
		for _, f := range x {
			out.Set(f.Key, normalizeAny(f.Value))
		}
		return out
	case *lib0.Object:
		if x == nil {
			return nil
		}
		return normalizeAny(*x)
	case map[string]any:
		o := lib0.MapToObject(x)
		for i := range o {
			o[i].Value = normalizeAny(o[i].Value)
		}
		return o
	}
	return v
}

func isUndefined(v any) bool {
	_, ok := v.(lib0.UndefinedValue)
	return ok
}

// primEqual is JavaScript === on primitives; false for objects.
func primEqual(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case float64:
		y, ok := toFloat(b)
		return ok && x == y && !math.IsNaN(x)
	case lib0.UndefinedValue:
		return isUndefined(b)
	case lib0.BigInt:
		y, ok := b.(lib0.BigInt)
		return ok && x == y
	}
	if xf, ok := toFloat(a); ok {
		y, ok := toFloat(b)
		return ok && xf == y
	}
	return false
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case uint32:
		return float64(x), true
	}
	return 0, false
}

func sameKind(a, b any) bool {
	_, af := toFloat(a)
	_, bf := toFloat(b)
	if af || bf {
		return af && bf
	}
	return fmt.Sprintf("%T", a) == fmt.Sprintf("%T", b)
}

// anyEqualFlat is yjs equalAttrs: primitives by value, objects and arrays
// by flat comparison of their entries.
func anyEqualFlat(a, b any) bool {
	if primEqual(a, b) {
		return true
	}
	switch x := normalizeObj(a).(type) {
	case lib0.Object:
		y, ok := normalizeObj(b).(lib0.Object)
		if !ok || len(x) != len(y) {
			return false
		}
		for _, f := range x {
			v, ok := y.Get(f.Key)
			if !ok || !primEqual(f.Value, v) {
				if !ok || !isUndefined(f.Value) || !isUndefined(v) {
					return false
				}
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !primEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return false
}

func normalizeObj(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return lib0.MapToObject(x)
	case *lib0.Object:
		if x != nil {
			return *x
		}
	}
	return v
}

// typeToJSON returns the JSON value of a shared type, as yjs toJSON.
func typeToJSON(b *branch) any {
	switch b.ref {
	case typeText:
		return b.owner.(*Text).String()
	case typeArray:
		return b.owner.(*Array).ToJSON()
	case typeMap:
		return b.owner.(*Map).ToJSON()
	case typeXMLHook: // a YMap: yjs's YXmlHook inherits its toJSON
		return b.owner.(*XmlHook).ToJSON()
	case typeXMLFragment, typeXMLElement, typeXMLText:
		return xmlString(b)
	}
	return nil
}

// valueToJSON converts an element value for toJSON: nested types become
// their JSON.
func valueToJSON(v any) any {
	if st, ok := v.(SharedType); ok {
		return typeToJSON(st.shared())
	}
	return v
}
