package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/dhowden/tag"
)

// Tags are the descriptive metadata of a file. Empty strings and zeros mean
// "not present".
type Tags struct {
	Title       string   `json:"title,omitempty"`
	Artist      string   `json:"artist,omitempty"`
	Album       string   `json:"album,omitempty"`
	AlbumArtist string   `json:"albumArtist,omitempty"`
	Composer    string   `json:"composer,omitempty"`
	Genre       string   `json:"genre,omitempty"`
	Comment     string   `json:"comment,omitempty"`
	Year        int      `json:"year,omitempty"`
	Track       int      `json:"track,omitempty"`
	TrackTotal  int      `json:"trackTotal,omitempty"`
	Disc        int      `json:"disc,omitempty"`
	DiscTotal   int      `json:"discTotal,omitempty"`
	BPM         float64  `json:"bpm,omitempty"`
	Key         string   `json:"key,omitempty"`
	ISRC        string   `json:"isrc,omitempty"`
	Picture     *Picture `json:"picture,omitempty"`
	// Source names the tag format read: "id3v2.3", "id3v2.4", "id3v1",
	// "vorbis", "mp4", "riff-info", or "" when the file has none.
	Source string `json:"source,omitempty"`
}

// Picture is embedded cover art.
type Picture struct {
	MIMEType string `json:"mimeType"`
	Data     []byte `json:"-"`
	Size     int    `json:"size"`
}

// MaxPictureBytes bounds the cover art kept from a tag.
const MaxPictureBytes = 16 << 20

// isrcPattern is the ISRC code (ISO 3901): country, registrant, year,
// designation, with optional hyphens.
var isrcPattern = regexp.MustCompile(`^[A-Z]{2}-?[A-Z0-9]{3}-?[0-9]{2}-?[0-9]{5}$`)

// clean removes the NUL padding and terminators that ID3 frames carry
// (dhowden/tag returns "\x00USRC…" for some TSRC frames) and surrounding space.
func clean(s string) string {
	return strings.TrimSpace(strings.Trim(s, "\x00"))
}

// normISRC returns the code without hyphens, upper case, or "" if the value
// is not an ISRC.
func normISRC(s string) string {
	s = strings.ToUpper(clean(s))
	if !isrcPattern.MatchString(s) {
		return ""
	}
	return strings.ReplaceAll(s, "-", "")
}

// numberPair parses "3", "3/12" or "03 of 12".
func numberPair(s string) (n, total int) {
	s = clean(s)
	if i := strings.IndexAny(s, "/"); i >= 0 {
		n, _ = strconv.Atoi(strings.TrimSpace(s[:i]))
		total, _ = strconv.Atoi(strings.TrimSpace(s[i+1:]))
		return n, total
	}
	n, _ = strconv.Atoi(s)
	return n, 0
}

func parseYear(s string) int {
	s = clean(s)
	if len(s) >= 4 {
		if y, err := strconv.Atoi(s[:4]); err == nil {
			return y
		}
	}
	return 0
}

// ReadTags reads the tags of a file: ID3v1/v2.3/v2.4 (MP3, and "id3 "
// chunks in WAV and AIFF), FLAC and Ogg Vorbis/Opus comments, MP4 atoms and
// WAV LIST/INFO. A file without tags gives empty Tags and no error.
func ReadTags(rs io.ReadSeeker, size int64) (Tags, error) {
	format, err := sniffAt(rs)
	if err != nil {
		return Tags{}, err
	}
	switch format {
	case FormatWAV:
		return riffTags(rs, size)
	case FormatAIFF:
		h, err := parseAIFF(rs, size)
		if err != nil {
			return Tags{}, err
		}
		for _, c := range h.chunks {
			if strings.EqualFold(c.id, "ID3 ") {
				return id3Chunk(rs, c)
			}
		}
		return Tags{}, nil
	default:
	}
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		return Tags{}, fmt.Errorf("audio: seek: %w", err)
	}
	t, err := fromLibrary(func() (tag.Metadata, error) { return tag.ReadFrom(rs) })
	if err != nil {
		return t, err
	}
	if format == FormatMP4 {
		// dhowden/tag drops "tmpo" (integer class, which it treats as implicit).
		if bpm, ok := mp4Tempo(rs, size); ok {
			t.BPM = float64(bpm)
		}
	}
	return t, nil
}

// fromLibrary converts dhowden/tag metadata and fills the gaps it leaves.
func fromLibrary(read func() (tag.Metadata, error)) (t Tags, err error) {
	defer recoverMalformed(&err, "tag")
	m, err := read()
	if errors.Is(err, tag.ErrNoTagsFound) {
		return Tags{}, nil
	}
	if err != nil {
		return Tags{}, fmt.Errorf("%w: tags: %w", ErrMalformed, err)
	}
	t = Tags{
		Title: clean(m.Title()), Artist: clean(m.Artist()), Album: clean(m.Album()),
		AlbumArtist: clean(m.AlbumArtist()), Composer: clean(m.Composer()),
		Genre: clean(m.Genre()), Comment: clean(m.Comment()), Year: m.Year(),
	}
	t.Track, t.TrackTotal = m.Track()
	t.Disc, t.DiscTotal = m.Disc()
	if p := m.Picture(); p != nil && len(p.Data) <= MaxPictureBytes {
		t.Picture = &Picture{MIMEType: p.MIMEType, Data: p.Data, Size: len(p.Data)}
	}
	raw := map[string]string{}
	for k, v := range m.Raw() {
		switch v := v.(type) {
		case string:
			raw[strings.ToLower(k)] = v
		case int:
			raw[strings.ToLower(k)] = strconv.Itoa(v)
		case *tag.Comm:
			if v == nil {
				break
			}
			raw[strings.ToLower(k)] = v.Text
			// TXXX frames are user-defined text keyed by their description
			// (ffmpeg writes comment and ISRC that way).
			if strings.HasPrefix(k, "TXXX") || strings.HasPrefix(k, "TXX") {
				raw["txxx:"+strings.ToLower(clean(v.Description))] = v.Text
			}
		}
	}
	get := func(keys ...string) string {
		for _, k := range keys {
			if v := clean(raw[k]); v != "" {
				return v
			}
		}
		return ""
	}
	switch m.Format() {
	case tag.ID3v2_3:
		t.Source = "id3v2.3"
	case tag.ID3v2_4:
		t.Source = "id3v2.4"
	case tag.ID3v2_2:
		t.Source = "id3v2.2"
	case tag.ID3v1:
		t.Source = "id3v1"
	case tag.VORBIS:
		t.Source = "vorbis"
		// dhowden/tag falls back to PERFORMER, which is not the composer.
		t.Composer = get("composer")
		// dhowden/tag reads TRACKNUMBER=3/12 as 0: Atoi fails on the slash.
		if n, total := numberPair(raw["tracknumber"]); n > 0 {
			t.Track = n
			if total > 0 {
				t.TrackTotal = total
			}
		}
		if n, total := numberPair(raw["discnumber"]); n > 0 {
			t.Disc = n
			if total > 0 {
				t.DiscTotal = total
			}
		}
		if t.Year == 0 {
			t.Year = parseYear(get("date", "year"))
		}
	case tag.MP4:
		t.Source = "mp4"
	default:
	}
	if t.Comment == "" {
		t.Comment = get("txxx:comment")
	}
	if bpm, err := strconv.ParseFloat(get("tbpm", "bpm", "tempo", "tbp", "txxx:bpm"), 64); err == nil && bpm > 0 && bpm < 1000 {
		t.BPM = bpm
	}
	t.Key = get("tkey", "initialkey", "key", "initial key", "txxx:initialkey", "txxx:key")
	t.ISRC = normISRC(get("tsrc", "isrc", "txxx:isrc"))
	return t, nil
}

// id3Chunk reads an ID3v2 tag stored in a RIFF/AIFF chunk.
func id3Chunk(rs io.ReadSeeker, c riffChunk) (Tags, error) {
	if c.size > 64<<20 {
		return Tags{}, fmt.Errorf("%w: id3 chunk of %d bytes", ErrTooLarge, c.size)
	}
	if _, err := rs.Seek(c.offset, io.SeekStart); err != nil {
		return Tags{}, fmt.Errorf("audio: seek: %w", err)
	}
	b := make([]byte, c.size)
	if _, err := io.ReadFull(rs, b); err != nil {
		return Tags{}, fmt.Errorf("%w: id3 chunk: %w", ErrMalformed, err)
	}
	return fromLibrary(func() (tag.Metadata, error) { return tag.ReadID3v2Tags(bytes.NewReader(b)) })
}

// riffInfoFields maps LIST/INFO ids to tag fields.
var riffInfoFields = map[string]func(*Tags, string){
	"INAM": func(t *Tags, v string) { t.Title = v },
	"IART": func(t *Tags, v string) { t.Artist = v },
	"IPRD": func(t *Tags, v string) { t.Album = v },
	"IGNR": func(t *Tags, v string) { t.Genre = v },
	"ICMT": func(t *Tags, v string) { t.Comment = v },
	"ICRD": func(t *Tags, v string) { t.Year = parseYear(v) },
	"IMUS": func(t *Tags, v string) { t.Composer = v },
	"ITRK": func(t *Tags, v string) { t.Track, t.TrackTotal = numberPair(v) },
	"IPRT": func(t *Tags, v string) {
		if t.Track == 0 {
			t.Track, t.TrackTotal = numberPair(v)
		}
	},
	"IBPM": func(t *Tags, v string) {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			t.BPM = f
		}
	},
	"IKEY": func(t *Tags, v string) { t.Key = v },
	// In RIFF INFO, ISRC is "source" (who supplied the material), but tools
	// such as ffmpeg put the recording code there: keep it only if it is one.
	"ISRC": func(t *Tags, v string) { t.ISRC = normISRC(v) },
}

// riffTags reads a WAV file's "id3 " chunk (preferred: richer) and its
// LIST/INFO chunk, which fills whatever the ID3 tag left empty.
func riffTags(rs io.ReadSeeker, size int64) (Tags, error) {
	h, err := parseWAV(rs, size)
	if err != nil {
		return Tags{}, err
	}
	var t Tags
	for _, c := range h.chunks {
		if strings.EqualFold(c.id, "id3 ") {
			if t, err = id3Chunk(rs, c); err != nil {
				return t, err
			}
			break
		}
	}
	for _, c := range h.chunks {
		if c.id != "LIST" || c.size < 4 || c.size > 16<<20 {
			continue
		}
		if _, err := rs.Seek(c.offset, io.SeekStart); err != nil {
			return t, fmt.Errorf("audio: seek: %w", err)
		}
		b := make([]byte, c.size)
		if _, err := io.ReadFull(rs, b); err != nil {
			return t, fmt.Errorf("%w: LIST chunk: %w", ErrMalformed, err)
		}
		if string(b[:4]) != "INFO" {
			continue
		}
		var info Tags
		for p := 4; p+8 <= len(b); {
			n := int(binary.LittleEndian.Uint32(b[p+4:]))
			if n > len(b)-p-8 {
				break
			}
			if set, ok := riffInfoFields[string(b[p:p+4])]; ok {
				set(&info, clean(string(b[p+8:p+8+n])))
			}
			p += 8 + n + n&1
		}
		merge(&t, info)
		if t.Source == "" {
			t.Source = "riff-info"
		}
	}
	return t, nil
}

// merge fills empty fields of t from u.
func merge(t *Tags, u Tags) {
	str := func(a *string, b string) {
		if *a == "" {
			*a = b
		}
	}
	num := func(a *int, b int) {
		if *a == 0 {
			*a = b
		}
	}
	str(&t.Title, u.Title)
	str(&t.Artist, u.Artist)
	str(&t.Album, u.Album)
	str(&t.AlbumArtist, u.AlbumArtist)
	str(&t.Composer, u.Composer)
	str(&t.Genre, u.Genre)
	str(&t.Comment, u.Comment)
	str(&t.Key, u.Key)
	str(&t.ISRC, u.ISRC)
	num(&t.Year, u.Year)
	num(&t.Track, u.Track)
	num(&t.TrackTotal, u.TrackTotal)
	num(&t.Disc, u.Disc)
	num(&t.DiscTotal, u.DiscTotal)
	if t.BPM == 0 {
		t.BPM = u.BPM
	}
}

// mp4Tempo finds moov/udta/meta/ilst/tmpo/data and returns its integer.
func mp4Tempo(rs io.ReadSeeker, size int64) (int, bool) {
	path := []string{"moov", "udta", "meta", "ilst", "tmpo", "data"}
	start, end := int64(0), size
	for depth, want := range path {
		found := false
		for pos, n := start, 0; pos+8 <= end && n < maxChunks; n++ {
			if _, err := rs.Seek(pos, io.SeekStart); err != nil {
				return 0, false
			}
			var h [8]byte
			if _, err := io.ReadFull(rs, h[:]); err != nil {
				return 0, false
			}
			bsize := int64(binary.BigEndian.Uint32(h[:]))
			if bsize < 8 || pos+bsize > end {
				return 0, false
			}
			if string(h[4:]) == want {
				start, end = pos+8, pos+bsize
				if want == "meta" {
					start += 4 // full box: version and flags
				}
				found = true
				break
			}
			pos += bsize
		}
		if !found {
			return 0, false
		}
		if depth == len(path)-1 {
			// data: type (4), locale (4), then a big-endian integer.
			n := end - start - 8
			if n < 1 || n > 8 {
				return 0, false
			}
			b := make([]byte, n)
			if _, err := rs.Seek(start+8, io.SeekStart); err != nil {
				return 0, false
			}
			if _, err := io.ReadFull(rs, b); err != nil {
				return 0, false
			}
			v := 0
			for _, x := range b {
				v = v<<8 | int(x)
			}
			return v, v > 0
		}
	}
	return 0, false
}
