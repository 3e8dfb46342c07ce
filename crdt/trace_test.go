package crdt

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/maxbooster/maxbooster/crdt/lib0"
)

type traceStep struct {
	Op      string          `json:"op"`
	Doc     int             `json:"doc"`
	Path    []any           `json:"path"`
	Idx     int             `json:"idx"`
	Str     string          `json:"str"`
	Len     int             `json:"len"`
	Vals    []any           `json:"vals"`
	Kind    string          `json:"kind"`
	Key     string          `json:"key"`
	Val     json.RawMessage `json:"val"`
	From    int             `json:"from"`
	To      int             `json:"to"`
	Update  string          `json:"update"`
	States  []string        `json:"states"`
	States2 []string        `json:"states2"`
	Local   *string         `json:"local"`
	Attrs   json.RawMessage `json:"attrs"`
	Events  json.RawMessage `json:"events"`
	V2      bool            `json:"v2"`
}

type traceFile struct {
	Clients []uint64    `json:"clients"`
	GC      bool        `json:"gc"`
	Steps   []traceStep `json:"steps"`
	Final   []struct {
		V1, V2, SV string
		JSON       map[string]any
	} `json:"final"`
}

func resolvePath(d *Doc, path []any) SharedType {
	var cur SharedType
	switch path[0] {
	case "t":
		cur = d.GetText("t")
	case "a":
		cur = d.GetArray("a")
	case "m":
		cur = d.GetMap("m")
	}
	for _, p := range path[1:] {
		switch x := p.(type) {
		case float64:
			cur = cur.(*Array).Get(int(x)).(SharedType)
		case string:
			v, _ := cur.(*Map).Get(x)
			cur = v.(SharedType)
		}
	}
	return cur
}

func prelim(kind string) SharedType {
	switch kind {
	case "text":
		return NewText()
	case "map":
		return NewMap()
	case "array":
		return NewArray()
	}
	return nil
}

// TestYjsTraces replays histories recorded with yjs (testdata/traces,
// made by gen.mjs there): every local edit must produce yjs's update bytes,
// every observer event yjs's delta and keys, and every peer yjs's v1 and
// v2 state. MB_TRACES_DIR names a directory of further uncompressed
// traces (*.json) to replay.
func TestYjsTraces(t *testing.T) {
	files, _ := filepath.Glob("testdata/traces/*.json.gz")
	if len(files) == 0 {
		t.Fatal("no traces in testdata/traces")
	}
	if dir := os.Getenv("MB_TRACES_DIR"); dir != "" {
		more, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		files = append(files, more...)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b := readTrace(t, f)
			var tr traceFile
			if err := json.Unmarshal(b, &tr); err != nil {
				t.Fatal(err)
			}
			docs := make([]*Doc, len(tr.Clients))
			var lastLocal []byte
			pendingSteps := 0
			defer func() {
				if pendingSteps == 0 && len(tr.Steps) > 100 {
					t.Logf("no peer ever held pending structs")
				}
			}()
			hasEvents := len(tr.Steps) > 0 && len(tr.Steps[0].Events) > 0
			evlog := make([][]any, len(tr.Clients))
			for i, c := range tr.Clients {
				docs[i] = NewDoc(&DocOptions{ClientID: c, DisableGC: !tr.GC})
				if hasEvents {
					i := i
					rec := func(root string) func([]Event, *Transaction) {
						return func(evs []Event, _ *Transaction) {
							var out []any
							for _, e := range evs {
								var delta []any
								for _, op := range e.Delta() {
									m := map[string]any{}
									if op.Insert != nil {
										m["insert"] = toPlain(op.Insert)
									}
									if op.Retain != 0 {
										m["retain"] = op.Retain
									}
									if op.Delete != 0 {
										m["delete"] = op.Delete
									}
									if op.Attributes != nil {
										m["attributes"] = toPlain(op.Attributes)
									}
									delta = append(delta, m)
								}
								var keys [][]any
								for k, kc := range e.Keys() {
									keys = append(keys, []any{k, string(kc.Action), toPlain(kc.OldValue)})
								}
								sort.Slice(keys, func(a, b int) bool { return keys[a][0].(string) < keys[b][0].(string) })
								out = append(out, map[string]any{"path": e.Path(), "delta": delta, "keys": keys})
							}
							evlog[i] = append(evlog[i], map[string]any{"root": root, "evs": out})
						}
					}
					docs[i].GetText("t").ObserveDeep(rec("t"))
					docs[i].GetArray("a").ObserveDeep(rec("a"))
					docs[i].GetMap("m").ObserveDeep(rec("m"))
				}
				docs[i].OnUpdate(func(u []byte, origin any, _ *Transaction) {
					if origin == nil {
						lastLocal = u
					}
				})
			}
			for si, st := range tr.Steps {
				var err error
				lastLocal = nil
				switch st.Op {
				case "deliver":
					u, _ := hex.DecodeString(st.Update)
					if st.V2 {
						err = ApplyUpdateV2(docs[st.To], u, "remote")
					} else {
						err = ApplyUpdate(docs[st.To], u, "remote")
					}
				case "sync":
					var upd []byte
					upd, err = EncodeStateAsUpdate(docs[st.From], EncodeStateVector(docs[st.To]))
					if err == nil && hex.EncodeToString(upd) != st.Update {
						t.Fatalf("step %d sync %d→%d update\n got %x\nwant %s", si, st.From, st.To, upd, st.Update)
					}
					want, _ := hex.DecodeString(st.Update)
					err = ApplyUpdate(docs[st.To], want, "remote")
				default:
					d := docs[st.Doc]
					d.GetText("t")
					d.GetArray("a")
					d.GetMap("m")
					typ := resolvePath(d, st.Path)
					switch st.Op {
					case "tins":
						err = typ.(*Text).Insert(st.Idx, st.Str)
					case "tfmt", "tinsa":
						a, perr := lib0.ParseJSON(string(st.Attrs))
						if perr != nil {
							t.Fatal(perr)
						}
						if st.Op == "tfmt" {
							err = typ.(*Text).Format(st.Idx, st.Len, a.(lib0.Object))
						} else {
							err = typ.(*Text).InsertWithAttributes(st.Idx, st.Str, a.(lib0.Object))
						}
					case "temb":
						v, perr := lib0.ParseJSON(string(st.Val))
						if perr != nil {
							t.Fatal(perr)
						}
						err = typ.(*Text).InsertEmbed(st.Idx, v, nil)
					case "tdel":
						err = typ.(*Text).Delete(st.Idx, st.Len)
					case "ains":
						if st.Kind != "" {
							err = typ.(*Array).Insert(st.Idx, prelim(st.Kind))
						} else {
							err = typ.(*Array).Insert(st.Idx, st.Vals...)
						}
					case "adel":
						err = typ.(*Array).Delete(st.Idx, st.Len)
					case "mset":
						if st.Kind != "" {
							err = typ.(*Map).Set(st.Key, prelim(st.Kind))
						} else {
							v, perr := lib0.ParseJSON(string(st.Val))
							if perr != nil {
								t.Fatal(perr)
							}
							err = typ.(*Map).Set(st.Key, v)
						}
					case "mdel":
						typ.(*Map).Delete(st.Key)
					}
				}
				if err != nil {
					t.Fatalf("step %d %+v: %v", si, st, err)
				}
				if hasEvents {
					gotB, _ := json.Marshal(evlog)
					var got, want any
					_ = json.Unmarshal(gotB, &got)
					_ = json.Unmarshal(st.Events, &want)
					if !reflect.DeepEqual(normEmpty(got), normEmpty(want)) {
						t.Fatalf("step %d (%s) events\n got %s\nwant %s", si, st.Op, gotB, st.Events)
					}
					for i := range evlog {
						evlog[i] = nil
					}
				}
				if st.Op != "sync" && st.Op != "deliver" {
					want := ""
					if st.Local != nil {
						want = *st.Local
					}
					if hex.EncodeToString(lastLocal) != want {
						t.Fatalf("step %d (%s) local update\n got %x\nwant %s", si, st.Op, lastLocal, want)
					}
				}
				for _, d := range docs {
					if d.HasPending() {
						pendingSteps++
					}
				}
				for i, d := range docs {
					if len(st.States) == 0 {
						break
					}
					got, err := EncodeStateAsUpdate(d, nil)
					if err != nil {
						t.Fatalf("step %d: %v", si, err)
					}
					if hex.EncodeToString(got) != st.States[i] {
						t.Fatalf("step %d (%s) doc %d state\n got %x\nwant %s", si, st.Op, i, got, st.States[i])
					}
					got2, err := EncodeStateAsUpdateV2(d, nil)
					if err != nil {
						t.Fatalf("step %d: %v", si, err)
					}
					if hex.EncodeToString(got2) != st.States2[i] {
						t.Fatalf("step %d (%s) doc %d state v2\n got %x\nwant %s", si, st.Op, i, got2, st.States2[i])
					}
				}
			}
			for i, d := range docs {
				v2, err := EncodeStateAsUpdateV2(d, nil)
				if err != nil {
					t.Fatal(err)
				}
				if hex.EncodeToString(v2) != tr.Final[i].V2 {
					t.Fatalf("doc %d v2\n got %x\nwant %s", i, v2, tr.Final[i].V2)
				}
			}
		})
	}
}

func toPlain(v any) any {
	switch x := v.(type) {
	case lib0.Object:
		m := map[string]any{}
		for _, f := range x {
			m[f.Key] = toPlain(f.Value)
		}
		return m
	case map[string]any:
		m := map[string]any{}
		for k, e := range x {
			m[k] = toPlain(e)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = toPlain(e)
		}
		return out
	case []byte:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = float64(e)
		}
		return out
	case SharedType:
		return toPlain(typeToJSON(x.shared()))
	case lib0.UndefinedValue:
		return nil
	}
	return v
}

// normEmpty treats null and empty lists alike (Go nil slices marshal as null).
func normEmpty(v any) any {
	switch x := v.(type) {
	case nil:
		return []any{}
	case []any:
		if len(x) == 0 {
			return []any{}
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normEmpty(e)
		}
		return out
	case map[string]any:
		m := map[string]any{}
		for k, e := range x {
			m[k] = normEmpty(e)
		}
		return m
	}
	return v
}

func readTrace(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	if filepath.Ext(name) != ".gz" {
		return b
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}
