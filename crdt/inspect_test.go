package crdt

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDecodeUpdateFixtures checks that the inspection decoder accepts every
// update yjs recorded, in both formats, with the same struct-count limits
// as apply (compact v2 updates describe up to eight structs per byte).
func TestDecodeUpdateFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(fixturesDir, "*.update"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no fixtures in %s", fixturesDir)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			v2 := strings.HasSuffix(file, ".v2.update")
			dec := DecodeUpdate
			if v2 {
				dec = DecodeUpdateV2
			}
			if _, err := dec(b); err != nil {
				t.Fatalf("decoding (v2=%v): %v", v2, err)
			}
		})
	}
}
