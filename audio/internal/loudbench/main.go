// Command loudbench compares our loudness meter with libebur128 and with
// ffmpeg's ebur128 filter on the same files, in one run: CPU seconds, speed
// relative to real time per CPU-second, peak memory, and the measured values
// side by side. `make bench-audio` runs it.
//
// The workload is the issue's: integrated loudness, LRA, true peak, and
// momentary/short-term every 10 ms, on 48 kHz 24-bit stereo pink noise. The
// libebur128 side is ebur128ref.c, compiled here with cc and pkg-config
// (Debian libebur128-dev). Two lengths show whether memory grows with the
// programme.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/maxbooster/maxbooster/audio"
	"github.com/maxbooster/maxbooster/audio/loudness"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "measure" {
		if err := measure(os.Args[2], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "loudbench:", err)
			os.Exit(1)
		}
		return
	}
	lengths := flag.String("seconds", "60,300", "comma-separated programme lengths in seconds")
	flag.Parse()
	if err := bench(context.Background(), *lengths); err != nil {
		fmt.Fprintln(os.Stderr, "loudbench:", err)
		os.Exit(1)
	}
}

// values are what every tool reports (NaN where a tool does not).
type values struct {
	Integrated float64 `json:"integrated"`
	LRA        float64 `json:"lra"`
	TruePeak   float64 `json:"truePeak"`
	MaxM       float64 `json:"maxM"`
	MaxS       float64 `json:"maxS"`
}

// measure is our side: decode the WAV and meter it.
func measure(path string, out io.Writer) error {
	r, err := audio.Open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	info := r.Info()
	m, err := loudness.New(info.SampleRate, info.Layout.LoudnessWeights(), loudness.Options{})
	if err != nil {
		return err
	}
	buf := make([]float64, 8192*info.Channels)
	for {
		n, err := r.Read(buf)
		m.Write(buf[:n])
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	res := m.Result()
	return json.NewEncoder(out).Encode(values{res.Integrated, res.Range, res.TruePeak, res.MomentaryMax, res.ShortTermMax})
}

// pinkNoise writes seconds of 48 kHz 24-bit stereo pink noise (Paul Kellet's
// filter over white noise, independent channels).
func pinkNoise(path string, seconds int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := audio.NewWAVWriter(f, audio.WAVOptions{SampleRate: 48000, Channels: 2, Format: audio.PCM24})
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(7, 11)) //nolint:gosec // G404: test signal, not security
	var b [2][7]float64
	buf := make([]float64, 2*4800)
	for range seconds * 10 {
		for i := range buf {
			c := i % 2
			x := rng.NormFloat64() * 0.05
			s := &b[c]
			s[0] = 0.99886*s[0] + x*0.0555179
			s[1] = 0.99332*s[1] + x*0.0750759
			s[2] = 0.96900*s[2] + x*0.1538520
			s[3] = 0.86650*s[3] + x*0.3104856
			s[4] = 0.55000*s[4] + x*0.5329522
			s[5] = -0.7616*s[5] - x*0.0168980
			buf[i] = s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + x*0.5362
			s[6] = x * 0.115926
		}
		if err := w.Write(buf); err != nil {
			return err
		}
	}
	return w.Close()
}

type run struct {
	cpu    time.Duration
	maxRSS int64 // KiB
	vals   values
}

// exe runs a command and returns its CPU time, peak RSS and output.
func exe(ctx context.Context, name string, args ...string) (run, []byte, []byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return run{}, nil, nil, fmt.Errorf("%s: %w\n%s", name, err, errb.Bytes())
	}
	st := cmd.ProcessState
	r := run{cpu: st.UserTime() + st.SystemTime()}
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		r.maxRSS = ru.Maxrss
	}
	return r, out.Bytes(), errb.Bytes(), nil
}

// ffmpegSummary matches the filter's summary; ffmpeg prints one for a
// probing instance of the graph first (-70 LUFS), so the last one counts.
var ffmpegSummary = regexp.MustCompile(`(?s)Integrated loudness:\s+I:\s+(-?[\d.]+) LUFS.*?Loudness range:\s+LRA:\s+(-?[\d.]+) LU.*?True peak:\s+Peak:\s+(-?[\d.inf]+) dBFS`)

func bench(ctx context.Context, lengths string) error {
	dir, err := os.MkdirTemp("", "loudbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ref := filepath.Join(dir, "ebur128ref")
	src := "audio/internal/loudbench/ref/ebur128ref.c"
	flags, err := exec.CommandContext(ctx, "pkg-config", "--cflags", "--libs", "libebur128").Output()
	if err != nil {
		return fmt.Errorf("pkg-config libebur128 (install libebur128-dev): %w", err)
	}
	args := append([]string{"-O2", "-o", ref, src}, splitFields(string(flags))...)
	if out, err := exec.CommandContext(ctx, "cc", append(args, "-lm")...).CombinedOutput(); err != nil { //nolint:gosec // G204: fixed tool name
		return fmt.Errorf("cc: %w\n%s", err, out)
	}
	ffmpeg, ffErr := exec.LookPath("ffmpeg")

	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "length\ttool\tCPU s\t× realtime per CPU-s\tmax RSS MiB\tI LUFS\tLRA LU\tTP dBTP\tmax M\tmax S\t")
	for _, s := range splitFields(lengths) {
		seconds, err := strconv.Atoi(s)
		if err != nil || seconds < 5 || seconds > 3600 {
			return fmt.Errorf("bad length %q", s)
		}
		wav := filepath.Join(dir, fmt.Sprintf("pink%d.wav", seconds))
		if err := pinkNoise(wav, seconds); err != nil {
			return err
		}
		type tool struct {
			name string
			run  func() (run, error)
		}
		tools := []tool{
			{"maxbooster", func() (run, error) {
				r, out, _, err := exe(ctx, self, "measure", wav)
				if err == nil {
					err = json.Unmarshal(out, &r.vals)
				}
				return r, err
			}},
			{"libebur128", func() (run, error) {
				r, out, _, err := exe(ctx, ref, wav)
				if err == nil {
					err = json.Unmarshal(out, &r.vals)
				}
				return r, err
			}},
		}
		tools = append(tools, tool{"libebur128 no M/S", func() (run, error) {
			r, out, _, err := exe(ctx, ref, "-no-ms", wav)
			if err == nil {
				r.vals.MaxM, r.vals.MaxS = math.NaN(), math.NaN()
				var v struct{ Integrated, LRA, TruePeak float64 }
				err = json.Unmarshal(out, &v)
				r.vals.Integrated, r.vals.LRA, r.vals.TruePeak = v.Integrated, v.LRA, v.TruePeak
			}
			return r, err
		}})
		if ffErr == nil {
			tools = append(tools, tool{"ffmpeg ebur128", func() (run, error) {
				r, _, errOut, err := exe(ctx, ffmpeg, "-nostdin", "-hide_banner", "-nostats", "-i", wav,
					"-filter_complex", "ebur128=peak=true:framelog=verbose", "-f", "null", "-")
				if err != nil {
					return r, err
				}
				all := ffmpegSummary.FindAllSubmatch(errOut, -1)
				if len(all) == 0 {
					return r, fmt.Errorf("ffmpeg summary not found:\n%s", errOut)
				}
				m := all[len(all)-1]
				r.vals.Integrated, _ = strconv.ParseFloat(string(m[1]), 64)
				r.vals.LRA, _ = strconv.ParseFloat(string(m[2]), 64)
				r.vals.TruePeak, _ = strconv.ParseFloat(string(m[3]), 64)
				r.vals.MaxM, r.vals.MaxS = math.NaN(), math.NaN() // not in its summary
				return r, nil
			}})
		}
		for _, t := range tools {
			r, err := t.run()
			if err != nil {
				return err
			}
			fmt.Fprintf(tw, "%d s\t%s\t%.2f\t%.0f\t%.1f\t%.2f\t%.2f\t%.2f\t%s\t%s\t\n", seconds, t.name, r.cpu.Seconds(),
				float64(seconds)/r.cpu.Seconds(), float64(r.maxRSS)/1024, r.vals.Integrated, r.vals.LRA, r.vals.TruePeak, f2(r.vals.MaxM), f2(r.vals.MaxS))
		}
		os.Remove(wav)
	}
	if ffErr != nil {
		fmt.Fprintln(tw, "ffmpeg not installed: its row is missing")
	}
	return tw.Flush()
}

func f2(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf("%.2f", v)
}

func splitFields(s string) []string {
	var out []string
	for _, f := range regexp.MustCompile(`[,\s]+`).Split(s, -1) {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}
