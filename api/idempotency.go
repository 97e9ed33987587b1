package api

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"parcours/services"
	"parcours/services/idempotency"
)

// ReplayedHeader marks an answer replayed from an Idempotency-Key instead of computed.
const ReplayedHeader = "Idempotent-Replayed"

// notReplayable are the POST routes that refuse an Idempotency-Key: their answers hold a
// client secret, which must never be stored, or their work runs outside the request's
// transaction (the file import's COPY).
var notReplayable = []string{
	"POST /api/v1/api-clients",
	"POST /api/v1/api-clients/{id}/rotate",
	"POST /api/v1/imports/beneficiaries",
}

// idempotent makes every POST of the group that carries an Idempotency-Key safe to retry (see
// services/idempotency): the handler runs inside the transaction that claims the key, its
// answer is buffered, kept with the key when it is a success, and only sent once the
// transaction has committed. A retry with the same key and request gets the kept answer with
// the Idempotent-Replayed header; the same key with another request is a 422; a retry while
// the first request still runs waits for it, then gets a 409 if it is still running.
func idempotent(store *idempotency.Store) gin.HandlerFunc {
	return func(c *gin.Context) {
		key, present := c.Request.Header[http.CanonicalHeaderKey(idempotency.Header)]
		if c.Request.Method != http.MethodPost || !present {
			c.Next()
			return
		}
		if err := checkKey(c, key); err != nil {
			renderError(c, err)
			return
		}
		body, err := io.ReadAll(c.Request.Body)
		if err != nil {
			renderError(c, err)
			return
		}
		hash := idempotency.Hash(c.Request.Method, c.Request.URL.RequestURI(), body)
		res, err := store.Do(c.Request.Context(), key[0], hash, func(ctx context.Context) idempotency.Response {
			return runBuffered(c, ctx, body)
		})
		if err != nil {
			renderError(c, err)
			return
		}
		send(c, res)
	}
}

// checkKey refuses a key on a route that cannot replay, and a malformed key: one header of 1
// to 255 visible ASCII characters.
func checkKey(c *gin.Context, key []string) error {
	if slices.Contains(notReplayable, RouteKey(c.Request.Method, c.FullPath())) {
		return badRequest("this operation does not take an "+idempotency.Header,
			services.FieldError{Field: idempotency.Header, Message: "is not supported here: the answer holds a secret or the work runs outside one transaction"})
	}
	ok := len(key) == 1 && len(key[0]) >= 1 && len(key[0]) <= idempotency.MaxKeyLength
	for i := 0; ok && i < len(key[0]); i++ {
		ok = key[0][i] > ' ' && key[0][i] < 0x7f
	}
	if !ok {
		return badRequest("invalid "+idempotency.Header,
			services.FieldError{Field: idempotency.Header, Message: "must be one header of 1 to 255 visible ASCII characters, such as a UUID"})
	}
	return nil
}

// runBuffered runs the rest of the handler chain with ctx (the key's transaction) and body,
// capturing the answer instead of sending it.
func runBuffered(c *gin.Context, ctx context.Context, body []byte) idempotency.Response {
	original, request := c.Writer, c.Request
	buf := &bufferedWriter{ResponseWriter: original, header: original.Header().Clone(), status: http.StatusOK}
	defer func() { c.Writer, c.Request = original, request }()
	c.Writer = buf
	c.Request = request.WithContext(ctx)
	c.Request.Body = io.NopCloser(bytes.NewReader(body))
	c.Next()
	return idempotency.Response{Status: buf.status, Header: buf.header, Body: buf.body.Bytes()}
}

// send writes an answer: a fresh one as the handler wrote it, a replayed one with the headers
// kept (idempotency.KeptHeaders) and Idempotent-Replayed.
func send(c *gin.Context, res idempotency.Result) {
	h := c.Writer.Header()
	for name, values := range res.Header {
		h[http.CanonicalHeaderKey(name)] = values
	}
	if res.Replayed {
		h.Set(ReplayedHeader, "true")
	}
	c.Writer.WriteHeader(res.Status)
	_, _ = c.Writer.Write(res.Body)
	c.Abort()
}

// bufferedWriter holds a handler's answer in memory until the transaction it was computed in
// has committed.
type bufferedWriter struct {
	gin.ResponseWriter
	header  http.Header
	status  int
	body    bytes.Buffer
	written bool
}

func (w *bufferedWriter) Header() http.Header { return w.header }

func (w *bufferedWriter) WriteHeader(code int) {
	if code > 0 && !w.written {
		w.status = code
	}
}

func (w *bufferedWriter) WriteHeaderNow() { w.written = true }

func (w *bufferedWriter) Write(b []byte) (int, error) {
	w.written = true
	return w.body.Write(b)
}

func (w *bufferedWriter) WriteString(s string) (int, error) {
	w.written = true
	return w.body.WriteString(s)
}

func (w *bufferedWriter) Status() int { return w.status }

func (w *bufferedWriter) Size() int {
	if !w.written {
		return -1
	}
	return w.body.Len()
}

func (w *bufferedWriter) Written() bool { return w.written }

// Flush does nothing: the answer is sent whole once the transaction has committed.
func (w *bufferedWriter) Flush() {}

// Hijack is refused: a buffered answer cannot take over the connection.
func (w *bufferedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return nil, nil, errors.New("a buffered answer cannot hijack the connection")
}

// Pusher is not available on a buffered answer.
func (w *bufferedWriter) Pusher() http.Pusher { return nil }
