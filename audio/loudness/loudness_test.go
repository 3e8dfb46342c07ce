package loudness_test

import (
	"math"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/maxbooster/maxbooster/audio/loudness"
)

// TestKWeightingCoefficients checks the derived filters against BS.1770
// Tables 1 and 2 at 48 kHz (14 decimals as printed) and against the values
// the same derivation gives at other rates (research notes, computed
// independently in Python).
func TestKWeightingCoefficients(t *testing.T) {
	tests := []struct {
		rate       float64
		shelf      loudness.Biquad
		hpA1, hpA2 float64
	}{
		{48000, loudness.Biquad{B0: 1.53512485958697, B1: -2.69169618940638, B2: 1.19839281085285, A1: -1.69065929318241, A2: 0.73248077421585}, -1.99004745483398, 0.99007225036621},
		{44100, loudness.Biquad{B0: 1.53084123005035, B1: -2.65097999515473, B2: 1.16907907992159, A1: -1.66365511325602, A2: 0.71259542807323}, -1.98916967362980, 0.98919903578704},
		{96000, loudness.Biquad{B0: 1.55971422897580, B1: -2.92674157825108, B2: 1.37826120231582, A1: -1.84460946989011, A2: 0.85584332293064}, -1.99501754472472, 0.99502375904092},
		{192000, loudness.Biquad{B0: 1.57222721509128, B1: -3.04728305156155, B2: 1.47797134097961, A1: -1.92220223060749, A2: 0.92511773511683}, -1.99750722284070, 0.99750877835551},
	}
	for _, tt := range tests {
		s, h := loudness.KWeighting(tt.rate)
		if diff := cmp.Diff(tt.shelf, s, cmpopts.EquateApprox(0, 1e-13)); diff != "" {
			t.Errorf("%v Hz shelf (-want +got):\n%s", tt.rate, diff)
		}
		want := loudness.Biquad{B0: 1, B1: -2, B2: 1, A1: tt.hpA1, A2: tt.hpA2}
		if diff := cmp.Diff(want, h, cmpopts.EquateApprox(0, 1e-13)); diff != "" {
			t.Errorf("%v Hz high-pass (-want +got):\n%s", tt.rate, diff)
		}
	}
	// The −0.691 in BS.1770 cancels the K gain at 997 Hz.
	s, h := loudness.KWeighting(48000)
	if g := 20 * math.Log10(s.Response(997, 48000)*h.Response(997, 48000)); math.Abs(g-0.691) > 0.001 {
		t.Errorf("K gain at 997 Hz %.4f dB, want 0.691", g)
	}
}

func TestSampleRates(t *testing.T) {
	for _, rate := range []int{8000, 11025, 22050, 32000, 44100, 48000, 88200, 96000, 176400, 192000} {
		_, r := measure(t, rate, stereo, synth(rate, 1000, seg{5, all(2, -23)}))
		near(t, "I at "+strconv.Itoa(rate), r.Integrated, -23, 0.05)
		near(t, "max M at "+strconv.Itoa(rate), r.MomentaryMax, -23, 0.05)
		near(t, "true peak at "+strconv.Itoa(rate), r.TruePeak, -23, 0.1)
	}
}

func TestChannels(t *testing.T) {
	const rate = 48000
	t.Run("mono is one channel, not dual mono", func(t *testing.T) {
		_, r := measure(t, rate, []float64{1}, synth(rate, 1000, seg{5, []float64{-23}}))
		near(t, "I", r.Integrated, -26, 0.05)
	})
	t.Run("997 Hz full scale in one channel reads -3.01", func(t *testing.T) {
		_, r := measure(t, rate, stereo, synth(rate, 997, seg{5, []float64{0, silence}}))
		near(t, "I", r.Integrated, -3.01, 0.01)
	})
	t.Run("calibration -18 dBFS stereo reads -18", func(t *testing.T) {
		_, r := measure(t, rate, stereo, synth(rate, 1000, seg{5, all(2, -18)}))
		near(t, "I", r.Integrated, -18, 0.05)
	})
	t.Run("5.1 LFE excluded from loudness, included in true peak", func(t *testing.T) {
		w := []float64{1, 1, 1, 0, 1.41, 1.41}
		_, r := measure(t, rate, w, synth(rate, 1000, seg{5, []float64{-28, -28, -24, -6, -30, -30}}))
		near(t, "I", r.Integrated, -23, 0.1)
		near(t, "true peak", r.TruePeak, -6, 0.05)
		near(t, "LFE channel true peak", 20*math.Log10(r.ChannelTruePeaks[3]), -6, 0.05)
	})
}

func TestUndefined(t *testing.T) {
	const rate = 48000
	tests := []struct {
		name string
		x    []float64
	}{
		{"digital silence", make([]float64, 2*rate*5)},
		{"below the absolute gate", synth(rate, 1000, seg{5, all(2, -75)})},
		{"shorter than one block", synth(rate, 1000, seg{0.39, all(2, -20)})},
		{"empty", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, r := measure(t, rate, stereo, tt.x)
			if !math.IsNaN(r.Integrated) || !math.IsNaN(r.Range) || r.GatedBlocks != 0 {
				t.Errorf("I = %v, LRA = %v, %d gated blocks; want NaN, NaN, 0", r.Integrated, r.Range, r.GatedBlocks)
			}
		})
	}
	if _, err := loudness.New(100, stereo, loudness.Options{}); err == nil {
		t.Error("New accepted 100 Hz")
	}
	if _, err := loudness.New(48000, nil, loudness.Options{}); err == nil {
		t.Error("New accepted zero channels")
	}
}

// TestBoundedMemory checks that, without the series, feeding more audio
// allocates nothing: memory does not grow with the programme length.
func TestBoundedMemory(t *testing.T) {
	const rate = 48000
	m, err := loudness.New(rate, stereo, loudness.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := synth(rate, 1000, seg{1, all(2, -20)})
	m.Write(x) // the first blocks allocate the histograms
	m.Write(x)
	if a := testing.AllocsPerRun(20, func() { m.Write(x) }); a != 0 {
		t.Errorf("%v allocations per second of audio", a)
	}
}
