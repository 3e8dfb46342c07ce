package collab

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection.
// newCorkConn returns a corkConn over nc (the hub sets one up in place,
// through corkWriter.Hijack).
func newCorkConn(nc net.Conn, carry []byte) *corkConn {
	c := new(corkConn)
	c.init(nc, carry)
	return c
}

func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { _ = server.Close(); _ = client.Close() })
	return server, client
}

// readFrames parses n server frames (unmasked, final, binary) from r.
func readFrames(t *testing.T, r io.Reader, n int) [][]byte {
	t.Helper()
	var out [][]byte
	for range n {
		var h [2]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			t.Fatalf("frame header: %v", err)
		}
		if h[0] != 0x82 {
			t.Fatalf("first byte %#x, want 0x82 (final binary frame)", h[0])
		}
		size := uint64(h[1])
		switch size {
		case 126:
			var b [2]byte
			_, _ = io.ReadFull(r, b[:])
			size = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			_, _ = io.ReadFull(r, b[:])
			size = binary.BigEndian.Uint64(b[:])
		}
		p := make([]byte, size)
		if _, err := io.ReadFull(r, p); err != nil {
			t.Fatalf("frame payload: %v", err)
		}
		out = append(out, p)
	}
	return out
}

func TestCorkConnWritesFramesInOrder(t *testing.T) {
	server, client := tcpPair(t)
	c := newCorkConn(server, nil)
	if c.raw == nil {
		t.Fatal("a TCP connection should allow non-blocking writes")
	}
	small := [][]byte{[]byte("one"), bytes.Repeat([]byte{'m'}, 300), []byte("three")}
	if res, err := c.tryWrite(small); err != nil || res != tryWritten {
		t.Fatalf("tryWrite = %v, %v; want written", res, err)
	}
	// A blocking batch with a frame larger than a cork goes out in order,
	// with 16- and 64-bit length headers.
	big := [][]byte{[]byte("head"), bytes.Repeat([]byte{'x'}, corkMaxBytes+1), bytes.Repeat([]byte{'y'}, 70000), []byte("tail")}
	done := make(chan error, 1)
	go func() { done <- c.writeFrames(big, 5*time.Second) }()
	got := readFrames(t, client, len(small)+len(big))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := append(append([][]byte{}, small...), big...)
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("frame %d: %d bytes, want %d", i, len(got[i]), len(want[i]))
		}
	}

	// After a close frame (coder/websocket writes it through Write) no
	// data frame may follow.
	if _, err := c.Write([]byte{opCloseByte, 0}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.tryWrite([][]byte{[]byte("late")}); !errors.Is(err, net.ErrClosed) {
		t.Errorf("tryWrite after a close frame: %v, want net.ErrClosed", err)
	}
	if err := c.writeFrames([][]byte{[]byte("late")}, time.Second); !errors.Is(err, net.ErrClosed) {
		t.Errorf("writeFrames after a close frame: %v, want net.ErrClosed", err)
	}
}

func TestCorkConnSlowPeer(t *testing.T) {
	server, client := tcpPair(t)
	c := newCorkConn(server, nil)
	// The peer reads nothing: non-blocking writes fill the socket buffers,
	// then leave a tail pending instead of blocking.
	chunk := [][]byte{bytes.Repeat([]byte{'z'}, 64<<10)}
	var res tryResult
	sent := 0
	for i := 0; i < 4096 && res != tryPartial; i++ {
		var err error
		if res, err = c.tryWrite(chunk); err != nil {
			t.Fatal(err)
		}
		sent++
	}
	if res != tryPartial {
		t.Fatal("the socket never pushed back")
	}
	// A busy connection is never written to by two writers.
	c.mu.Lock()
	if res, _ := c.tryWrite(chunk); res != tryBusy {
		t.Errorf("tryWrite while locked = %v, want busy", res)
	}
	c.mu.Unlock()
	if res, _ := c.tryWrite(chunk); res != tryBusy {
		t.Errorf("tryWrite with a pending tail = %v, want busy", res)
	}
	// Finishing the tail blocks and times out: the slow-reader signal.
	err := c.writeFrames(nil, 100*time.Millisecond)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("writeFrames to a stuck peer: %v, want a deadline error", err)
	}
	_ = client
}

func TestCorkConnReadsCarryThenSocket(t *testing.T) {
	server, client := tcpPair(t)
	c := newCorkConn(server, []byte("abc"))
	if _, err := client.Write([]byte("hello, world")); err != nil {
		t.Fatal(err)
	}
	var got []byte
	p := make([]byte, 4)
	for len(got) < len("abchello, world") {
		n, err := c.Read(p)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p[:n]...)
	}
	if string(got) != "abchello, world" {
		t.Fatalf("read %q", got)
	}
	if c.rbuf != nil {
		t.Error("the pooled read buffer is still held with nothing left to read")
	}
	_ = client.Close()
	if _, err := c.Read(p); !errors.Is(err, io.EOF) {
		t.Errorf("read after the peer closed: %v, want EOF", err)
	}
}

func TestCorkConnWaitReadable(t *testing.T) {
	server, client := tcpPair(t)
	c := newCorkConn(server, nil)
	ready := make(chan error, 1)
	go func() { ready <- c.waitReadable() }()
	select {
	case err := <-ready:
		t.Fatalf("waitReadable returned %v with nothing sent", err)
	case <-time.After(50 * time.Millisecond):
	}
	if _, err := client.Write([]byte("xy")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ready:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("waitReadable did not return when bytes arrived")
	}
	// The wait consumed nothing, and held no buffer.
	if c.rbuf != nil || c.buffered() {
		t.Fatal("waitReadable read or buffered bytes")
	}
	p := make([]byte, 1)
	if n, err := c.Read(p); n != 1 || err != nil || p[0] != 'x' {
		t.Fatalf("Read = %d, %v, %q", n, err, p)
	}
	if !c.buffered() {
		t.Error("one byte left in the read buffer, but buffered is false")
	}
}

// opaqueConn hides the file descriptor, as a TLS connection does.
type opaqueConn struct{ net.Conn }

func TestCorkConnWithoutFileDescriptor(t *testing.T) {
	server, client := tcpPair(t)
	c := newCorkConn(opaqueConn{server}, []byte("ab"))
	if c.raw != nil {
		t.Fatal("opaque connection got a raw connection")
	}
	// No non-blocking path: the socket's goroutine writes, blocking.
	if res, err := c.tryWrite([][]byte{[]byte("x")}); res != tryBusy || err != nil {
		t.Fatalf("tryWrite = %v, %v; want busy", res, err)
	}
	done := make(chan error, 1)
	go func() { done <- c.writeFrames([][]byte{[]byte("one"), []byte("two")}, 5*time.Second) }()
	got := readFrames(t, client, 2)
	if err := <-done; err != nil || string(got[0]) != "one" || string(got[1]) != "two" {
		t.Fatalf("writeFrames: %q, %v", got, err)
	}
	if err := c.waitReadable(); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Write([]byte("cd")); err != nil {
		t.Fatal(err)
	}
	var in []byte
	p := make([]byte, 16)
	for len(in) < 4 {
		n, err := c.Read(p)
		if err != nil {
			t.Fatal(err)
		}
		in = append(in, p[:n]...)
	}
	if string(in) != "abcd" {
		t.Fatalf("read %q, want abcd", in)
	}
}

// TestCorkConnTakeControl: pings and pongs at the head of what was read
// are taken whole, a ping's payload unmasked; a data frame, a control
// frame too long for the 16-byte reader, or one not yet whole is left for
// coder/websocket, and an end of stream met by fill is kept for Read.
func TestCorkConnTakeControl(t *testing.T) {
	server, client := tcpPair(t)
	c := newCorkConn(server, nil)
	c.br = bufio.NewReaderSize(c, 16)
	mask := [4]byte{1, 2, 3, 4}
	frame := func(op byte, payload string) []byte {
		f := []byte{op, 0x80 | byte(len(payload))}
		f = append(f, mask[:]...)
		for i := range len(payload) {
			f = append(f, payload[i]^mask[i%4])
		}
		return f
	}
	send := func(b []byte) {
		t.Helper()
		if _, err := client.Write(b); err != nil {
			t.Fatal(err)
		}
		if err := c.waitReadable(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // let every byte arrive
		c.fill()
	}
	send(append(append(frame(opPongByte, ""), frame(opPingByte, "hello")...), frame(0x82, "data")...))
	if op, _ := c.takeControl(nil); op != opPongByte {
		t.Fatalf("first: op %x, want the pong", op)
	}
	if op, p := c.takeControl(nil); op != opPingByte || string(p) != "hello" {
		t.Fatalf("second: op %x payload %q, want the ping with %q", op, p, "hello")
	}
	if op, _ := c.takeControl(nil); op != 0 {
		t.Fatalf("a data frame was taken (op %x)", op)
	}
	if !c.buffered() {
		t.Fatal("the data frame is not buffered")
	}
	got := make([]byte, len(frame(0x82, "data")))
	if _, err := io.ReadFull(c.br, got); err != nil || !bytes.Equal(got, frame(0x82, "data")) {
		t.Fatalf("read %x, %v: want the data frame intact", got, err)
	}
	// Too long to be whole in coder/websocket's buffer: left alone.
	send(frame(opPingByte, "0123456789a"))
	if op, _ := c.takeControl(nil); op != 0 {
		t.Fatal("took a ping longer than the reader's buffer holds")
	}
	if _, err := io.ReadFull(c.br, make([]byte, len(frame(opPingByte, "0123456789a")))); err != nil {
		t.Fatal(err)
	}
	// Not whole yet: left alone, then taken once the rest arrives.
	p := frame(opPongByte, "ab")
	send(p[:3])
	if op, _ := c.takeControl(nil); op != 0 {
		t.Fatal("took a pong before all of it arrived")
	}
	send(p[3:])
	if op, _ := c.takeControl(nil); op != opPongByte {
		t.Fatalf("op %x once whole, want the pong", op)
	}
	// The end of the stream: buffered, and Read reports it.
	_ = client.Close()
	if err := c.waitReadable(); err != nil {
		t.Fatal(err)
	}
	c.fill()
	if !c.buffered() {
		t.Fatal("the end of the stream is not reported as something to read")
	}
	if _, err := c.br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("read after the end: %v, want EOF", err)
	}
}
