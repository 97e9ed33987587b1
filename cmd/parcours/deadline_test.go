package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestWithDeadlineCancelsWorkUntilTheAnswerStarts(t *testing.T) {
	wait := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			w.WriteHeader(http.StatusServiceUnavailable)
		case <-time.After(5 * time.Second):
			w.WriteHeader(http.StatusOK)
		}
	}
	rec := httptest.NewRecorder()
	start := time.Now()
	withDeadline(http.HandlerFunc(wait), 50*time.Millisecond).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code, "a request still waiting at the deadline is cancelled")
	assert.Less(t, time.Since(start), 2*time.Second)

	var errAfterStart error
	stream := func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush()
		time.Sleep(150 * time.Millisecond)
		errAfterStart = r.Context().Err()
	}
	rec = httptest.NewRecorder()
	withDeadline(http.HandlerFunc(stream), 50*time.Millisecond).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.NoError(t, errAfterStart, "a started answer (a streamed download) is not cut at the deadline")
	assert.True(t, rec.Flushed)

	var cause error
	cancelled := func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		cause = context.Cause(r.Context())
	}
	withDeadline(http.HandlerFunc(cancelled), 10*time.Millisecond).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	assert.True(t, errors.Is(cause, context.DeadlineExceeded))
}
