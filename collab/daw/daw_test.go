package daw_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/maxbooster/maxbooster/collab/daw"
	"github.com/maxbooster/maxbooster/crdt"
)

func sampleTrack() daw.Track {
	return daw.Track{
		ID: "t1", Name: "Vocals", Kind: daw.KindAudio, Color: "#ff8800", Volume: -3.5, Pan: -0.25, Solo: true,
		Effects:    []daw.Effect{{ID: "fx1", Type: "eq", Params: map[string]float64{"lowGain": 2.5, "highGain": -1}}},
		Clips:      []daw.Clip{{ID: "c1", AssetID: "a1", Position: 4, Offset: 0.5, Length: 12.25, Gain: -1, FadeIn: 0.1, FadeOut: 0.2}},
		Automation: []daw.Lane{{ID: "l1", Param: "volume", Points: []daw.Point{{Time: 0, Value: -6}, {Time: 8, Value: 0}}}},
	}
}

// TestRoundTripThroughUpdates writes with the accessors, ships the state
// as a yjs update to a fresh document (as a browser would receive it) and
// reads it back.
func TestRoundTripThroughUpdates(t *testing.T) {
	doc := crdt.NewDoc(nil)
	settings := daw.Settings{Name: "Night Drive", Tempo: 124, TimeSigNum: 4, TimeSigDen: 4, Key: "A minor", SampleRate: 48000}
	if err := daw.SetSettings(doc, settings); err != nil {
		t.Fatal(err)
	}
	if err := daw.AddTrack(doc, sampleTrack()); err != nil {
		t.Fatal(err)
	}
	if err := daw.AddTrack(doc, daw.Track{ID: "t2", Name: "Bus", Kind: daw.KindBus}); err != nil {
		t.Fatal(err)
	}
	clip := daw.Clip{ID: "c2", AssetID: "a2", Position: 20, Length: 4}
	if err := daw.AddClip(doc, "t2", clip); err != nil {
		t.Fatal(err)
	}
	if err := doc.GetText(daw.RootNotes).Insert(0, "verse one"); err != nil {
		t.Fatal(err)
	}
	update, err := crdt.EncodeStateAsUpdate(doc, nil)
	if err != nil {
		t.Fatal(err)
	}
	other := crdt.NewDoc(nil)
	if err := crdt.ApplyUpdate(other, update, nil); err != nil {
		t.Fatal(err)
	}
	bus := daw.Track{ID: "t2", Name: "Bus", Kind: daw.KindBus, Effects: []daw.Effect{}, Clips: []daw.Clip{clip}, Automation: []daw.Lane{}}
	want := daw.Document{Settings: settings, Tracks: []daw.Track{sampleTrack(), bus}, Markers: []daw.Marker{}, Notes: "verse one", Comments: []daw.Comment{}}
	for name, d := range map[string]*crdt.Doc{"local": doc, "remote": other} {
		if diff := cmp.Diff(want, daw.Read(d)); diff != "" {
			t.Errorf("%s read (-want +got):\n%s", name, diff)
		}
	}
}

func TestValidation(t *testing.T) {
	doc := crdt.NewDoc(nil)
	if err := daw.AddTrack(doc, sampleTrack()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"tempo", daw.SetSettings(doc, daw.Settings{Tempo: 5, TimeSigNum: 4, TimeSigDen: 4, SampleRate: 48000}), daw.ErrInvalid},
		{"time signature", daw.SetSettings(doc, daw.Settings{Tempo: 120, TimeSigNum: 4, TimeSigDen: 3, SampleRate: 48000}), daw.ErrInvalid},
		{"duplicate track", daw.AddTrack(doc, sampleTrack()), daw.ErrInvalid},
		{"bad kind", daw.AddTrack(doc, daw.Track{ID: "x", Kind: "video"}), daw.ErrInvalid},
		{"pan", daw.AddTrack(doc, daw.Track{ID: "y", Kind: daw.KindAudio, Pan: 2}), daw.ErrInvalid},
		{"clip length", daw.AddClip(doc, "t1", daw.Clip{ID: "c", AssetID: "a", Length: 0}), daw.ErrInvalid},
		{"fades longer than clip", daw.AddClip(doc, "t1", daw.Clip{ID: "c", AssetID: "a", Length: 1, FadeIn: 0.6, FadeOut: 0.6}), daw.ErrInvalid},
		{"unknown track", daw.AddClip(doc, "nope", daw.Clip{ID: "c", AssetID: "a", Length: 1}), daw.ErrTrackNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.want) {
				t.Errorf("error = %v, want %v", tt.err, tt.want)
			}
		})
	}
	if n := len(daw.Read(doc).Tracks); n != 1 {
		t.Errorf("%d tracks after refused changes, want 1", n)
	}
}

// TestReadToleratesOddFields: browsers own the document; a mistyped field
// reads as its zero value instead of failing.
func TestReadToleratesOddFields(t *testing.T) {
	doc := crdt.NewDoc(nil)
	pm := doc.GetMap(daw.RootProject)
	if err := pm.Set("tempo", "fast"); err != nil {
		t.Fatal(err)
	}
	if err := doc.GetArray(daw.RootTracks).Push("not a track", 7); err != nil {
		t.Fatal(err)
	}
	d := daw.Read(doc)
	if d.Settings.Tempo != 0 || len(d.Tracks) != 0 {
		t.Errorf("Read = %+v", d)
	}
}

// Comments on a time range carry endTime (the browser writes it); a point
// comment, or one from before ranges existed, reads as endTime == time.
func TestCommentRanges(t *testing.T) {
	doc := crdt.NewDoc(nil)
	arr := doc.GetArray(daw.RootComments)
	ranged, point := crdt.NewMap(), crdt.NewMap()
	if err := arr.Push(ranged, point); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{"id": "c1", "authorId": "u1", "time": 2.0, "endTime": 5.5, "text": "louder"} {
		if err := ranged.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range map[string]any{"id": "c2", "authorId": "u2", "time": 7.0, "text": "nice"} {
		if err := point.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	got := daw.Read(doc).Comments
	want := []daw.Comment{
		{ID: "c1", AuthorID: "u1", Time: 2, EndTime: 5.5, Text: "louder"},
		{ID: "c2", AuthorID: "u2", Time: 7, EndTime: 7, Text: "nice"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("comments (-want +got):\n%s", diff)
	}
}
