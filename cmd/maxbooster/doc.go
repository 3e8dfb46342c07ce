package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/maxbooster/maxbooster/crdt"
	"github.com/maxbooster/maxbooster/crdt/lib0"
)

// maxDocFile bounds the size of an update file the doc commands read.
const maxDocFile = 512 << 20

// runDoc implements `maxbooster doc json|dump|merge|diff`, tools for
// looking into stored Yjs documents (updates in the v1 or v2 format).
func runDoc(_ context.Context, c *cli, args []string) int {
	usage := func(w io.Writer) {
		fmt.Fprint(w, `Usage:
  maxbooster doc json [--v2] [--root NAME:KIND]... FILE   print the document's JSON, one key per root type
  maxbooster doc dump [--v2] FILE                         print the update's structs and delete set
  maxbooster doc merge [--v2] FILE...                     write the merged update to stdout
  maxbooster doc diff [--v2] FILE STATEVECTOR             write what a peer with STATEVECTOR lacks to stdout

KIND is text, array, map or xml; without --root the kind of each root is
inferred from its content. FILE may be - for stdin. STATEVECTOR is a file
holding an encoded state vector.
`)
	}
	if len(args) == 0 {
		usage(c.stderr)
		return exitUsage
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "json":
		return docJSON(c, args)
	case "dump":
		return docDump(c, args)
	case "merge":
		return docMerge(c, args)
	case "diff":
		return docDiff(c, args)
	case "help", "-h", "--help":
		usage(c.stdout)
		return exitOK
	}
	fmt.Fprintf(c.stderr, "maxbooster doc: unknown subcommand %q\n", sub)
	usage(c.stderr)
	return exitUsage
}

// rootFlags collects --root NAME:KIND flags.
type rootFlags []rootHint

type rootHint struct {
	name string
	kind crdt.RootKind
}

func (r *rootFlags) String() string { return "" }

func (r *rootFlags) Set(s string) error {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 {
		return fmt.Errorf("want NAME:KIND, got %q", s)
	}
	var k crdt.RootKind
	switch s[i+1:] {
	case "text":
		k = crdt.KindText
	case "array":
		k = crdt.KindArray
	case "map":
		k = crdt.KindMap
	case "xml":
		k = crdt.KindXmlFragment
	default:
		return fmt.Errorf("unknown kind %q (want text, array, map or xml)", s[i+1:])
	}
	*r = append(*r, rootHint{s[:i], k})
	return nil
}

func docFlags(c *cli, name, synopsis string) (*flag.FlagSet, *bool) {
	fs := flag.NewFlagSet("doc "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	v2 := fs.Bool("v2", false, "the update files use the v2 format (output too)")
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "Usage: maxbooster doc %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs, v2
}

// parseInterleaved parses flags that may come before or after the
// positional arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, int) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitOK
			}
			return nil, exitUsage
		}
		if fs.NArg() == 0 {
			return pos, -1
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func readDocFile(c *cli, name string) ([]byte, error) {
	var r io.Reader
	if name == "-" {
		r = os.Stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxDocFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxDocFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, maxDocFile)
	}
	return b, nil
}

func docJSON(c *cli, args []string) int {
	fs, v2 := docFlags(c, "json", "[--v2] [--root NAME:KIND]... FILE")
	var roots rootFlags
	fs.Var(&roots, "root", "the kind of a root type, as NAME:KIND (repeatable)")
	files, code := parseInterleaved(fs, args)
	if code >= 0 {
		return code
	}
	if len(files) != 1 {
		fs.Usage()
		return exitUsage
	}
	update, err := readDocFile(c, files[0])
	if err != nil {
		fmt.Fprintf(c.stderr, "maxbooster doc json: %v\n", err)
		return exitFailed
	}
	d := crdt.NewDoc(nil)
	apply := crdt.ApplyUpdate
	if *v2 {
		apply = crdt.ApplyUpdateV2
	}
	if err := apply(d, update, nil); err != nil {
		fmt.Fprintf(c.stderr, "maxbooster doc json: %s: %v\n", files[0], err)
		return exitFailed
	}
	for _, h := range roots {
		if _, err := d.Root(h.name, h.kind); err != nil {
			fmt.Fprintf(c.stderr, "maxbooster doc json: --root %s: %v\n", h.name, err)
			return exitUsage
		}
	}
	out := lib0.Object{}
	for _, r := range d.Roots() {
		kind := d.GuessKind(r.Name)
		if kind == crdt.KindUnknown {
			continue
		}
		t, err := d.Root(r.Name, kind)
		if err != nil {
			fmt.Fprintf(c.stderr, "maxbooster doc json: %s: %v\n", r.Name, err)
			return exitFailed
		}
		out.Set(r.Name, crdt.JSON(t))
	}
	s, err := lib0.StringifyJSON(out)
	if err != nil {
		fmt.Fprintf(c.stderr, "maxbooster doc json: %v\n", err)
		return exitFailed
	}
	fmt.Fprintln(c.stdout, s)
	if d.HasPending() {
		fmt.Fprintln(c.stderr, "maxbooster doc json: note: the update holds structs or deletions waiting for missing updates")
	}
	return exitOK
}

func docDump(c *cli, args []string) int {
	fs, v2 := docFlags(c, "dump", "[--v2] FILE")
	asJSON := fs.Bool("json", false, "print the structs and delete set as JSON")
	files, code := parseInterleaved(fs, args)
	if code >= 0 {
		return code
	}
	if len(files) != 1 {
		fs.Usage()
		return exitUsage
	}
	update, err := readDocFile(c, files[0])
	if err != nil {
		fmt.Fprintf(c.stderr, "maxbooster doc dump: %v\n", err)
		return exitFailed
	}
	decode := crdt.DecodeUpdate
	if *v2 {
		decode = crdt.DecodeUpdateV2
	}
	u, err := decode(update)
	if err != nil {
		fmt.Fprintf(c.stderr, "maxbooster doc dump: %s: %v\n", files[0], err)
		return exitFailed
	}
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(u); err != nil {
			fmt.Fprintf(c.stderr, "maxbooster doc dump: %v\n", err)
			return exitFailed
		}
		return exitOK
	}
	fmt.Fprintf(c.stdout, "structs: %d\n", len(u.Structs))
	for _, s := range u.Structs {
		line := fmt.Sprintf("  %d:%d len %d %s", s.ID.Client, s.ID.Clock, s.Len, s.Kind)
		if s.Origin != nil {
			line += fmt.Sprintf(" origin %d:%d", s.Origin.Client, s.Origin.Clock)
		}
		if s.RightOrigin != nil {
			line += fmt.Sprintf(" right %d:%d", s.RightOrigin.Client, s.RightOrigin.Clock)
		}
		if s.ParentRoot != nil {
			line += fmt.Sprintf(" parent %q", *s.ParentRoot)
		}
		if s.ParentID != nil {
			line += fmt.Sprintf(" parent %d:%d", s.ParentID.Client, s.ParentID.Clock)
		}
		if s.ParentSub != nil {
			line += fmt.Sprintf(" key %q", *s.ParentSub)
		}
		if s.Content != nil {
			if js, err := lib0.StringifyJSON(s.Content); err == nil {
				line += " " + js
			} else {
				line += fmt.Sprintf(" %v", s.Content)
			}
		}
		fmt.Fprintln(c.stdout, line)
	}
	fmt.Fprintf(c.stdout, "delete set: %d ranges\n", len(u.DeleteSet))
	for _, r := range u.DeleteSet {
		fmt.Fprintf(c.stdout, "  %d:%d len %d\n", r.Client, r.Clock, r.Len)
	}
	return exitOK
}

func docMerge(c *cli, args []string) int {
	fs, v2 := docFlags(c, "merge", "[--v2] FILE...")
	files, code := parseInterleaved(fs, args)
	if code >= 0 {
		return code
	}
	if len(files) == 0 {
		fs.Usage()
		return exitUsage
	}
	var updates [][]byte
	for _, f := range files {
		u, err := readDocFile(c, f)
		if err != nil {
			fmt.Fprintf(c.stderr, "maxbooster doc merge: %v\n", err)
			return exitFailed
		}
		updates = append(updates, u)
	}
	merge := crdt.MergeUpdates
	if *v2 {
		merge = crdt.MergeUpdatesV2
	}
	out, err := merge(updates)
	if err != nil {
		fmt.Fprintf(c.stderr, "maxbooster doc merge: %v\n", err)
		return exitFailed
	}
	if _, err := c.stdout.Write(out); err != nil {
		fmt.Fprintf(c.stderr, "maxbooster doc merge: %v\n", err)
		return exitFailed
	}
	return exitOK
}

func docDiff(c *cli, args []string) int {
	fs, v2 := docFlags(c, "diff", "[--v2] FILE STATEVECTOR")
	files, code := parseInterleaved(fs, args)
	if code >= 0 {
		return code
	}
	if len(files) != 2 {
		fs.Usage()
		return exitUsage
	}
	update, err := readDocFile(c, files[0])
	if err != nil {
		fmt.Fprintf(c.stderr, "maxbooster doc diff: %v\n", err)
		return exitFailed
	}
	sv, err := readDocFile(c, files[1])
	if err != nil {
		fmt.Fprintf(c.stderr, "maxbooster doc diff: %v\n", err)
		return exitFailed
	}
	if _, err := crdt.DecodeStateVector(sv); err != nil {
		// Accept a hex-encoded state vector too (as printed by tools).
		if s := strings.TrimSpace(string(sv)); isHex(s) {
			if b, err := hex.DecodeString(s); err == nil {
				sv = b
			}
		}
	}
	diff := crdt.DiffUpdate
	if *v2 {
		diff = crdt.DiffUpdateV2
	}
	out, err := diff(update, sv)
	if err != nil {
		fmt.Fprintf(c.stderr, "maxbooster doc diff: %v\n", err)
		return exitFailed
	}
	if _, err := c.stdout.Write(out); err != nil {
		fmt.Fprintf(c.stderr, "maxbooster doc diff: %v\n", err)
		return exitFailed
	}
	return exitOK
}

func isHex(s string) bool {
	if len(s)%2 != 0 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}
