package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maxbooster/maxbooster/crdt"
)

func runDocCmd(tb testing.TB, args ...string) (string, string, int) {
	tb.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), func() {}, append([]string{"doc"}, args...), &out, &errOut, func(string) string { return "" })
	return out.String(), errOut.String(), code
}

func writeDocFile(tb testing.TB, dir, name string, b []byte) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestDocCommands(t *testing.T) {
	dir := t.TempDir()
	a := crdt.NewDoc(&crdt.DocOptions{ClientID: 7})
	_ = a.GetText("t").Insert(0, "hi")
	_ = a.GetMap("m").Set("b", 1)
	_ = a.GetMap("m").Set("a", []any{1, "x"})
	full, err := crdt.EncodeStateAsUpdate(a, nil)
	if err != nil {
		t.Fatal(err)
	}
	fullV2, _ := crdt.EncodeStateAsUpdateV2(a, nil)
	fullPath := writeDocFile(t, dir, "full.bin", full)
	v2Path := writeDocFile(t, dir, "full2.bin", fullV2)

	const wantJSON = `{"t":"hi","m":{"b":1,"a":[1,"x"]}}` + "\n"
	for _, args := range [][]string{{"json", fullPath}, {"json", "--v2", v2Path}, {"json", fullPath, "--root", "t:text"}} {
		out, errOut, code := runDocCmd(t, args...)
		if code != exitOK || out != wantJSON {
			t.Errorf("doc %v: code %d out %q err %q, want %q", args, code, out, errOut, wantJSON)
		}
	}
	// A hint wins over inference, as doc.getMap('t') would in yjs.
	if out, _, code := runDocCmd(t, "json", fullPath, "--root", "t:map"); code != exitOK || !strings.HasPrefix(out, `{"t":{},`) {
		t.Errorf("--root t:map: code %d out %q", code, out)
	}
	if _, _, code := runDocCmd(t, "json", fullPath, "--root", "t:map", "--root", "t:text"); code != exitUsage {
		t.Errorf("conflicting --root: code %d, want %d", code, exitUsage)
	}
	if _, _, code := runDocCmd(t, "json", writeDocFile(t, dir, "bad.bin", []byte{1, 2, 3})); code != exitFailed {
		t.Errorf("malformed update: code %d, want %d", code, exitFailed)
	}

	out, _, code := runDocCmd(t, "dump", fullPath)
	if code != exitOK || !strings.Contains(out, `7:0 len 2 String parent "t" "hi"`) || !strings.Contains(out, `key "a" [[1,"x"]]`) {
		t.Errorf("dump: code %d\n%s", code, out)
	}

	// Split the history in two updates; merge must give the full state and
	// diff against the first part must give what the second part added.
	b := crdt.NewDoc(&crdt.DocOptions{ClientID: 7})
	_ = b.GetText("t").Insert(0, "hi")
	part1, _ := crdt.EncodeStateAsUpdate(b, nil)
	sv1 := crdt.EncodeStateVector(b)
	part2, _ := crdt.EncodeStateAsUpdate(a, sv1)
	p1 := writeDocFile(t, dir, "p1.bin", part1)
	p2 := writeDocFile(t, dir, "p2.bin", part2)
	out, errOut, code := runDocCmd(t, "merge", p1, p2)
	if code != exitOK || out != string(full) {
		t.Errorf("merge: code %d err %q\n got %x\nwant %x", code, errOut, out, full)
	}
	out, errOut, code = runDocCmd(t, "diff", fullPath, writeDocFile(t, dir, "sv.bin", sv1))
	if code != exitOK || out != string(part2) {
		t.Errorf("diff: code %d err %q\n got %x\nwant %x", code, errOut, out, part2)
	}
	if _, _, code := runDocCmd(t, "nope"); code != exitUsage {
		t.Errorf("unknown subcommand: code %d", code)
	}
}
