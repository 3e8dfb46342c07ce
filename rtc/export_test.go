package rtc

// PreferPtime exports preferPtime to tests.
var PreferPtime = preferPtime

// NewMixPackets returns the Packet function of a mix source playing m
// with a new encoder, and its Close.
func NewMixPackets(m *Mix) (packet func(i int) ([]byte, error), closeFn func(), err error) {
	enc, err := newOpusEncoder()
	if err != nil {
		return nil, nil, err
	}
	ms := &mixSource{enc: enc, mixer: NewMixer(), pcm: make([]float32, 2*FrameLen)}
	ms.mix.Store(m)
	return ms.Packet, enc.close, nil
}
