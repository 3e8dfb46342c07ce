package analysis

import "math"

// Stats are sample statistics of a stream.
type Stats struct {
	Frames int64 `json:"frames"`
	// DCOffset is the mean of each channel (full scale = 1).
	DCOffset []float64 `json:"dcOffset"`
	// LeadingSilenceSeconds and TrailingSilenceSeconds measure the stretch at
	// each end where every channel stays below SilenceThreshold; a silent
	// file is all leading silence.
	LeadingSilenceSeconds  float64 `json:"leadingSilenceSeconds"`
	TrailingSilenceSeconds float64 `json:"trailingSilenceSeconds"`
	// ClippedSamples counts samples in runs of at least ClipRun consecutive
	// samples at or above ClipLevel in one channel.
	ClippedSamples int64 `json:"clippedSamples"`
}

// Thresholds of the statistics.
const (
	SilenceThreshold = 0.001 // −60 dBFS
	ClipLevel        = 32767.0 / 32768
	ClipRun          = 3
)

type statsAcc struct {
	rate, ch    int
	n           int64
	sum         []float64
	first, last int64 // frame indices of the first/last non-silent frame, -1 if none
	run         []int64
	clipped     int64
}

func newStats(rate, ch int) *statsAcc {
	return &statsAcc{rate: rate, ch: ch, sum: make([]float64, ch), run: make([]int64, ch), first: -1, last: -1}
}

func (s *statsAcc) write(x []float64) {
	ch := s.ch
	for i := 0; i < len(x); i += ch {
		loud := false
		for c := 0; c < ch; c++ {
			v := x[i+c]
			s.sum[c] += v
			a := math.Abs(v)
			if a >= SilenceThreshold {
				loud = true
			}
			if a >= ClipLevel {
				s.run[c]++
				switch {
				case s.run[c] == ClipRun:
					s.clipped += ClipRun
				case s.run[c] > ClipRun:
					s.clipped++
				}
			} else {
				s.run[c] = 0
			}
		}
		if loud {
			if s.first < 0 {
				s.first = s.n
			}
			s.last = s.n
		}
		s.n++
	}
}

func (s *statsAcc) result() Stats {
	st := Stats{Frames: s.n, DCOffset: make([]float64, s.ch), ClippedSamples: s.clipped}
	for c := range st.DCOffset {
		if s.n > 0 {
			st.DCOffset[c] = s.sum[c] / float64(s.n)
		}
	}
	r := float64(s.rate)
	if s.first < 0 {
		st.LeadingSilenceSeconds = float64(s.n) / r
	} else {
		st.LeadingSilenceSeconds = float64(s.first) / r
		st.TrailingSilenceSeconds = float64(s.n-1-s.last) / r
	}
	return st
}
