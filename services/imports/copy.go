package imports

import (
	"encoding/binary"
	"time"
)

// The rows go to PostgreSQL as COPY … FROM STDIN (FORMAT binary): each worker encodes its
// rows itself, and the server reads them without parsing text.
var (
	// copyHeader opens the stream: the signature, no flags, no header extension.
	copyHeader = []byte("PGCOPY\n\xff\r\n\x00" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00")
	// copyTrailer closes it: a tuple of -1 fields.
	copyTrailer = []byte{0xff, 0xff}
)

// postgresEpoch is day 0 of PostgreSQL's binary dates, in Unix seconds.
var postgresEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()

// copyStream is a binary COPY stream being filled with tuples.
type copyStream struct {
	buf  []byte
	rows int
}

func newCopyStream() *copyStream {
	return &copyStream{buf: append([]byte(nil), copyHeader...)}
}

// add appends an encoded tuple.
func (s *copyStream) add(t []byte) {
	s.buf = append(s.buf, t...)
	s.rows++
}

// addWithID appends an encoded tuple with one more field, an int8.
func (s *copyStream) addWithID(t []byte, id int64) {
	fields := binary.BigEndian.Uint16(t)
	s.buf = binary.BigEndian.AppendUint16(s.buf, fields+1)
	s.buf = append(s.buf, t[2:]...)
	s.buf = binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(s.buf, 8), uint64(id))
	s.rows++
}

// end closes the stream and returns it.
func (s *copyStream) end() []byte {
	return append(s.buf, copyTrailer...)
}

// tuple appends the fields of one row in PostgreSQL's binary COPY format.
type tuple []byte

func startTuple(b []byte, fields int) tuple {
	return binary.BigEndian.AppendUint16(b, uint16(fields))
}

func (t tuple) field(value []byte) tuple {
	return append(binary.BigEndian.AppendUint32(t, uint32(len(value))), value...)
}

func (t tuple) text(s string) tuple {
	return append(binary.BigEndian.AppendUint32(t, uint32(len(s))), s...)
}

// nullableText is NULL for "".
func (t tuple) nullableText(s string) tuple {
	if s == "" {
		return t.null()
	}
	return t.text(s)
}

func (t tuple) null() tuple {
	return binary.BigEndian.AppendUint32(t, 0xffffffff)
}

func (t tuple) int4(v int32) tuple {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(t, 4), uint32(v))
}

func (t tuple) boolean(v bool) tuple {
	b := byte(0)
	if v {
		b = 1
	}
	return append(binary.BigEndian.AppendUint32(t, 1), b)
}

// date encodes the calendar day of d (a date at midnight UTC, as parseDate gives).
func (t tuple) date(d time.Time) tuple {
	return t.int4(int32((d.Unix() - postgresEpoch) / 86400))
}

// sized appends a field whose bytes fill appends to the tuple, and sets its length.
func (t tuple) sized(fill func([]byte) []byte) tuple {
	start := len(t)
	t = fill(binary.BigEndian.AppendUint32(t, 0))
	binary.BigEndian.PutUint32(t[start:], uint32(len(t)-start-4))
	return t
}
