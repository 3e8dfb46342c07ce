package compliance_test

import (
	"errors"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/maxbooster/maxbooster/audio/compliance"
)

func mustLookup(tb testing.TB, id string) compliance.Platform {
	tb.Helper()
	p, err := compliance.Lookup(id)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestTable(t *testing.T) {
	want := map[string][2]float64{ // target LUFS, max dBTP (from the issue)
		"spotify": {-14, -1}, "apple-music": {-16, -1}, "youtube": {-14, -1}, "tidal": {-14, -1},
		"amazon-music": {-14, -2}, "deezer": {-15, -1}, "soundcloud": {-14, -1}, "ebu-r128": {-23, -1},
	}
	got := map[string][2]float64{}
	for _, p := range compliance.Platforms() {
		got[p.ID] = [2]float64{p.TargetLUFS, p.MaxTruePeakDBTP}
		if p.Source == "" || p.Confidence == "" || p.Verified == "" {
			t.Errorf("%s lacks source, confidence or verification date", p.ID)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
	if _, err := compliance.Lookup("myspace"); !errors.Is(err, compliance.ErrUnknownPlatform) {
		t.Errorf("Lookup(myspace) error %v", err)
	}
	if p := mustLookup(t, "Apple"); p.ID != "apple-music" {
		t.Errorf("Lookup(Apple) = %s", p.ID)
	}
}

func TestEvaluate(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		name     string
		platform string
		m        compliance.Measurement
		want     compliance.Report
	}{
		{
			// Spotify's own example: -20 LUFS with TP -5 is only lifted to -16.
			name: "spotify quiet master limited by peak", platform: "spotify",
			m:    compliance.Measurement{IntegratedLUFS: -20, TruePeakDBTP: -5},
			want: compliance.Report{GainDB: 4, PlaybackLUFS: f(-16), PlaybackTruePeakDBTP: f(-1), GainLimitedByPeak: true, MaxTruePeakDBTP: -1, Pass: false},
		},
		{
			name: "spotify loud master needs -2 dBTP", platform: "spotify",
			m:    compliance.Measurement{IntegratedLUFS: -8, TruePeakDBTP: -1.5},
			want: compliance.Report{GainDB: -6, PlaybackLUFS: f(-14), PlaybackTruePeakDBTP: f(-7.5), MaxTruePeakDBTP: -2, Pass: false},
		},
		{
			name: "spotify on target", platform: "spotify",
			m:    compliance.Measurement{IntegratedLUFS: -14, TruePeakDBTP: -1.2},
			want: compliance.Report{GainDB: 0, PlaybackLUFS: f(-14), PlaybackTruePeakDBTP: f(-1.2), MaxTruePeakDBTP: -1, Pass: true},
		},
		{
			name: "youtube never turns up", platform: "youtube",
			m:    compliance.Measurement{IntegratedLUFS: -18, TruePeakDBTP: -3},
			want: compliance.Report{GainDB: 0, PlaybackLUFS: f(-18), PlaybackTruePeakDBTP: f(-3), MaxTruePeakDBTP: -1, Pass: false},
		},
		{
			name: "apple turns up fully with room", platform: "apple-music",
			m:    compliance.Measurement{IntegratedLUFS: -18, TruePeakDBTP: -6},
			want: compliance.Report{GainDB: 2, PlaybackLUFS: f(-16), PlaybackTruePeakDBTP: f(-4), MaxTruePeakDBTP: -1, Pass: true},
		},
		{
			name: "amazon -2 dBTP", platform: "amazon-music",
			m:    compliance.Measurement{IntegratedLUFS: -14, TruePeakDBTP: -1.5},
			want: compliance.Report{GainDB: 0, PlaybackLUFS: f(-14), PlaybackTruePeakDBTP: f(-1.5), MaxTruePeakDBTP: -2, Pass: false},
		},
		{
			name: "r128 within tolerance", platform: "ebu-r128",
			m:    compliance.Measurement{IntegratedLUFS: -23.4, TruePeakDBTP: -3},
			want: compliance.Report{GainDB: 0, PlaybackLUFS: f(-23.4), PlaybackTruePeakDBTP: f(-3), MaxTruePeakDBTP: -1, Pass: true},
		},
		{
			name: "silence", platform: "spotify",
			m:    compliance.Measurement{IntegratedLUFS: math.NaN(), TruePeakDBTP: math.Inf(-1)},
			want: compliance.Report{MaxTruePeakDBTP: -1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := compliance.Evaluate(mustLookup(t, tt.platform), tt.m)
			if !tt.want.Pass && len(got.Advice) == 0 {
				t.Error("a failing report gives no advice")
			}
			got.Advice, got.Platform, got.Name, got.TargetLUFS, got.Confidence = nil, "", "", 0, ""
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("report (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReady(t *testing.T) {
	good := compliance.Delivery{
		Format: "wav", Lossless: true, SampleRate: 44100, BitDepth: 24, Channels: 2, DurationSeconds: 200,
		TruePeakDBTP: -1.2, SamplePeakDBFS: -1.5, LeadingSilenceSeconds: 0.1, TrailingSilenceSeconds: 1.5,
		DCOffset: []float64{1e-5, -2e-5},
	}
	tests := []struct {
		name   string
		change func(*compliance.Delivery)
		check  string
		status compliance.Status
	}{
		{"good master", func(*compliance.Delivery) {}, "", compliance.StatusPass},
		{"mp3", func(d *compliance.Delivery) { d.Format, d.Lossless, d.BitDepth = "mp3", false, 0 }, "lossless", compliance.StatusFail},
		{"32 kHz", func(d *compliance.Delivery) { d.SampleRate = 32000 }, "sample-rate", compliance.StatusFail},
		{"96 kHz", func(d *compliance.Delivery) { d.SampleRate = 96000 }, "sample-rate", compliance.StatusWarn},
		{"8-bit", func(d *compliance.Delivery) { d.BitDepth = 8 }, "bit-depth", compliance.StatusFail},
		{"float", func(d *compliance.Delivery) { d.BitDepth, d.Float = 32, true }, "bit-depth", compliance.StatusWarn},
		{"mono", func(d *compliance.Delivery) { d.Channels = 1 }, "channels", compliance.StatusFail},
		{"clipped", func(d *compliance.Delivery) { d.ClippedSamples = 12 }, "clipping", compliance.StatusFail},
		{"hot peak", func(d *compliance.Delivery) { d.SamplePeakDBFS = -0.1 }, "clipping", compliance.StatusWarn},
		{"long intro silence", func(d *compliance.Delivery) { d.LeadingSilenceSeconds = 12 }, "leading-silence", compliance.StatusFail},
		{"long tail", func(d *compliance.Delivery) { d.TrailingSilenceSeconds = 5 }, "trailing-silence", compliance.StatusWarn},
		{"dc offset", func(d *compliance.Delivery) { d.DCOffset = []float64{0.02, 0} }, "dc-offset", compliance.StatusFail},
		{"short", func(d *compliance.Delivery) { d.DurationSeconds = 20 }, "duration", compliance.StatusWarn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := good
			tt.change(&d)
			ready, checks := compliance.Ready(d)
			if want := tt.status != compliance.StatusFail; ready != want {
				t.Errorf("ready = %v, want %v (%+v)", ready, want, checks)
			}
			for _, c := range checks {
				switch {
				case c.ID == tt.check && c.Status != tt.status:
					t.Errorf("check %s = %s (%s), want %s", c.ID, c.Status, c.Message, tt.status)
				case c.ID != tt.check && c.Status != compliance.StatusPass:
					t.Errorf("unrelated check %s = %s (%s)", c.ID, c.Status, c.Message)
				}
			}
		})
	}
}
