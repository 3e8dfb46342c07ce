package lib0

import "testing"

func TestUTF16Index(t *testing.T) {
	s := "aé😀b"
	for _, tc := range []struct {
		off, i int
		ok     bool
	}{{0, 0, true}, {1, 1, true}, {2, 3, true}, {3, 0, false}, {4, 7, true}, {5, 8, true}, {6, 8, false}} {
		i, ok := UTF16Index(s, tc.off)
		if ok != tc.ok || (ok && i != tc.i) {
			t.Errorf("UTF16Index(%q, %d) = %d, %v; want %d, %v", s, tc.off, i, ok, tc.i, tc.ok)
		}
	}
	if _, ok := UTF16Index("a\xffb", 2); ok {
		t.Error("ill-formed UTF-8 reported as a boundary")
	}
}
