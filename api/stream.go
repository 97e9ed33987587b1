package api

import (
	"bufio"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"parcours/services/audit"
)

// Sizes and deadlines of a streamed download.
const (
	// streamChunk is the buffer a download is written through: the response gets its bytes
	// 64 KiB at a time, whatever the size of the download.
	streamChunk = 64 << 10
	// streamWriteTimeout is how long each chunk may take to reach the client: the server's
	// WriteTimeout bounds a whole response, so a download pushes its write deadline forward at
	// every chunk and runs as long as the client keeps reading (up to streamMaxDuration).
	streamWriteTimeout = 60 * time.Second
	// streamMaxDuration bounds a whole download all the same, so that a client reading a
	// chunk a minute cannot hold a database connection and its snapshot for hours; a
	// 1 000 000-row export takes seconds.
	streamMaxDuration = 15 * time.Minute
)

// streamDownload answers a download of name as write produces it, without holding it: write
// gets a buffered writer whose 64 KiB chunks go straight to the client. The status (200) and
// the headers go with the first chunk, so an error write returns before the first chunk
// (the query refused, an unknown filter…) is still answered as a problem, nothing sent.
//
// After the first chunk the status is on the wire and a problem can no longer be sent: the
// error is logged with the request id and the connection is aborted (http.ErrAbortHandler),
// so the client sees a truncated transfer (no final chunk: curl exits 18, Go's client reads
// io.ErrUnexpectedEOF), never a short file that looks complete.
func streamDownload(c *gin.Context, name, contentType string, write func(w *bufio.Writer) error) error {
	out := &downloadWriter{c: c, name: name, contentType: contentType, until: time.Now().Add(streamMaxDuration)}
	buf := bufio.NewWriterSize(out, streamChunk)
	err := write(buf)
	if err == nil {
		err = buf.Flush()
	}
	if err == nil {
		out.start() // an empty download still answers 200 with its headers
		return nil
	}
	if !out.started {
		return err
	}
	ctx := c.Request.Context()
	level := slog.LevelError
	if ctx.Err() != nil {
		level = slog.LevelWarn // the client went away: nothing is wrong on our side
	}
	slog.Log(ctx, level, "download aborted after its first bytes", "request_id", audit.RequestID(ctx),
		"route", c.FullPath(), "bytes", c.Writer.Size(), "error", err)
	panic(http.ErrAbortHandler)
}

// downloadWriter sends a download's chunks, the status and headers before the first one.
type downloadWriter struct {
	c                 *gin.Context
	name, contentType string
	until             time.Time // the last write deadline
	started           bool
}

func (d *downloadWriter) start() {
	if d.started {
		return
	}
	d.started = true
	d.c.Header("Content-Type", d.contentType)
	d.c.Header("Content-Disposition", `attachment; filename="`+d.name+`"`)
	d.c.Status(http.StatusOK)
	d.c.Writer.WriteHeaderNow()
}

// Write sends one chunk within a fresh write deadline, never past d.until (ignored where
// the connection has none to set, as in tests).
func (d *downloadWriter) Write(p []byte) (int, error) {
	d.start()
	deadline := time.Now().Add(streamWriteTimeout)
	if deadline.After(d.until) {
		deadline = d.until
	}
	_ = http.NewResponseController(d.c.Writer).SetWriteDeadline(deadline)
	return d.c.Writer.Write(p)
}
