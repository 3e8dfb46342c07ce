// Package compliance compares a loudness measurement with what streaming
// platforms do on playback and with what distributors accept.
//
// The platform table is data (platforms.json, embedded), each entry with its
// source, confidence and the date it was last checked: only Spotify
// publishes an official specification, the rest is vendor-reported. A
// platform does not reject a loud master; it plays it back with a gain. The
// report therefore says which gain each platform would apply, where the true
// peak ends up, and what to change, rather than only pass or fail.
package compliance

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

//go:embed platforms.json
var platformsJSON []byte

// ErrUnknownPlatform is returned by Lookup for an id not in the table.
var ErrUnknownPlatform = errors.New("compliance: unknown platform")

// Platform is one entry of the target table.
type Platform struct {
	ID              string  `json:"id"`
	Name            string  `json:"name"`
	TargetLUFS      float64 `json:"targetLufs"`
	MaxTruePeakDBTP float64 `json:"maxTruePeakDbtp"`
	// LoudMaxTruePeakDBTP, when set, is the stricter ceiling for masters
	// louder than the target (Spotify: -2 dBTP above -14 LUFS).
	LoudMaxTruePeakDBTP *float64 `json:"loudMaxTruePeakDbtp,omitempty"`
	// ToleranceLU is how far from the target the file itself may be, for
	// delivery specs that do not normalise (EBU R128); 0 for players.
	ToleranceLU float64 `json:"toleranceLu,omitempty"`
	Normalizes  bool    `json:"normalizes"`
	TurnsUp     bool    `json:"turnsUp"`
	// UpCeilingDBTP limits a positive gain so the true peak stays below it.
	UpCeilingDBTP *float64 `json:"upCeilingDbtp,omitempty"`
	Behavior      string   `json:"behavior"`
	Source        string   `json:"source"`
	Confidence    string   `json:"confidence"`
	Verified      string   `json:"verified"`
}

type table struct {
	Version   string     `json:"version"`
	Platforms []Platform `json:"platforms"`
}

var loaded = func() table {
	var t table
	if err := json.Unmarshal(platformsJSON, &t); err != nil {
		panic("compliance: embedded platforms.json: " + err.Error())
	}
	return t
}()

// Version is the version (date) of the platform table.
func Version() string { return loaded.Version }

// Platforms returns a copy of the table in its file order.
func Platforms() []Platform { return append([]Platform(nil), loaded.Platforms...) }

// Lookup finds a platform by id (case-insensitive; "apple" and "amazon" are
// accepted for apple-music and amazon-music).
func Lookup(id string) (Platform, error) {
	id = strings.ToLower(strings.TrimSpace(id))
	for _, p := range loaded.Platforms {
		if p.ID == id || strings.TrimSuffix(p.ID, "-music") == id {
			return p, nil
		}
	}
	ids := make([]string, len(loaded.Platforms))
	for i, p := range loaded.Platforms {
		ids[i] = p.ID
	}
	sort.Strings(ids)
	return Platform{}, fmt.Errorf("%w %q (known: %s)", ErrUnknownPlatform, id, strings.Join(ids, ", "))
}

// Measurement is what the report needs from a loudness measurement.
type Measurement struct {
	IntegratedLUFS float64 // NaN when undefined (silence)
	TruePeakDBTP   float64
}

// Report is the outcome for one platform.
type Report struct {
	Platform   string  `json:"platform"`
	Name       string  `json:"name"`
	TargetLUFS float64 `json:"targetLufs"`
	// GainDB is the playback gain the platform applies (0 when it does not
	// normalise, or cannot, e.g. for silence).
	GainDB float64 `json:"gainDb"`
	// PlaybackLUFS and PlaybackTruePeakDBTP are where the track ends up.
	// They are nil when undefined (silence).
	PlaybackLUFS         *float64 `json:"playbackLufs"`
	PlaybackTruePeakDBTP *float64 `json:"playbackTruePeakDbtp"`
	// GainLimitedByPeak says the platform raised the track less than the
	// target asks because its true peak would have passed the ceiling.
	GainLimitedByPeak bool `json:"gainLimitedByPeak"`
	// MaxTruePeakDBTP is the ceiling that applies to this master.
	MaxTruePeakDBTP float64  `json:"maxTruePeakDbtp"`
	Pass            bool     `json:"pass"`
	Advice          []string `json:"advice"`
	Confidence      string   `json:"confidence"`
}

// Evaluate reports what p does with a master measured as m.
func Evaluate(p Platform, m Measurement) Report {
	r := Report{Platform: p.ID, Name: p.Name, TargetLUFS: p.TargetLUFS, Confidence: p.Confidence, Advice: []string{}}
	ceiling := p.MaxTruePeakDBTP
	if p.LoudMaxTruePeakDBTP != nil && m.IntegratedLUFS > p.TargetLUFS {
		ceiling = *p.LoudMaxTruePeakDBTP
	}
	r.MaxTruePeakDBTP = ceiling
	if math.IsNaN(m.IntegratedLUFS) {
		r.PlaybackTruePeakDBTP = finite(m.TruePeakDBTP)
		r.Advice = append(r.Advice, "The file has no measurable loudness (silence or shorter than 0.4 s); nothing to normalise.")
		return r
	}
	diff := p.TargetLUFS - m.IntegratedLUFS
	switch {
	case !p.Normalizes:
	case diff < 0:
		r.GainDB = diff
	case p.TurnsUp:
		r.GainDB = diff
		if p.UpCeilingDBTP != nil && m.TruePeakDBTP+diff > *p.UpCeilingDBTP {
			r.GainDB = math.Max(0, *p.UpCeilingDBTP-m.TruePeakDBTP)
			r.GainLimitedByPeak = true
		}
	}
	playback := m.IntegratedLUFS + r.GainDB
	r.PlaybackLUFS = &playback
	r.PlaybackTruePeakDBTP = finite(m.TruePeakDBTP + r.GainDB)

	peakOK := m.TruePeakDBTP <= ceiling+1e-9
	var levelOK bool
	if p.ToleranceLU > 0 {
		levelOK = math.Abs(diff) <= p.ToleranceLU
	} else {
		levelOK = math.Abs(playback-p.TargetLUFS) <= 1
	}
	r.Pass = peakOK && levelOK
	f := func(format string, a ...any) { r.Advice = append(r.Advice, fmt.Sprintf(format, a...)) }
	if !peakOK {
		f("True peak %.1f dBTP is above the %.1f dBTP %s asks for: lower the limiter ceiling to %.1f dBTP (true-peak mode); lossy encoding adds inter-sample peaks.", m.TruePeakDBTP, ceiling, p.Name, ceiling)
	}
	switch {
	case p.ToleranceLU > 0 && !levelOK:
		f("Integrated loudness %.1f LUFS is outside %.1f ±%.1f LU: apply %+.1f dB of gain (with a true-peak limiter if peaks rise above %.1f dBTP).", m.IntegratedLUFS, p.TargetLUFS, p.ToleranceLU, diff, ceiling)
	case !p.Normalizes:
		f("%s does not normalise playback: the track plays at %.1f LUFS as delivered.", p.Name, m.IntegratedLUFS)
	case r.GainDB < -1:
		f("%s turns this master down by %.1f dB; the extra loudness buys nothing there. A master nearer %.0f LUFS keeps more dynamics.", p.Name, -r.GainDB, p.TargetLUFS)
	case r.GainLimitedByPeak:
		f("%s can raise this quiet master only %.1f dB (not %.1f) because of its peaks, so it plays at %.1f LUFS: raise its loudness with a limiter to reach %.0f LUFS.", p.Name, r.GainDB, diff, playback, p.TargetLUFS)
	case diff > 1 && !p.TurnsUp:
		f("%s does not turn quiet tracks up: this one plays %.1f dB below the target. Raise its loudness toward %.0f LUFS if that matters.", p.Name, diff, p.TargetLUFS)
	}
	return r
}

// finite returns &v, or nil for NaN and ±Inf (which JSON cannot carry).
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// EvaluateAll reports every platform in the table.
func EvaluateAll(m Measurement) []Report {
	out := make([]Report, 0, len(loaded.Platforms))
	for _, p := range loaded.Platforms {
		out = append(out, Evaluate(p, m))
	}
	return out
}
