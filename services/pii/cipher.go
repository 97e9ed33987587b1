package pii

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// DataKeyFile is the application data key (32 random bytes, base64) in the keys folder. Losing
// it loses every stored NIR: back it up with the database.
const DataKeyFile = "data.key"

// Cipher encrypts NIRs (AES-256-GCM, the département as associated data) and hashes them
// (HMAC-SHA256) for exact lookup, with two keys derived from the data key by HKDF.
type Cipher struct {
	aead    cipher.AEAD
	hashKey []byte
}

// LoadCipher reads the data key in dir, creating one when there is none.
func LoadCipher(dir string) (*Cipher, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create keys folder: %w", err)
	}
	path := filepath.Join(dir, DataKeyFile)
	if err := createDataKey(path); err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read data key: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("%s: want 32 bytes in base64", path)
	}
	return NewCipher(key)
}

// createDataKey writes a new random key at path unless a key is already there. The key is
// written to a temporary file then hard-linked into place, so that two processes starting
// together agree on one complete key.
func createDataKey(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("generate data key: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".data-*.tmp")
	if err != nil {
		return fmt.Errorf("write data key: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o600)
	}
	if err == nil {
		err = os.Link(tmp.Name(), path)
	}
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("install data key: %w", err)
	}
	return nil
}

// NewCipher derives the encryption and lookup keys from a 32-byte data key.
func NewCipher(dataKey []byte) (*Cipher, error) {
	encKey, err := hkdf.Key(sha256.New, dataKey, nil, "parcours nir encryption", 32)
	if err != nil {
		return nil, err
	}
	hashKey, err := hkdf.Key(sha256.New, dataKey, nil, "parcours nir lookup", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Cipher{aead: aead, hashKey: hashKey}, nil
}

// Seal encrypts a normalized NIR of departement: nonce followed by the ciphertext.
func (c *Cipher) Seal(departement, nir string) []byte {
	return c.AppendSeal(nil, departement, nir)
}

// AppendSeal appends what Seal returns to dst, for callers that fill one buffer with many.
func (c *Cipher) AppendSeal(dst []byte, departement, nir string) []byte {
	n := c.aead.NonceSize()
	dst = slices.Grow(dst, n+len(nir)+c.aead.Overhead())
	start := len(dst)
	dst = dst[:start+n]
	nonce := dst[start:]
	if _, err := rand.Read(nonce); err != nil {
		panic(fmt.Sprintf("pii: no randomness: %v", err)) // crypto/rand does not fail on Linux
	}
	return c.aead.Seal(dst, nonce, []byte(nir), []byte(departement))
}

// Open decrypts what Seal produced for the same département.
func (c *Cipher) Open(departement string, sealed []byte) (string, error) {
	n := c.aead.NonceSize()
	if len(sealed) < n {
		return "", errors.New("pii: ciphertext too short")
	}
	plain, err := c.aead.Open(nil, sealed[:n], sealed[n:], []byte(departement))
	if err != nil {
		return "", fmt.Errorf("pii: decrypt NIR: %w", err)
	}
	return string(plain), nil
}

// Hash is the keyed hash of a normalized NIR of departement, equal for equal NIRs.
func (c *Cipher) Hash(departement, nir string) []byte {
	return c.NewHasher().AppendHash(nil, departement, nir)
}

// Hasher computes Hash many times over without setting up the HMAC each time. It is not
// safe for concurrent use: take one per goroutine.
type Hasher struct {
	mac hash.Hash
}

// NewHasher returns a Hasher under c's lookup key.
func (c *Cipher) NewHasher() *Hasher {
	return &Hasher{mac: hmac.New(sha256.New, c.hashKey)}
}

// AppendHash appends the Hash of nir of departement to dst.
func (h *Hasher) AppendHash(dst []byte, departement, nir string) []byte {
	h.mac.Reset()
	io.WriteString(h.mac, departement)
	h.mac.Write([]byte{0})
	io.WriteString(h.mac, nir)
	return h.mac.Sum(dst)
}
