package pii_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/services/pii"
)

func TestNormalizeNIR(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"1 85 05 78 006 084 91", "185057800608491", true},
		{"185057800608491", "185057800608491", true},
		{"2 90 12 2A 004 015 78", "290122A00401578", true},
		{"185057800608492", "", false}, // wrong key
		{"18505780060843", "", false},  // too short
		{"485057800608491", "", false}, // sex digit
		{"1850578006084AB", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := pii.NormalizeNIR(tt.in)
			if !tt.ok {
				assert.ErrorIs(t, err, pii.ErrInvalidNIR)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestCipher(t *testing.T) {
	dir := t.TempDir()
	c, err := pii.LoadCipher(dir)
	require.NoError(t, err)
	info, err := os.Stat(filepath.Join(dir, pii.DataKeyFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	sealed := c.Seal("47", "185057800608436")
	assert.NotContains(t, string(sealed), "185057800608436")
	again := c.Seal("47", "185057800608436")
	assert.False(t, bytes.Equal(sealed, again), "a fresh nonce each time")

	reloaded, err := pii.LoadCipher(dir)
	require.NoError(t, err)
	plain, err := reloaded.Open("47", sealed)
	require.NoError(t, err)
	assert.Equal(t, "185057800608436", plain)
	_, err = reloaded.Open("33", sealed)
	assert.Error(t, err, "bound to its département")

	assert.Equal(t, c.Hash("47", "185057800608436"), reloaded.Hash("47", "185057800608436"))
	assert.NotEqual(t, c.Hash("47", "185057800608436"), c.Hash("33", "185057800608436"))

	other, err := pii.LoadCipher(t.TempDir())
	require.NoError(t, err)
	_, err = other.Open("47", sealed)
	assert.Error(t, err, "another key cannot read it")
}

func TestAppendSealAndHasher(t *testing.T) {
	c, err := pii.NewCipher(bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	prefix := []byte("row:")
	sealed := c.AppendSeal(prefix, "47", "185057800608436")
	assert.Equal(t, "row:", string(sealed[:4]), "appended after what dst holds")
	plain, err := c.Open("47", sealed[4:])
	require.NoError(t, err)
	assert.Equal(t, "185057800608436", plain)

	h := c.NewHasher()
	for _, nir := range []string{"185057800608436", "290122A00401578", "185057800608436"} {
		assert.Equal(t, c.Hash("47", nir), h.AppendHash(nil, "47", nir), "a reused hasher starts afresh")
	}
	assert.Equal(t, append([]byte("x"), c.Hash("33", "185057800608436")...), h.AppendHash([]byte("x"), "33", "185057800608436"))
}
