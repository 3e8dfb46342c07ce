package openapi

import (
	"encoding/json"
	"testing"
	"testing/fstest"
)

func TestMergeFragments(t *testing.T) {
	base := []byte(`{"tags":[{"name":"a"}],"paths":{"/a":{}},"components":{"schemas":{"A":{}}}}`)
	merged := mustMerge(base, fstest.MapFS{
		"modules/b.json": {Data: []byte(`{"tags":[{"name":"b"}],"paths":{"/b":{"get":{}}},"components":{"schemas":{"B":{"type":"string"}}}}`)},
	})
	var doc struct {
		Tags       []struct{ Name string } `json:"tags"`
		Paths      map[string]any          `json:"paths"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(merged, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Tags) != 2 || doc.Tags[1].Name != "b" || doc.Paths["/b"] == nil || doc.Components.Schemas["B"] == nil || doc.Paths["/a"] == nil {
		t.Fatalf("merged document lacks a part: %s", merged)
	}
	for name, frag := range map[string]string{
		"path":   `{"paths":{"/a":{}}}`,
		"schema": `{"components":{"schemas":{"A":{}}}}`,
		"tag":    `{"tags":[{"name":"a"}]}`,
		"field":  `{"info":{}}`,
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("fragment %s merged without a panic", frag)
				}
			}()
			mustMerge(base, fstest.MapFS{"modules/x.json": {Data: []byte(frag)}})
		})
	}
}
