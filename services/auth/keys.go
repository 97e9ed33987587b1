package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// SigningKeyFile is the name of the current signing key (PKCS #8 PEM) in the keys folder.
// Every other file ending in ".pub" holds an older public key (PKIX PEM) still accepted for
// verification, which is how keys are rotated.
const SigningKeyFile = "signing.key"

// Keyset is the signing key and every verification key, each known by its kid (the RFC 7638
// JWK thumbprint of the public key).
type Keyset struct {
	signing   ed25519.PrivateKey
	signingID string
	verifying map[string]ed25519.PublicKey
}

// LoadKeyset reads the keys folder, creating it and a signing key when it has none.
func LoadKeyset(dir string) (*Keyset, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create keys folder: %w", err)
	}
	signing, err := loadOrCreateSigningKey(filepath.Join(dir, SigningKeyFile))
	if err != nil {
		return nil, err
	}
	ks := &Keyset{signing: signing, verifying: map[string]ed25519.PublicKey{}}
	ks.signingID = ks.add(signing.Public().(ed25519.PublicKey))

	pubs, err := filepath.Glob(filepath.Join(dir, "*.pub"))
	if err != nil {
		return nil, fmt.Errorf("list verification keys: %w", err)
	}
	for _, path := range pubs {
		pub, err := readPublicKey(path)
		if err != nil {
			return nil, err
		}
		ks.add(pub)
	}
	return ks, nil
}

// NewKeyset builds a keyset from a signing key and older public keys (for tests and tools).
func NewKeyset(signing ed25519.PrivateKey, older ...ed25519.PublicKey) *Keyset {
	ks := &Keyset{signing: signing, verifying: map[string]ed25519.PublicKey{}}
	ks.signingID = ks.add(signing.Public().(ed25519.PublicKey))
	for _, pub := range older {
		ks.add(pub)
	}
	return ks
}

func (ks *Keyset) add(pub ed25519.PublicKey) string {
	kid := Thumbprint(pub)
	ks.verifying[kid] = pub
	return kid
}

// SigningKeyID is the kid of the current signing key.
func (ks *Keyset) SigningKeyID() string { return ks.signingID }

// PublicKey returns the verification key named kid.
func (ks *Keyset) PublicKey(kid string) (ed25519.PublicKey, bool) {
	pub, ok := ks.verifying[kid]
	return pub, ok
}

// JWK is one public key as RFC 8037 writes an Ed25519 key.
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// JWKS is the public keyset document served at /.well-known/jwks.json.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// JWKS lists the verification keys, the signing key first.
func (ks *Keyset) JWKS() JWKS {
	kids := make([]string, 0, len(ks.verifying))
	for kid := range ks.verifying {
		if kid != ks.signingID {
			kids = append(kids, kid)
		}
	}
	sort.Strings(kids)
	kids = append([]string{ks.signingID}, kids...)
	out := JWKS{Keys: make([]JWK, 0, len(kids))}
	for _, kid := range kids {
		out.Keys = append(out.Keys, JWK{
			Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(ks.verifying[kid]),
			Kid: kid, Alg: "EdDSA", Use: "sig",
		})
	}
	return out
}

// Thumbprint is the RFC 7638 JWK thumbprint of an Ed25519 public key, base64url-encoded.
func Thumbprint(pub ed25519.PublicKey) string {
	canonical := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// loadOrCreateSigningKey reads path, or writes a new key there. Creation is atomic (a hard
// link that fails when the file exists), so two processes starting together agree on one key.
func loadOrCreateSigningKey(path string) (ed25519.PrivateKey, error) {
	key, err := readPrivateKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encode signing key: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".signing-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	if err := pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("write signing key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("install signing key: %w", err)
	}
	return readPrivateKey(path)
}

func readPrivateKey(path string) (ed25519.PrivateKey, error) {
	block, err := readPEM(path, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(block)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an Ed25519 private key", path)
	}
	return priv, nil
}

func readPublicKey(path string) (ed25519.PublicKey, error) {
	block, err := readPEM(path, "PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKIXPublicKey(block)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	pub, ok := key.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an Ed25519 public key", path)
	}
	return pub, nil
}

func readPEM(path, wantType string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || strings.TrimSpace(block.Type) != wantType {
		return nil, fmt.Errorf("%s: want a PEM %q block", path, wantType)
	}
	return block.Bytes, nil
}

// Rotate keeps the current signing key's public half as "<kid>.pub", so tokens it signed stay
// valid until they expire, and puts a new signing key in its place.
func Rotate(dir string) (*Keyset, error) {
	current, err := LoadKeyset(dir)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(current.signing.Public())
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	pubPath := filepath.Join(dir, current.signingID+".pub")
	if err := os.WriteFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		return nil, fmt.Errorf("keep the old public key: %w", err)
	}
	if err := os.Remove(filepath.Join(dir, SigningKeyFile)); err != nil {
		return nil, fmt.Errorf("retire the old signing key: %w", err)
	}
	return LoadKeyset(dir)
}
