// Package daw defines the shape of a Max Booster project document — the
// Y.Doc that browsers edit together through the collab hub — and gives the
// server typed accessors to read it (previews, REST) and to make the few
// changes the server makes itself (adding clips). docs/daw-document.md
// describes the same shape for the browser side.
//
// Root types of the document:
//
//	project   Y.Map    name, tempo, timeSigNum, timeSigDen, key, sampleRate
//	tracks    Y.Array  of Y.Map: id, name, kind, color, volume, pan, mute,
//	                   solo, arm, effects (Y.Array of Y.Map: id, type,
//	                   bypass, params Y.Map name→number), clips (Y.Array of
//	                   Y.Map: id, assetId, position, offset, length, gain,
//	                   fadeIn, fadeOut), automation (Y.Array of Y.Map: id,
//	                   param, points Y.Array of [time, value])
//	markers   Y.Array  of Y.Map: id, time, name, color
//	notes     Y.Text   lyrics and notes
//	comments  Y.Array  of Y.Map: id, authorId, time, endTime, text,
//	                   createdAt, resolved
//
// Times (position, offset, length, fades, marker and comment times,
// automation times) are seconds from the start of the project; volume and
// gain are dB; pan is -1 (left) to 1 (right).
package daw

import (
	"errors"
	"fmt"
	"math"

	"github.com/maxbooster/maxbooster/crdt"
)

// Root type names.
const (
	RootProject  = "project"
	RootTracks   = "tracks"
	RootMarkers  = "markers"
	RootNotes    = "notes"
	RootComments = "comments"
)

// Errors.
var (
	ErrInvalid       = errors.New("daw: invalid value")
	ErrTrackNotFound = errors.New("daw: no such track")
)

// Settings are the project-wide values (root "project").
type Settings struct {
	Name       string  `json:"name"`
	Tempo      float64 `json:"tempo"` // BPM
	TimeSigNum int     `json:"timeSigNum"`
	TimeSigDen int     `json:"timeSigDen"`
	Key        string  `json:"key"` // e.g. "C minor"
	SampleRate int     `json:"sampleRate"`
}

// Track kinds.
const (
	KindAudio = "audio"
	KindMIDI  = "midi"
	KindBus   = "bus"
)

// Track is one track with its effect chain, clips and automation.
type Track struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Kind       string   `json:"kind"`
	Color      string   `json:"color"`
	Volume     float64  `json:"volume"`
	Pan        float64  `json:"pan"`
	Mute       bool     `json:"mute"`
	Solo       bool     `json:"solo"`
	Arm        bool     `json:"arm"`
	Effects    []Effect `json:"effects"`
	Clips      []Clip   `json:"clips"`
	Automation []Lane   `json:"automation"`
}

// Effect is one insert on a track.
type Effect struct {
	ID     string             `json:"id"`
	Type   string             `json:"type"`
	Bypass bool               `json:"bypass"`
	Params map[string]float64 `json:"params"`
}

// Clip places an asset on a track.
type Clip struct {
	ID       string  `json:"id"`
	AssetID  string  `json:"assetId"`
	Position float64 `json:"position"`
	Offset   float64 `json:"offset"`
	Length   float64 `json:"length"`
	Gain     float64 `json:"gain"`
	FadeIn   float64 `json:"fadeIn"`
	FadeOut  float64 `json:"fadeOut"`
}

// Lane is the automation of one parameter.
type Lane struct {
	ID     string  `json:"id"`
	Param  string  `json:"param"`
	Points []Point `json:"points"`
}

// Point is one automation breakpoint.
type Point struct {
	Time  float64 `json:"time"`
	Value float64 `json:"value"`
}

// Marker names a position.
type Marker struct {
	ID    string  `json:"id"`
	Time  float64 `json:"time"`
	Name  string  `json:"name"`
	Color string  `json:"color"`
}

// Comment is a note left at a position.
type Comment struct {
	ID        string  `json:"id"`
	AuthorID  string  `json:"authorId"`
	Time      float64 `json:"time"`
	EndTime   float64 `json:"endTime"` // end of the commented range; Time for a point
	Text      string  `json:"text"`
	CreatedAt string  `json:"createdAt"` // RFC 3339
	Resolved  bool    `json:"resolved"`
}

// Document is the whole project document as plain values, for REST.
type Document struct {
	Settings Settings  `json:"project"`
	Tracks   []Track   `json:"tracks"`
	Markers  []Marker  `json:"markers"`
	Notes    string    `json:"notes"`
	Comments []Comment `json:"comments"`
}

// Read returns doc's content. Missing or mistyped fields read as zero
// values: browsers own the document, and the server never fails to show
// it because of one odd field.
func Read(doc *crdt.Doc) Document {
	var d Document
	pm := doc.GetMap(RootProject)
	d.Settings = Settings{
		Name: str(pm, "name"), Tempo: num(pm, "tempo"),
		TimeSigNum: int(num(pm, "timeSigNum")), TimeSigDen: int(num(pm, "timeSigDen")),
		Key: str(pm, "key"), SampleRate: int(num(pm, "sampleRate")),
	}
	d.Tracks = []Track{}
	for _, v := range doc.GetArray(RootTracks).ToArray() {
		if m, ok := v.(*crdt.Map); ok {
			d.Tracks = append(d.Tracks, readTrack(m))
		}
	}
	d.Markers = []Marker{}
	for _, v := range doc.GetArray(RootMarkers).ToArray() {
		if m, ok := v.(*crdt.Map); ok {
			d.Markers = append(d.Markers, Marker{ID: str(m, "id"), Time: num(m, "time"), Name: str(m, "name"), Color: str(m, "color")})
		}
	}
	d.Notes = doc.GetText(RootNotes).String()
	d.Comments = []Comment{}
	for _, v := range doc.GetArray(RootComments).ToArray() {
		if m, ok := v.(*crdt.Map); ok {
			t := num(m, "time")
			d.Comments = append(d.Comments, Comment{ID: str(m, "id"), AuthorID: str(m, "authorId"), Time: t,
				EndTime: max(t, num(m, "endTime")), Text: str(m, "text"), CreatedAt: str(m, "createdAt"), Resolved: boolean(m, "resolved")})
		}
	}
	return d
}

func readTrack(m *crdt.Map) Track {
	t := Track{
		ID: str(m, "id"), Name: str(m, "name"), Kind: str(m, "kind"), Color: str(m, "color"),
		Volume: num(m, "volume"), Pan: num(m, "pan"),
		Mute: boolean(m, "mute"), Solo: boolean(m, "solo"), Arm: boolean(m, "arm"),
		Effects: []Effect{}, Clips: []Clip{}, Automation: []Lane{},
	}
	for _, v := range arr(m, "effects") {
		if e, ok := v.(*crdt.Map); ok {
			fx := Effect{ID: str(e, "id"), Type: str(e, "type"), Bypass: boolean(e, "bypass"), Params: map[string]float64{}}
			if p, ok := get(e, "params").(*crdt.Map); ok {
				for _, k := range p.Keys() {
					fx.Params[k] = num(p, k)
				}
			}
			t.Effects = append(t.Effects, fx)
		}
	}
	for _, v := range arr(m, "clips") {
		if c, ok := v.(*crdt.Map); ok {
			t.Clips = append(t.Clips, Clip{ID: str(c, "id"), AssetID: str(c, "assetId"), Position: num(c, "position"),
				Offset: num(c, "offset"), Length: num(c, "length"), Gain: num(c, "gain"), FadeIn: num(c, "fadeIn"), FadeOut: num(c, "fadeOut")})
		}
	}
	for _, v := range arr(m, "automation") {
		if l, ok := v.(*crdt.Map); ok {
			lane := Lane{ID: str(l, "id"), Param: str(l, "param"), Points: []Point{}}
			for _, p := range arr(l, "points") {
				if pair, ok := p.([]any); ok && len(pair) == 2 {
					lane.Points = append(lane.Points, Point{Time: toNum(pair[0]), Value: toNum(pair[1])})
				}
			}
			t.Automation = append(t.Automation, lane)
		}
	}
	return t
}

// SetSettings writes every project setting in one transaction.
func SetSettings(doc *crdt.Doc, s Settings) error {
	if s.Tempo < 20 || s.Tempo > 999 || s.TimeSigNum < 1 || s.TimeSigNum > 64 ||
		(s.TimeSigDen != 1 && s.TimeSigDen != 2 && s.TimeSigDen != 4 && s.TimeSigDen != 8 && s.TimeSigDen != 16 && s.TimeSigDen != 32) ||
		s.SampleRate < 8000 || s.SampleRate > 768000 || len(s.Name) > 200 || len(s.Key) > 32 {
		return fmt.Errorf("%w: settings %+v", ErrInvalid, s)
	}
	pm := doc.GetMap(RootProject)
	var err error
	doc.Transact(func(*crdt.Transaction) {
		err = errors.Join(pm.Set("name", s.Name), pm.Set("tempo", s.Tempo), pm.Set("timeSigNum", s.TimeSigNum),
			pm.Set("timeSigDen", s.TimeSigDen), pm.Set("key", s.Key), pm.Set("sampleRate", s.SampleRate))
	}, nil)
	return err
}

// AddTrack appends a track (with its effects, clips and automation).
func AddTrack(doc *crdt.Doc, t Track) error {
	if t.ID == "" || (t.Kind != KindAudio && t.Kind != KindMIDI && t.Kind != KindBus) || t.Pan < -1 || t.Pan > 1 || !finite(t.Volume) {
		return fmt.Errorf("%w: track %q", ErrInvalid, t.ID)
	}
	for _, tr := range Read(doc).Tracks {
		if tr.ID == t.ID {
			return fmt.Errorf("%w: track %q exists", ErrInvalid, t.ID)
		}
	}
	m := crdt.NewMap()
	effects, clips, lanes := crdt.NewArray(), crdt.NewArray(), crdt.NewArray()
	for _, e := range t.Effects {
		p := crdt.NewMap()
		for k, v := range e.Params {
			if err := p.Set(k, v); err != nil {
				return err
			}
		}
		fx := crdt.NewMap()
		if err := errors.Join(fx.Set("id", e.ID), fx.Set("type", e.Type), fx.Set("bypass", e.Bypass), fx.Set("params", p)); err != nil {
			return err
		}
		if err := effects.Push(fx); err != nil {
			return err
		}
	}
	for _, c := range t.Clips {
		cm, err := clipMap(c)
		if err != nil {
			return err
		}
		if err := clips.Push(cm); err != nil {
			return err
		}
	}
	for _, l := range t.Automation {
		pts := crdt.NewArray()
		for _, p := range l.Points {
			if err := pts.Push([]any{p.Time, p.Value}); err != nil {
				return err
			}
		}
		lm := crdt.NewMap()
		if err := errors.Join(lm.Set("id", l.ID), lm.Set("param", l.Param), lm.Set("points", pts)); err != nil {
			return err
		}
		if err := lanes.Push(lm); err != nil {
			return err
		}
	}
	if err := errors.Join(m.Set("id", t.ID), m.Set("name", t.Name), m.Set("kind", t.Kind), m.Set("color", t.Color),
		m.Set("volume", t.Volume), m.Set("pan", t.Pan), m.Set("mute", t.Mute), m.Set("solo", t.Solo), m.Set("arm", t.Arm),
		m.Set("effects", effects), m.Set("clips", clips), m.Set("automation", lanes)); err != nil {
		return err
	}
	return doc.GetArray(RootTracks).Push(m)
}

func clipMap(c Clip) (*crdt.Map, error) {
	if c.ID == "" || c.AssetID == "" || c.Position < 0 || c.Offset < 0 || c.Length <= 0 || c.FadeIn < 0 || c.FadeOut < 0 ||
		!finite(c.Position) || !finite(c.Length) || !finite(c.Gain) || c.FadeIn+c.FadeOut > c.Length {
		return nil, fmt.Errorf("%w: clip %q", ErrInvalid, c.ID)
	}
	m := crdt.NewMap()
	err := errors.Join(m.Set("id", c.ID), m.Set("assetId", c.AssetID), m.Set("position", c.Position), m.Set("offset", c.Offset),
		m.Set("length", c.Length), m.Set("gain", c.Gain), m.Set("fadeIn", c.FadeIn), m.Set("fadeOut", c.FadeOut))
	return m, err
}

// AddClip appends a clip to the track with id trackID (the server adds
// clips, e.g. for an uploaded or generated asset).
func AddClip(doc *crdt.Doc, trackID string, c Clip) error {
	cm, err := clipMap(c)
	if err != nil {
		return err
	}
	for _, v := range doc.GetArray(RootTracks).ToArray() {
		m, ok := v.(*crdt.Map)
		if !ok || str(m, "id") != trackID {
			continue
		}
		clips, ok := get(m, "clips").(*crdt.Array)
		if !ok {
			clips = crdt.NewArray()
			if err := m.Set("clips", clips); err != nil {
				return err
			}
			clips, _ = get(m, "clips").(*crdt.Array)
		}
		return clips.Push(cm)
	}
	return fmt.Errorf("%w: %q", ErrTrackNotFound, trackID)
}

func get(m *crdt.Map, k string) any {
	v, _ := m.Get(k)
	return v
}

func str(m *crdt.Map, k string) string {
	s, _ := get(m, k).(string)
	return s
}

func boolean(m *crdt.Map, k string) bool {
	b, _ := get(m, k).(bool)
	return b
}

func num(m *crdt.Map, k string) float64 { return toNum(get(m, k)) }

func toNum(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case float32:
		return float64(n)
	case int:
		return float64(n)
	case int64:
		return float64(n)
	}
	return 0
}

func arr(m *crdt.Map, k string) []any {
	if a, ok := get(m, k).(*crdt.Array); ok {
		return a.ToArray()
	}
	return nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
