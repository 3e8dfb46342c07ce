// Package openapi embeds the OpenAPI 3.1 document that describes every
// route of the server (openapi.json, served at /api/v1/openapi.json) and
// checks responses against it.
//
// Adding a route: add its path item to openapi.json, or, for a module,
// to its own fragment modules/<module>.json ({"tags": [...], "paths":
// {...}, "components": {"schemas": {...}}}), which is merged into the
// document at init; a path, tag or schema defined twice is an error. Reuse
// #/components/responses/Problem as the "default" response and put body
// shapes under #/components/schemas. The conformance test in this
// package fails for any route registered on the server mux that the
// document lacks; module tests can wrap their handlers in
// openapitest.Wrap so that every response they see is checked.
package openapi

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed openapi.json
var base []byte

//go:embed modules/*.json
var modules embed.FS

// document is base with every module fragment merged in.
var document = mustMerge(base, modules)

// mustMerge merges the fragments under modules/ into the base document.
// A fragment may add tags, paths and component schemas; a name the
// document already has is a programming error and panics at init (every
// test of this package, and every server start, would fail).
func mustMerge(base []byte, fsys fs.FS) []byte {
	var doc map[string]any
	if err := json.Unmarshal(base, &doc); err != nil {
		panic(fmt.Sprintf("openapi: parse openapi.json: %v", err))
	}
	paths, _ := doc["paths"].(map[string]any)
	components, _ := doc["components"].(map[string]any)
	schemas, _ := components["schemas"].(map[string]any)
	tags, _ := doc["tags"].([]any)
	entries, err := fs.Glob(fsys, "modules/*.json")
	if err != nil {
		panic(err)
	}
	sort.Strings(entries)
	for _, name := range entries {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			panic(err)
		}
		var frag struct {
			Tags       []any          `json:"tags"`
			Paths      map[string]any `json:"paths"`
			Components struct {
				Schemas map[string]any `json:"schemas"`
			} `json:"components"`
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&frag); err != nil {
			panic(fmt.Sprintf("openapi: %s: %v", name, err))
		}
		for p, item := range frag.Paths {
			if _, dup := paths[p]; dup {
				panic(fmt.Sprintf("openapi: %s: path %s is defined twice", name, p))
			}
			paths[p] = item
		}
		for s, schema := range frag.Components.Schemas {
			if _, dup := schemas[s]; dup {
				panic(fmt.Sprintf("openapi: %s: schema %s is defined twice", name, s))
			}
			schemas[s] = schema
		}
		for _, t := range frag.Tags {
			tn, _ := t.(map[string]any)["name"].(string)
			for _, have := range tags {
				if hn, _ := have.(map[string]any)["name"].(string); hn == tn {
					panic(fmt.Sprintf("openapi: %s: tag %s is defined twice", name, tn))
				}
			}
			tags = append(tags, t)
		}
	}
	doc["tags"] = tags
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic(err)
	}
	return out
}

// Path is where the server serves the document.
const Path = "/api/v1/openapi.json"

// Document returns a copy of the OpenAPI document.
func Document() []byte { return bytes.Clone(document) }

// Handler serves the document.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(document)
	})
}

// ErrUndocumented is returned for a method and path the document lacks.
var ErrUndocumented = errors.New("openapi: operation not in the document")

// Validator checks responses against the document.
type Validator struct {
	ops      []operation
	compiler *jsonschema.Compiler
	mu       sync.Mutex
	cache    map[string]*jsonschema.Schema
}

type operation struct {
	method, template string
	optional         bool // x-optional: mounted only in some configurations
	re               *regexp.Regexp
	responses        map[string]response // status code or "default"
}

type response struct {
	pointer string              // JSON pointer of the response object
	content map[string]struct{} // media types
}

const resourceURL = "mem:///openapi.json"

var paramRE = regexp.MustCompile(`\{[^/}]+\}`)

// NewValidator parses the embedded document.
func NewValidator() (*Validator, error) {
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Responses map[string]json.RawMessage `json:"responses"`
		} `json:"components"`
	}
	if err := json.Unmarshal(document, &doc); err != nil {
		return nil, fmt.Errorf("openapi: parse document: %w", err)
	}
	raw, err := jsonschema.UnmarshalJSON(bytes.NewReader(document))
	if err != nil {
		return nil, fmt.Errorf("openapi: parse document: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(resourceURL, raw); err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	v := &Validator{compiler: c, cache: make(map[string]*jsonschema.Schema)}
	for path, item := range doc.Paths {
		// QuoteMeta escapes the braces of {param}; undo that, then let each
		// parameter match one path segment.
		re := regexp.MustCompile("^" + paramRE.ReplaceAllString(strings.NewReplacer(`\{`, "{", `\}`, "}").Replace(regexp.QuoteMeta(path)), `[^/]+`) + "$")
		for method, rawOp := range item {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options":
			default:
				continue
			}
			var op struct {
				Optional  bool                       `json:"x-optional"`
				Responses map[string]json.RawMessage `json:"responses"`
			}
			if err := json.Unmarshal(rawOp, &op); err != nil {
				return nil, fmt.Errorf("openapi: %s %s: %w", method, path, err)
			}
			o := operation{method: strings.ToUpper(method), template: path, re: re, optional: op.Optional, responses: map[string]response{}}
			for code, rawResp := range op.Responses {
				ptr := "/paths/" + escape(path) + "/" + method + "/responses/" + escape(code)
				var resp struct {
					Ref     string                     `json:"$ref"`
					Content map[string]json.RawMessage `json:"content"`
				}
				if err := json.Unmarshal(rawResp, &resp); err != nil {
					return nil, fmt.Errorf("openapi: %s %s %s: %w", method, path, code, err)
				}
				if resp.Ref != "" {
					name := strings.TrimPrefix(resp.Ref, "#/components/responses/")
					ptr = "/components/responses/" + escape(name)
					if err := json.Unmarshal(doc.Components.Responses[name], &resp); err != nil {
						return nil, fmt.Errorf("openapi: %s: %w", resp.Ref, err)
					}
				}
				r := response{pointer: ptr, content: map[string]struct{}{}}
				for mt := range resp.Content {
					r.content[mt] = struct{}{}
				}
				o.responses[code] = r
			}
			v.ops = append(v.ops, o)
		}
	}
	// Literal segments beat parameters: try more specific templates first.
	sort.Slice(v.ops, func(i, j int) bool {
		return strings.Count(v.ops[i].template, "{") < strings.Count(v.ops[j].template, "{")
	})
	return v, nil
}

func escape(s string) string { return strings.NewReplacer("~", "~0", "/", "~1").Replace(s) }

// Operations lists the documented operations as ServeMux patterns,
// "METHOD /path/{param}", sorted.
func (v *Validator) Operations() []string {
	out := make([]string, 0, len(v.ops))
	for _, o := range v.ops {
		out = append(out, o.method+" "+o.template)
	}
	sort.Strings(out)
	return out
}

// Optional reports whether the operation (a pattern as Operations gives)
// is marked x-optional: true, mounted only in some configurations (such as
// /metrics) or by a module that may not be wired in yet.
func (v *Validator) Optional(op string) bool {
	for _, o := range v.ops {
		if o.method+" "+o.template == op {
			return o.optional
		}
	}
	return false
}

func (v *Validator) find(method, path string) (*operation, bool) {
	for i := range v.ops {
		if v.ops[i].method == method && v.ops[i].re.MatchString(path) {
			return &v.ops[i], true
		}
	}
	return nil, false
}

// Documented reports whether method and path match a documented operation.
func (v *Validator) Documented(method, path string) bool {
	_, ok := v.find(method, path)
	return ok
}

func (v *Validator) schema(ptr string) (*jsonschema.Schema, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if s, ok := v.cache[ptr]; ok {
		return s, nil
	}
	s, err := v.compiler.Compile(resourceURL + "#" + ptr)
	if err != nil {
		return nil, fmt.Errorf("openapi: compile %s: %w", ptr, err)
	}
	v.cache[ptr] = s
	return s, nil
}

// CheckResponse checks one response: the operation must be documented,
// the status listed (or covered by "default"), the media type listed and
// the body valid against its schema. A body-less response must have no
// body.
func (v *Validator) CheckResponse(method, path string, status int, contentType string, body []byte) error {
	o, ok := v.find(method, path)
	if !ok {
		return fmt.Errorf("%w: %s %s", ErrUndocumented, method, path)
	}
	resp, ok := o.responses[strconv.Itoa(status)]
	if !ok {
		resp, ok = o.responses["default"]
	}
	if !ok {
		return fmt.Errorf("openapi: %s %s: status %d not documented", method, o.template, status)
	}
	if len(resp.content) == 0 {
		if len(bytes.TrimSpace(body)) > 0 {
			return fmt.Errorf("openapi: %s %s %d: documented without a body, got %q", method, o.template, status, truncate(body))
		}
		return nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("openapi: %s %s %d: bad Content-Type %q", method, o.template, status, contentType)
	}
	if _, ok := resp.content[mt]; !ok {
		return fmt.Errorf("openapi: %s %s %d: Content-Type %s not documented", method, o.template, status, mt)
	}
	if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return nil
	}
	s, err := v.schema(resp.pointer + "/content/" + escape(mt) + "/schema")
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("openapi: %s %s %d: body is not JSON: %w", method, o.template, status, err)
	}
	if err := s.Validate(inst); err != nil {
		return fmt.Errorf("openapi: %s %s %d: body %s does not match the document: %w", method, o.template, status, truncate(body), err)
	}
	return nil
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}
