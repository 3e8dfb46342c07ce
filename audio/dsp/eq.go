package dsp

import (
	"fmt"
	"math"
)

// FilterType is the shape of an equaliser band (RBJ Audio EQ Cookbook).
type FilterType int

// Band shapes.
const (
	Peaking FilterType = iota
	LowShelf
	HighShelf
	HighPass
	LowPass
)

// Band is one section of the parametric equaliser.
type Band struct {
	Type   FilterType
	Hz     float64
	GainDB float64 // ignored by HighPass and LowPass
	Q      float64 // 0 means 1/√2
}

// biquad is a normalised second-order section (a0 = 1).
type biquad struct{ b0, b1, b2, a1, a2 float64 }

func design(b Band, rate float64) (biquad, error) {
	if b.Hz <= 0 || b.Hz >= rate/2 || b.Q < 0 || math.Abs(b.GainDB) > 48 {
		return biquad{}, fmt.Errorf("%w: band %+v at %v Hz", ErrConfig, b, rate)
	}
	q := b.Q
	if q == 0 {
		q = 1 / math.Sqrt2
	}
	w := 2 * math.Pi * b.Hz / rate
	sn, cs := math.Sincos(w)
	alpha := sn / (2 * q)
	a := math.Pow(10, b.GainDB/40)
	var b0, b1, b2, a0, a1, a2 float64
	switch b.Type {
	case Peaking:
		b0, b1, b2 = 1+alpha*a, -2*cs, 1-alpha*a
		a0, a1, a2 = 1+alpha/a, -2*cs, 1-alpha/a
	case LowShelf:
		s := 2 * math.Sqrt(a) * alpha
		b0, b1, b2 = a*((a+1)-(a-1)*cs+s), 2*a*((a-1)-(a+1)*cs), a*((a+1)-(a-1)*cs-s)
		a0, a1, a2 = (a+1)+(a-1)*cs+s, -2*((a-1)+(a+1)*cs), (a+1)+(a-1)*cs-s
	case HighShelf:
		s := 2 * math.Sqrt(a) * alpha
		b0, b1, b2 = a*((a+1)+(a-1)*cs+s), -2*a*((a-1)+(a+1)*cs), a*((a+1)+(a-1)*cs-s)
		a0, a1, a2 = (a+1)-(a-1)*cs+s, 2*((a-1)-(a+1)*cs), (a+1)-(a-1)*cs-s
	case HighPass:
		b0, b1, b2 = (1+cs)/2, -(1 + cs), (1+cs)/2
		a0, a1, a2 = 1+alpha, -2*cs, 1-alpha
	case LowPass:
		b0, b1, b2 = (1-cs)/2, 1-cs, (1-cs)/2
		a0, a1, a2 = 1+alpha, -2*cs, 1-alpha
	default:
		return biquad{}, fmt.Errorf("%w: filter type %d", ErrConfig, b.Type)
	}
	return biquad{b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0}, nil
}

// EQ is a parametric equaliser: bands in series, float64 state per channel.
type EQ struct {
	ch    int
	bands []biquad
	state [][2]float64 // [band*ch + c]
}

// MaxBands bounds the equaliser size.
const MaxBands = 32

// NewEQ designs the bands for rate.
func NewEQ(rate, channels int, bands []Band) (*EQ, error) {
	if channels < 1 || len(bands) > MaxBands {
		return nil, fmt.Errorf("%w: %d channels, %d bands", ErrConfig, channels, len(bands))
	}
	e := &EQ{ch: channels, state: make([][2]float64, len(bands)*channels)}
	for _, b := range bands {
		q, err := design(b, float64(rate))
		if err != nil {
			return nil, err
		}
		e.bands = append(e.bands, q)
	}
	return e, nil
}

// Process implements Processor.
func (e *EQ) Process(x []float64) []float64 {
	ch := e.ch
	for bi, q := range e.bands {
		for c := 0; c < ch; c++ {
			st := &e.state[bi*ch+c]
			z1, z2 := st[0], st[1]
			for i := c; i < len(x); i += ch {
				v := x[i]
				y := q.b0*v + z1
				z1 = q.b1*v - q.a1*y + z2
				z2 = q.b2*v - q.a2*y
				x[i] = y
			}
			st[0], st[1] = z1, z2
		}
	}
	return x
}

// Flush implements Processor.
func (e *EQ) Flush() []float64 { return nil }

// Response returns the magnitude (dB) of the whole equaliser at hz.
func (e *EQ) Response(hz, rate float64) float64 {
	w := 2 * math.Pi * hz / rate
	z1 := complex(math.Cos(-w), math.Sin(-w))
	z2 := z1 * z1
	g := 0.0
	for _, q := range e.bands {
		h := (complex(q.b0, 0) + complex(q.b1, 0)*z1 + complex(q.b2, 0)*z2) / (1 + complex(q.a1, 0)*z1 + complex(q.a2, 0)*z2)
		g += 20 * math.Log10(math.Hypot(real(h), imag(h)))
	}
	return g
}
