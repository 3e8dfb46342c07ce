package analysis

import (
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
)

// Spectrogram is a log-frequency magnitude image: Width columns in time,
// Height rows from MaxHz (top) down to MinHz, values in dBFS.
type Spectrogram struct {
	Width, Height int
	MinHz, MaxHz  float64
	// DB holds Height values per column (row 0 = lowest frequency).
	DB [][]float32
	// SecondsPerColumn is the time each column covers.
	SecondsPerColumn float64
}

const (
	specFFT   = 2048
	specMinHz = 20.0
	specFloor = -120.0
)

type spectrogramAcc struct {
	rate, w, h int
	st         *stft
	rows       [][2]int // FFT bin range per row
	cols       [][]float32
	merge      int // FFT frames per column
	pending    []float32
	npending   int
	hop        int
}

func newSpectrogram(rate, w, h int, framesHint int64) *spectrogramAcc {
	s := &spectrogramAcc{rate: rate, w: w, h: h, merge: 1}
	s.hop = specFFT / 2
	if framesHint > specFFT && w > 1 {
		// At least w frames fit: (frames−fft)/hop + 1 ≥ w.
		s.hop = int(max(int64(specFFT/8), (framesHint-specFFT)/int64(w-1)))
	}
	nyq := float64(rate) / 2
	binHz := float64(rate) / specFFT
	s.rows = make([][2]int, h)
	for r := range s.rows {
		f0 := specMinHz * math.Pow(nyq/specMinHz, float64(r)/float64(h))
		f1 := specMinHz * math.Pow(nyq/specMinHz, float64(r+1)/float64(h))
		b0 := int(math.Round(f0 / binHz))
		b1 := max(b0+1, int(math.Round(f1/binHz)))
		s.rows[r] = [2]int{min(b0, specFFT/2), min(b1, specFFT/2+1)}
	}
	s.pending = make([]float32, h)
	s.st = newSTFT(specFFT, s.hop, s.frame)
	return s
}

func (s *spectrogramAcc) write(x []float64) { s.st.write(x) }

func (s *spectrogramAcc) frame(mag []float64) {
	for r, b := range s.rows {
		m := 0.0
		for _, v := range mag[b[0]:max(b[1], b[0]+1)] {
			m = math.Max(m, v)
		}
		d := float32(math.Max(specFloor, db(m)))
		if s.npending == 0 || d > s.pending[r] {
			s.pending[r] = d
		}
	}
	s.npending++
	if s.npending == s.merge {
		s.cols = append(s.cols, append([]float32(nil), s.pending...))
		s.npending = 0
	}
	// Unknown length: keep at most 2·width columns by merging pairs.
	if len(s.cols) >= 2*s.w {
		for i := 0; i < len(s.cols)/2; i++ {
			a, b := s.cols[2*i], s.cols[2*i+1]
			for r := range a {
				a[r] = max(a[r], b[r])
			}
			s.cols[i] = a
		}
		s.cols = s.cols[:len(s.cols)/2]
		s.merge *= 2
	}
}

func (s *spectrogramAcc) result() *Spectrogram {
	if s.npending > 0 {
		s.cols = append(s.cols, append([]float32(nil), s.pending...))
		s.npending = 0
	}
	sp := &Spectrogram{Width: s.w, Height: s.h, MinHz: specMinHz, MaxHz: float64(s.rate) / 2,
		SecondsPerColumn: float64(s.hop*s.merge) / float64(s.rate)}
	n := len(s.cols)
	if n == 0 {
		sp.Width = 0
		return sp
	}
	if n < s.w {
		sp.Width = n
	}
	sp.DB = make([][]float32, sp.Width)
	for x := range sp.DB {
		// Each output column takes the max of the input columns it covers.
		c0 := x * n / sp.Width
		c1 := max(c0+1, (x+1)*n/sp.Width)
		col := append([]float32(nil), s.cols[c0]...)
		for _, c := range s.cols[c0+1 : c1] {
			for r := range col {
				col[r] = max(col[r], c[r])
			}
		}
		sp.DB[x] = col
	}
	sp.SecondsPerColumn *= float64(n) / float64(sp.Width)
	return sp
}

// palette is a dark-to-bright colour ramp (black, purple, red, orange,
// pale yellow), perceptually ordered like matplotlib's "inferno".
var palette = [...]color.RGBA{{0, 0, 4, 255}, {87, 16, 110, 255}, {188, 55, 84, 255}, {249, 142, 9, 255}, {252, 255, 164, 255}}

func colourAt(t float64) color.RGBA {
	t = math.Max(0, math.Min(1, t)) * float64(len(palette)-1)
	i := min(int(t), len(palette)-2)
	f := t - float64(i)
	a, b := palette[i], palette[i+1]
	mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x) + f*(float64(y)-float64(x)))) }
	return color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 255}
}

// Image renders the spectrogram, mapping floorDB…0 dBFS onto the palette
// (floorDB < 0, e.g. −100).
func (s *Spectrogram) Image(floorDB float64) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, max(s.Width, 1), s.Height))
	for x, col := range s.DB {
		for r, v := range col {
			img.SetRGBA(x, s.Height-1-r, colourAt(1-float64(v)/floorDB))
		}
	}
	return img
}

// WritePNG encodes Image(floorDB) as PNG.
func (s *Spectrogram) WritePNG(w io.Writer, floorDB float64) error {
	return png.Encode(w, s.Image(floorDB))
}

// RowHz returns the centre frequency of row r (0 = lowest).
func (s *Spectrogram) RowHz(r int) float64 {
	return s.MinHz * math.Pow(s.MaxHz/s.MinHz, (float64(r)+0.5)/float64(s.Height))
}
