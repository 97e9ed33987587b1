package api

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// streamServer serves streamDownload over a real connection, behind the recovery middleware,
// with write as the download's writer.
// A writeTimeout above zero is the server's WriteTimeout.
func streamServer(t *testing.T, write func(w *bufio.Writer) error, writeTimeout ...time.Duration) *httptest.Server {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(recovery(slog.New(slog.NewTextHandler(io.Discard, nil))))
	r.GET("/download", handle(func(c *gin.Context) error {
		return streamDownload(c, "ecritures-47.csv", "text/csv; charset=utf-8", write)
	}))
	srv := httptest.NewUnstartedServer(r)
	for _, d := range writeTimeout {
		srv.Config.WriteTimeout = d
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// row writes n lines of 100 bytes.
func rows(w *bufio.Writer, n int) error {
	line := strings.Repeat("x", 99) + "\n"
	for range n {
		if _, err := w.WriteString(line); err != nil {
			return err
		}
	}
	return nil
}

func TestStreamDownloadSendsEveryChunk(t *testing.T) {
	srv := streamServer(t, func(w *bufio.Writer) error { return rows(w, 10_000) }) // 1 MB, sixteen chunks
	resp, err := http.Get(srv.URL + "/download")
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/csv; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Equal(t, `attachment; filename="ecritures-47.csv"`, resp.Header.Get("Content-Disposition"))
	assert.Equal(t, []string{"chunked"}, resp.TransferEncoding, "streamed, not measured first")
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Len(t, body, 1_000_000)
}

func TestStreamDownloadFailingBeforeItsFirstChunkIsAProblem(t *testing.T) {
	srv := streamServer(t, func(w *bufio.Writer) error {
		if err := rows(w, 10); err != nil { // buffered, not sent
			return err
		}
		return errors.New("the query failed")
	})
	resp, err := http.Get(srv.URL + "/download")
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	assert.Equal(t, ProblemContentType, resp.Header.Get("Content-Type"))
	assert.Empty(t, resp.Header.Get("Content-Disposition"))
	var p Problem
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&p))
	assert.Equal(t, http.StatusInternalServerError, p.Status)
}

func TestStreamDownloadFailingAfterItsFirstChunkIsATruncatedTransfer(t *testing.T) {
	srv := streamServer(t, func(w *bufio.Writer) error {
		if err := rows(w, 2_000); err != nil { // 200 kB: three chunks on the wire
			return err
		}
		return errors.New("the connection to the database was lost")
	})
	resp, err := http.Get(srv.URL + "/download")
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the status went with the first chunk")
	body, err := io.ReadAll(resp.Body)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "the client sees the transfer cut, not a complete short file")
	assert.Less(t, len(body), 200_000)
	assert.Zero(t, len(body)%streamChunk, "whole chunks only")
}

func TestStreamDownloadOutlivesTheServersWriteTimeout(t *testing.T) {
	srv := streamServer(t, func(w *bufio.Writer) error {
		for range 8 { // eight chunks, 50 ms apart: 400 ms in all
			if err := rows(w, streamChunk/100+1); err != nil {
				return err
			}
			time.Sleep(50 * time.Millisecond)
		}
		return nil
	}, 150*time.Millisecond)
	resp, err := http.Get(srv.URL + "/download")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err, "each chunk pushes the write deadline forward")
	assert.Len(t, body, 8*(streamChunk/100+1)*100)
}
