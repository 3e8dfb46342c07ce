package compliance

import (
	"fmt"
	"math"
)

// Delivery describes a master for the distribution readiness check.
type Delivery struct {
	Format          string
	Lossless        bool
	SampleRate      int
	BitDepth        int
	Float           bool
	Channels        int
	DurationSeconds float64
	TruePeakDBTP    float64
	SamplePeakDBFS  float64
	// ClippedSamples counts samples in runs of 3 or more at full scale.
	ClippedSamples         int64
	LeadingSilenceSeconds  float64
	TrailingSilenceSeconds float64
	// DCOffset is the mean of each channel (full scale = 1).
	DCOffset []float64
}

// Status of one readiness check.
type Status string

// Check outcomes: a failure blocks delivery at most distributors, a warning
// is accepted by some and worth fixing.
const (
	StatusPass Status = "pass"
	StatusWarn Status = "warn"
	StatusFail Status = "fail"
)

// Check is one line of the readiness report.
type Check struct {
	ID      string `json:"id"`
	Status  Status `json:"status"`
	Message string `json:"message"`
}

// Thresholds of the readiness check. Sources: distributor help pages
// (Symphonic, Catapult, AudioMaze, MusicMyBand, me:label; research notes §8):
// WAV/FLAC, stereo, 16- or 24-bit at 44.1 kHz or more, at most 10 s of
// silence at either end, at least 30 s long, peaks not above -0.3 dBFS.
const (
	MinSampleRate        = 44100
	MinBitDepth          = 16
	MaxEdgeSilence       = 10.0  // seconds
	WarnEdgeSilence      = 2.0   // seconds
	MinDuration          = 30.0  // seconds
	MaxSamplePeakDBFS    = -0.3  // dBFS
	MaxTruePeakDBTP      = -1.0  // dBTP, every platform's recommendation
	FailDCOffsetDBFS     = -40.0 // 1 % of full scale
	WarnDCOffsetDBFS     = -60.0 // 0.1 % of full scale
	silenceThresholdDBFS = -60.0
)

// SilenceThresholdDBFS is the level below which the ends of a track count as
// silence for the readiness check.
const SilenceThresholdDBFS = silenceThresholdDBFS

// Ready runs every check; the master is ready when none failed.
func Ready(d Delivery) (ready bool, checks []Check) {
	add := func(id string, s Status, format string, a ...any) {
		checks = append(checks, Check{ID: id, Status: s, Message: fmt.Sprintf(format, a...)})
	}
	switch {
	case d.Lossless:
		add("lossless", StatusPass, "%s is lossless.", d.Format)
	default:
		add("lossless", StatusFail, "%s is lossy; distributors ask for WAV or FLAC made from the master, not a re-encode.", d.Format)
	}
	switch {
	case d.SampleRate < MinSampleRate:
		add("sample-rate", StatusFail, "%d Hz is below the 44100 Hz distributors require.", d.SampleRate)
	case d.SampleRate == 44100 || d.SampleRate == 48000:
		add("sample-rate", StatusPass, "%d Hz.", d.SampleRate)
	default:
		add("sample-rate", StatusWarn, "%d Hz is accepted by some distributors only (hi-res); 44100 Hz is accepted everywhere.", d.SampleRate)
	}
	switch {
	case !d.Lossless:
		// Covered by the lossless check: a lossy file has no bit depth.
	case d.Float:
		add("bit-depth", StatusWarn, "%d-bit float is not on distributors' lists; convert to 24-bit PCM with dither.", d.BitDepth)
	case d.BitDepth < MinBitDepth:
		add("bit-depth", StatusFail, "%d-bit is below the 16 bits distributors require.", d.BitDepth)
	case d.BitDepth == 16 || d.BitDepth == 24:
		add("bit-depth", StatusPass, "%d-bit PCM.", d.BitDepth)
	default:
		add("bit-depth", StatusWarn, "%d-bit PCM is unusual; deliver 16 or 24 bits.", d.BitDepth)
	}
	switch d.Channels {
	case 2:
		add("channels", StatusPass, "Stereo.")
	case 1:
		add("channels", StatusFail, "Mono; several distributors reject mono, deliver it as two identical channels.")
	default:
		add("channels", StatusFail, "%d channels; music distribution takes stereo masters.", d.Channels)
	}
	switch {
	case d.ClippedSamples > 0:
		add("clipping", StatusFail, "%d samples sit in runs of clipped (full-scale) samples.", d.ClippedSamples)
	case d.SamplePeakDBFS > MaxSamplePeakDBFS:
		add("clipping", StatusWarn, "Sample peak %.2f dBFS is above %.1f dBFS.", d.SamplePeakDBFS, MaxSamplePeakDBFS)
	default:
		add("clipping", StatusPass, "No clipping (sample peak %.2f dBFS).", d.SamplePeakDBFS)
	}
	if d.TruePeakDBTP > MaxTruePeakDBTP {
		add("true-peak", StatusWarn, "True peak %.2f dBTP is above %.0f dBTP; lossy encoding by the platforms will clip.", d.TruePeakDBTP, MaxTruePeakDBTP)
	} else {
		add("true-peak", StatusPass, "True peak %.2f dBTP.", d.TruePeakDBTP)
	}
	edge := func(id, where string, s float64) {
		switch {
		case s > MaxEdgeSilence:
			add(id, StatusFail, "%.1f s of silence at the %s (at most %.0f s).", s, where, MaxEdgeSilence)
		case s > WarnEdgeSilence:
			add(id, StatusWarn, "%.1f s of silence at the %s.", s, where)
		default:
			add(id, StatusPass, "%.2f s of silence at the %s.", s, where)
		}
	}
	edge("leading-silence", "start", d.LeadingSilenceSeconds)
	edge("trailing-silence", "end", d.TrailingSilenceSeconds)
	if d.DurationSeconds < MinDuration {
		add("duration", StatusWarn, "%.1f s is shorter than the 30 s some stores require.", d.DurationSeconds)
	} else {
		add("duration", StatusPass, "%.1f s.", d.DurationSeconds)
	}
	dc := 0.0
	for _, v := range d.DCOffset {
		dc = math.Max(dc, math.Abs(v))
	}
	dcdb := 20 * math.Log10(dc)
	switch {
	case dcdb > FailDCOffsetDBFS:
		add("dc-offset", StatusFail, "DC offset %.1f dBFS; remove it with a high-pass filter.", dcdb)
	case dcdb > WarnDCOffsetDBFS:
		add("dc-offset", StatusWarn, "DC offset %.1f dBFS.", dcdb)
	default:
		add("dc-offset", StatusPass, "No DC offset.")
	}
	ready = true
	for _, c := range checks {
		if c.Status == StatusFail {
			ready = false
		}
	}
	return ready, checks
}
