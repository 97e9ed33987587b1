package main

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"time"
)

// withDeadline bounds how long a request may work before its answer starts to timeout (none
// when 0): a request still waiting then for a database connection or a statement — the
// database unreachable, a lock held — is cancelled and answers 503 (renderError maps the
// cancelled context), rather than hanging. Once the answer has started, as a streamed
// download's does, the bound is lifted: the download's own write deadlines take over.
func withDeadline(h http.Handler, timeout time.Duration) http.Handler {
	if timeout <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancelCause(r.Context())
		defer cancel(nil)
		timer := time.AfterFunc(timeout, func() { cancel(context.DeadlineExceeded) })
		defer timer.Stop()
		h.ServeHTTP(&answerWriter{ResponseWriter: w, started: func() { timer.Stop() }}, r.WithContext(ctx))
	})
}

// answerWriter calls started when the answer starts (its status or first bytes go out).
type answerWriter struct {
	http.ResponseWriter
	started func()
}

func (w *answerWriter) WriteHeader(status int) {
	w.started()
	w.ResponseWriter.WriteHeader(status)
}

func (w *answerWriter) Write(b []byte) (int, error) {
	w.started()
	return w.ResponseWriter.Write(b)
}

// Flush sends what is buffered (gin requires an http.Flusher underneath).
func (w *answerWriter) Flush() {
	w.started()
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack hands the connection over (gin requires an http.Hijacker underneath).
func (w *answerWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap lets http.ResponseController reach the connection (write deadlines).
func (w *answerWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
