package mail_test

import (
	"io"
	"mime"
	"mime/quotedprintable"
)

type mimeDecoder = mime.WordDecoder

func qpReader(r io.Reader) io.Reader { return quotedprintable.NewReader(r) }
