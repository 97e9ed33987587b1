package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/services"
)

func TestExpectedVersion(t *testing.T) {
	tests := []struct {
		header string
		want   int
		err    error
	}{
		{"", 0, services.ErrPreconditionRequired},
		{`"3"`, 3, nil},
		{" \"12\" ", 12, nil},
		{"*", services.AnyVersion, nil},
		{`W/"3"`, 0, services.ErrPreconditionFailed},
		{`3`, 0, services.ErrPreconditionFailed},
		{`"0"`, 0, services.ErrPreconditionFailed},
		{`"-1"`, 0, services.ErrPreconditionFailed},
		{`"abc"`, 0, services.ErrPreconditionFailed},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			c, _ := gin.CreateTestContext(httptest.NewRecorder())
			c.Request = httptest.NewRequest(http.MethodPatch, "/", nil)
			c.Request.Header.Set("If-Match", tt.header)
			got, err := expectedVersion(c)
			if tt.err != nil {
				assert.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestCursorRoundTrip(t *testing.T) {
	for _, after := range [][]string{{"47-AGEN1"}, {"2020-09-25", "42"}, {"é\"\\"}} {
		raw := encodeCursor(after)
		require.NotNil(t, raw)
		got, err := decodeCursor(*raw)
		require.NoError(t, err)
		assert.Equal(t, after, got)
	}
	assert.Nil(t, encodeCursor(nil))
}

// FuzzDecodeCursor: whatever a client sends as a cursor, decoding never panics and only
// yields a non-empty key.
func FuzzDecodeCursor(f *testing.F) {
	for _, seed := range []string{"", "WyI0Ny1BR0VOMyJd", "W10", "bnVsbA", "%%%", "WzEsMl0"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		after, err := decodeCursor(raw)
		if err == nil && len(after) == 0 {
			t.Fatalf("decodeCursor(%q) accepted an empty key", raw)
		}
	})
}

// FuzzBindJSON: any body yields either a decoded value or a 400/413/415/422 error, never a
// panic or another status.
func FuzzBindJSON(f *testing.F) {
	for _, seed := range []string{`{"name":"x"}`, `{"name":null}`, `{"name":1}`, `[]`, `{`, ``, `{"name":"a"} x`, `{"nope":1}`, `"str"`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		c.Request.Header.Set("Content-Type", "application/json")
		var dst struct {
			Name Optional[string] `json:"name"`
		}
		err := bindJSON(c, &dst)
		if err == nil {
			return
		}
		reqErr, ok := err.(*requestError)
		if !ok {
			t.Fatalf("bindJSON(%q) = %T %v, want a *requestError", body, err, err)
		}
		if reqErr.status != http.StatusBadRequest && reqErr.status != http.StatusUnprocessableEntity {
			t.Fatalf("bindJSON(%q) status %d", body, reqErr.status)
		}
	})
}
