package analysis

import (
	"fmt"
	"math"
)

// Key is the estimated musical key.
type Key struct {
	Tonic string `json:"tonic"` // "C", "C#", … "B"
	Mode  string `json:"mode"`  // "major" or "minor"
	Name  string `json:"name"`  // e.g. "A minor"
	// Camelot is the DJ wheel code (8B = C major, 8A = A minor).
	Camelot string `json:"camelot"`
	// Confidence is the correlation of the chroma with the best key profile
	// (−1…1); the margin to the runner-up is in Margin.
	Confidence float64 `json:"confidence"`
	Margin     float64 `json:"margin"`
}

var pitchNames = [12]string{"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"}

// Krumhansl–Kessler probe-tone profiles (Krumhansl 1990), tonic first.
var (
	majorProfile = [12]float64{6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88}
	minorProfile = [12]float64{6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17}
)

// Camelot wheel numbers for major keys by tonic (C = 8B) and minor keys
// (A = 8A).
var (
	camelotMajor = [12]int{8, 3, 10, 5, 12, 7, 2, 9, 4, 11, 6, 1}
	camelotMinor = [12]int{5, 12, 7, 2, 9, 4, 11, 6, 1, 8, 3, 10}
)

const (
	keyMinHz = 80.0
	keyMaxHz = 5000.0
)

type keyAcc struct {
	rate   int
	st     *stft
	bins   []int8 // pitch class per FFT bin, −1 = unused
	chroma [12]float64
	frames int
}

func newKey(rate int) *keyAcc {
	n := nextPow2(rate / 6) // ≈ 170 ms: semitone resolution from about 100 Hz
	k := &keyAcc{rate: rate, bins: make([]int8, n/2+1)}
	binHz := float64(rate) / float64(n)
	for b := range k.bins {
		f := float64(b) * binHz
		k.bins[b] = -1
		if f < keyMinHz || f > keyMaxHz {
			continue
		}
		midi := 69 + 12*math.Log2(f/440)
		// Skip bins between semitones, where leakage of two notes mixes.
		if math.Abs(midi-math.Round(midi)) > 0.35 {
			continue
		}
		k.bins[b] = int8(((int(math.Round(midi)) % 12) + 12) % 12)
	}
	k.st = newSTFT(n, n/2, k.frame)
	return k
}

func (k *keyAcc) write(x []float64) { k.st.write(x) }

// frame adds the log-compressed energy of each pitch class, normalised per
// frame so loud passages do not dominate.
func (k *keyAcc) frame(mag []float64) {
	var c [12]float64
	total := 0.0
	for b, pc := range k.bins {
		if pc >= 0 {
			v := mag[b] * mag[b]
			c[pc] += v
			total += v
		}
	}
	if total < 1e-10 {
		return
	}
	for i := range c {
		k.chroma[i] += math.Log1p(100 * c[i] / total)
	}
	k.frames++
}

func correlate(a, b [12]float64, rot int) float64 {
	var ma, mb float64
	for i := range a {
		ma += a[i]
		mb += b[i]
	}
	ma /= 12
	mb /= 12
	var num, da, dbb float64
	for i := range a {
		x := a[(i+rot)%12] - ma
		y := b[i] - mb
		num += x * y
		da += x * x
		dbb += y * y
	}
	if da == 0 || dbb == 0 {
		return 0
	}
	return num / math.Sqrt(da*dbb)
}

func (k *keyAcc) result() *Key {
	if k.frames < 8 {
		return nil
	}
	best, second := -2.0, -2.0
	var key Key
	for tonic := 0; tonic < 12; tonic++ {
		for _, minor := range []bool{false, true} {
			p := majorProfile
			if minor {
				p = minorProfile
			}
			r := correlate(k.chroma, p, tonic)
			if r > best {
				second = best
				best = r
				key = Key{Tonic: pitchNames[tonic], Mode: "major", Camelot: fmt.Sprintf("%dB", camelotMajor[tonic])}
				if minor {
					key.Mode, key.Camelot = "minor", fmt.Sprintf("%dA", camelotMinor[tonic])
				}
			} else if r > second {
				second = r
			}
		}
	}
	key.Name = key.Tonic + " " + key.Mode
	key.Confidence, key.Margin = best, best-second
	return &key
}
