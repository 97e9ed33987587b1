package parcoursproc

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFreeAddrIsLoopbackAndFree(t *testing.T) {
	addr, err := FreeAddr()
	require.NoError(t, err)
	host, _, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", host)
	l, err := net.Listen("tcp", addr)
	require.NoError(t, err, "the port is free to listen on")
	l.Close()
}

func TestRunReturnsStdoutOrStderr(t *testing.T) {
	out, err := Run(context.Background(), "/bin/sh", []string{"GREETING=bonjour"}, "-c", `echo "$GREETING"; echo ignored >&2`)
	require.NoError(t, err)
	assert.Equal(t, "bonjour\n", out, "the environment is the one given, stderr is not in the output")

	_, err = Run(context.Background(), "/bin/sh", nil, "-c", "echo échec >&2; exit 3")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exit status 3")
	assert.Contains(t, err.Error(), "échec", "the error holds the standard error")
}

func TestCall(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "%s|%s|%s", r.Header.Get("Authorization"), r.Header.Get("Content-Type"), r.URL.RequestURI())
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name string
		body []byte
		want int
		out  string
		err  string
	}{
		{"no body", nil, http.StatusOK, "Bearer tok||/x?y=1", ""},
		{"empty body", []byte{}, http.StatusOK, "Bearer tok||/x?y=1", ""},
		{"JSON body", []byte(`{"a":1}`), http.StatusOK, "Bearer tok|application/json|/x?y=1", ""},
		{"another status", nil, http.StatusCreated, "", "POST /x?y=1: status 200, want 201: Bearer tok||/x?y=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Call(context.Background(), srv.Client(), http.MethodPost, srv.URL+"/x?y=1", "tok", tc.body, tc.want)
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.out, string(out))
		})
	}
}
