package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/maxbooster/maxbooster/audio/compliance"
	"github.com/maxbooster/maxbooster/audio/report"
)

// runAnalyze implements `maxbooster analyze FILE... [--json] [--series]
// [--target PLATFORM]`: decode each file once and print its format, tags,
// loudness, tempo, key and compliance. Flags may come before or after the
// files. With --json it prints one JSON object per file, one per line.
func runAnalyze(ctx context.Context, c *cli, args []string) int {
	fs := flag.NewFlagSet("analyze", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	asJSON := fs.Bool("json", false, "print one JSON object per file (camelCase fields)")
	series := fs.Bool("series", false, "add momentary and short-term loudness every 10 ms")
	target := fs.String("target", "", "report only this platform ("+platformIDs()+")")
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "Usage: maxbooster analyze FILE... [--json] [--series] [--target PLATFORM]\n\nFlags:\n")
		fs.PrintDefaults()
	}
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitOK
			}
			return exitUsage
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) == 0 {
		fs.Usage()
		return exitUsage
	}
	if *target != "" {
		if _, err := compliance.Lookup(*target); err != nil {
			fmt.Fprintf(c.stderr, "maxbooster: %v\n", err)
			return exitUsage
		}
	}
	code := exitOK
	enc := json.NewEncoder(c.stdout)
	for _, f := range files {
		rep, err := report.AnalyzeFile(ctx, f, report.Options{Series: *series, Platform: *target})
		if err != nil {
			if ctx.Err() != nil {
				fmt.Fprintf(c.stderr, "maxbooster: interrupted\n")
				return exitFailed
			}
			fmt.Fprintf(c.stderr, "maxbooster: %s: %v\n", f, err)
			if *asJSON {
				_ = enc.Encode(map[string]string{"file": f, "error": err.Error()})
			}
			code = exitFailed
			continue
		}
		if *asJSON {
			if err := enc.Encode(rep); err != nil {
				fmt.Fprintf(c.stderr, "maxbooster: %s: %v\n", f, err)
				code = exitFailed
			}
			continue
		}
		printReport(c.stdout, rep)
	}
	return code
}

func platformIDs() string {
	var ids []string
	for _, p := range compliance.Platforms() {
		ids = append(ids, p.ID)
	}
	return strings.Join(ids, ", ")
}

// num formats a value with one decimal, or "—" when undefined.
func num(v report.Num) string {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "—"
	}
	return fmt.Sprintf("%.1f", f)
}

func printReport(w io.Writer, r *report.Report) {
	f := r.Format
	fmt.Fprintf(w, "%s\n", r.File)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	depth := fmt.Sprintf("%d-bit", f.BitDepth)
	if f.Float {
		depth += " float"
	}
	if f.BitDepth == 0 {
		depth = "lossy"
	}
	fmt.Fprintf(tw, "  format\t%s %s, %d Hz, %s, %d ch (%s), %.2f s, %d kb/s\n", f.Container, f.Codec, f.SampleRate, depth,
		f.Channels, strings.Join(f.Layout, " "), float64(f.DurationSeconds), f.BitrateBps/1000)
	t := r.Tags
	if t.Source != "" {
		var parts []string
		for _, p := range [][2]string{{"title", t.Title}, {"artist", t.Artist}, {"album", t.Album}, {"genre", t.Genre}, {"key", t.Key}, {"isrc", t.ISRC}} {
			if p[1] != "" {
				parts = append(parts, p[0]+"="+p[1])
			}
		}
		if t.Year > 0 {
			parts = append(parts, fmt.Sprintf("year=%d", t.Year))
		}
		if t.Track > 0 {
			parts = append(parts, fmt.Sprintf("track=%d/%d", t.Track, t.TrackTotal))
		}
		if t.BPM > 0 {
			parts = append(parts, fmt.Sprintf("bpm=%g", t.BPM))
		}
		fmt.Fprintf(tw, "  tags\t%s: %s\n", t.Source, strings.Join(parts, ", "))
	}
	l := r.Loudness
	fmt.Fprintf(tw, "  loudness\tI %s LUFS, LRA %s LU, true peak %s dBTP, sample peak %s dBFS, max M %s LUFS, max S %s LUFS, PLR %s dB\n",
		num(l.IntegratedLUFS), num(l.LoudnessRangeLU), num(l.TruePeakDBTP), num(l.SamplePeakDBFS), num(l.MomentaryMaxLUFS), num(l.ShortTermMaxLUFS), num(l.PLRDB))
	if r.Tempo != nil {
		fmt.Fprintf(tw, "  tempo\t%.1f BPM (confidence %.2f)\n", r.Tempo.BPM, r.Tempo.Confidence)
	}
	if r.Key != nil {
		fmt.Fprintf(tw, "  key\t%s (%s, confidence %.2f)\n", r.Key.Name, r.Key.Camelot, r.Key.Confidence)
	}
	tw.Flush()
	fmt.Fprintf(w, "  platforms (table %s)\n", r.Compliance.TableVersion)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, p := range r.Compliance.Platforms {
		status := "ok"
		if !p.Pass {
			status = "check"
		}
		playback, tp := "—", "—"
		if p.PlaybackLUFS != nil {
			playback = fmt.Sprintf("%.1f", *p.PlaybackLUFS)
		}
		if p.PlaybackTruePeakDBTP != nil {
			tp = fmt.Sprintf("%.1f", *p.PlaybackTruePeakDBTP)
		}
		fmt.Fprintf(tw, "    %s\t%.0f LUFS\tgain %+.1f dB\tplays at %s LUFS, %s dBTP\t%s\n", p.Name, p.TargetLUFS, p.GainDB, playback, tp, status)
		for _, a := range p.Advice {
			fmt.Fprintf(tw, "      \t%s\n", a)
		}
	}
	tw.Flush()
	d := r.Compliance.Delivery
	ready := "ready for distribution"
	if !d.Ready {
		ready = "not ready for distribution"
	}
	fmt.Fprintf(w, "  delivery: %s\n", ready)
	for _, c := range d.Checks {
		if c.Status != compliance.StatusPass {
			fmt.Fprintf(w, "    %s %s: %s\n", c.Status, c.ID, c.Message)
		}
	}
	if r.Series != nil {
		fmt.Fprintf(w, "  series (seconds, momentary LUFS, short-term LUFS)\n")
		m, s := r.Series.Momentary, r.Series.ShortTerm
		for i, v := range m.LUFS {
			end := m.FirstEndSeconds + float64(i)*m.HopSeconds
			st := "—"
			if k := int(math.Round((end - s.FirstEndSeconds) / s.HopSeconds)); k >= 0 && k < len(s.LUFS) {
				st = num(s.LUFS[k])
			}
			fmt.Fprintf(w, "    %.2f\t%s\t%s\n", end, num(v), st)
		}
	}
	fmt.Fprintln(w)
}
