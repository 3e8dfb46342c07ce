package crdt

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// Fuzz targets for the decoders, apply and merge: no panic, no hang, and
// memory bounded by the input's size. Seeded from the yjs fixtures; plain
// `go test` runs the seeds, `make fuzz` explores.

// fixtureUpdates returns the recorded state updates of one format.
func fixtureUpdates(f *testing.F, v2 bool) [][]byte {
	f.Helper()
	files, err := filepath.Glob(filepath.Join(fixturesDir, "*.update"))
	if err != nil {
		f.Fatal(err)
	}
	var seeds [][]byte
	for _, file := range files {
		if strings.HasSuffix(file, ".v2.update") != v2 {
			continue
		}
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	if len(seeds) < 20 {
		f.Fatalf("only %d seed updates in %s", len(seeds), fixturesDir)
	}
	return seeds
}

// addFixtureSeeds adds the recorded updates of one format as seeds.
func addFixtureSeeds(f *testing.F, v2 bool) {
	f.Helper()
	for _, s := range fixtureUpdates(f, v2) {
		f.Add(s)
	}
}

// allocBound is the memory an operation on input may allocate: linear in
// the input, plus what the 2^20 structs a compact v2 update may describe
// cost while they stream through (lazyStructsFloorV2).
func allocBound(input int) uint64 { return 1<<20 + 4096*uint64(input) + 256*lazyStructsFloorV2 }

// checkAllocs fails if f allocates more than allocBound(n) bytes.
func checkAllocs(t *testing.T, n int, what string, f func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > allocBound(n) {
		t.Errorf("%s allocated %d bytes for %d bytes of input", what, got, n)
	}
}

// fuzzDecode checks that decoding and re-encoding an update never panics,
// and that whatever decodes converts to the other format and back to the
// same bytes as a re-encoding in its own format.
func fuzzDecode(t *testing.T, u []byte, v2 bool) {
	var same, other []byte
	var err1, err2 error
	checkAllocs(t, len(u), "decode", func() {
		same, err1 = convertUpdateFormat(u, v2, v2)
		other, err2 = convertUpdateFormat(u, v2, !v2)
	})
	if (err1 == nil) != (err2 == nil) {
		t.Fatalf("re-encoding: %v; converting: %v", err1, err2)
	}
	if err1 != nil {
		return
	}
	back, err := convertUpdateFormat(other, !v2, v2)
	if err != nil {
		t.Fatalf("converting back: %v", err)
	}
	if !bytes.Equal(back, same) {
		t.Fatalf("round trip through the other format:\n got %x\nwant %x", back, same)
	}
	if _, err := EncodeStateVectorFromUpdate(map[bool][]byte{false: same, true: other}[false]); err != nil && !v2 {
		t.Fatalf("state vector of a decodable update: %v", err)
	}
}

func FuzzDecodeUpdate(f *testing.F) {
	addFixtureSeeds(f, false)
	f.Fuzz(func(t *testing.T, u []byte) { fuzzDecode(t, u, false) })
}

func FuzzDecodeUpdateV2(f *testing.F) {
	addFixtureSeeds(f, true)
	f.Fuzz(func(t *testing.T, u []byte) { fuzzDecode(t, u, true) })
}

// FuzzApplyUpdate applies an update (v1 or v2 by the first byte of the
// input) to a fresh document: it must not panic, and a document that took
// it must encode its state, which a fresh document must accept.
func FuzzApplyUpdate(f *testing.F) {
	for _, s := range fixtureUpdates(f, false) {
		f.Add(append([]byte{0}, s...))
	}
	for _, s := range fixtureUpdates(f, true) {
		f.Add(append([]byte{1}, s...))
	}
	f.Fuzz(fuzzApply)
}

func fuzzApply(t *testing.T, in []byte) {
	{
		if len(in) == 0 {
			return
		}
		v2 := in[0] == 1
		u := in[1:]
		d := NewDoc(&DocOptions{ClientID: receiverClient})
		var err error
		checkAllocs(t, len(u), "apply", func() {
			if v2 {
				err = ApplyUpdateV2(d, u, nil)
			} else {
				err = ApplyUpdate(d, u, nil)
			}
		})
		if err != nil {
			return
		}
		for _, v2 := range []bool{false, true} {
			var state []byte
			var err error
			if v2 {
				state, err = EncodeStateAsUpdateV2(d, nil)
			} else {
				state, err = EncodeStateAsUpdate(d, nil)
			}
			if err != nil {
				t.Fatalf("encoding the state (v2=%v): %v", v2, err)
			}
			d2 := NewDoc(&DocOptions{ClientID: receiverClient})
			if v2 {
				err = ApplyUpdateV2(d2, state, nil)
			} else {
				err = ApplyUpdate(d2, state, nil)
			}
			if err != nil {
				t.Fatalf("applying the encoded state (v2=%v): %v", v2, err)
			}
			if !bytes.Equal(EncodeStateVector(d2), EncodeStateVector(d)) {
				t.Fatalf("state vector after reloading (v2=%v): %x, want %x", v2, EncodeStateVector(d2), EncodeStateVector(d))
			}
		}
	}
}

// TestFuzzPendingFindings runs the fuzz findings in
// testdata/fuzz-pending that are not fixed yet (they would fail plain go
// test as seed corpus). MB_TEST_YJS_PENDING=1 runs them; a fixed finding
// moves to testdata/fuzz/<target>/.
func TestFuzzPendingFindings(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz-pending", "FuzzApplyUpdate", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("MB_TEST_YJS_PENDING") != "1" {
		t.Skipf("%d known fuzz findings in testdata/fuzz-pending; MB_TEST_YJS_PENDING=1 runs them", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(data)), "\n")
			if len(lines) != 2 || !strings.HasPrefix(lines[1], "[]byte(") {
				t.Fatalf("not a go fuzz corpus file")
			}
			in, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
			if err != nil {
				t.Fatal(err)
			}
			fuzzApply(t, []byte(in))
		})
	}
}

// FuzzMergeUpdates merges two v1 updates and diffs the result.
func FuzzMergeUpdates(f *testing.F) {
	seeds := fixtureUpdates(f, false)
	for i := 1; i < len(seeds); i++ {
		f.Add(seeds[i-1], seeds[i])
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var merged []byte
		var err error
		checkAllocs(t, len(a)+len(b), "merge", func() {
			merged, err = MergeUpdates([][]byte{a, b})
		})
		if err != nil {
			return
		}
		// b as a state vector: usually malformed, which must be an error.
		if _, err := DiffUpdate(merged, b); err != nil && !errors.Is(err, ErrMalformedUpdate) {
			t.Fatalf("diff against bytes as a state vector: %v, want ErrMalformedUpdate", err)
		}
		sv, err := EncodeStateVectorFromUpdate(a)
		if err != nil {
			return
		}
		if _, err := DiffUpdate(merged, sv); err != nil {
			t.Fatalf("diff of a merged update: %v", err)
		}
	})
}
