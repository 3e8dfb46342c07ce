//go:build !cgo

package rtc

// opusEncoder is unavailable without cgo: mix previews answer ErrNoOpus.
type opusEncoder struct{}

func newOpusEncoder() (opusEncoder, error) { return opusEncoder{}, ErrNoOpus }

func (opusEncoder) encode([]float32) ([]byte, error) { return nil, ErrNoOpus }

func (opusEncoder) reset() error { return ErrNoOpus }

func (opusEncoder) close() {}
