package pii_test

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"parcours/services/pii"
)

// referenceNIRPattern and referenceNormalizeNIR are the first implementation of NormalizeNIR
// (a regular expression and big numbers), kept as the oracle of the hand-written one.
var referenceNIRPattern = regexp.MustCompile(`^[12378][0-9]{2}(0[1-9]|1[0-2]|[2-9][0-9])([0-9]{2}|2A|2B)[0-9]{3}[0-9]{3}[0-9]{2}$`)

func referenceNormalizeNIR(raw string) (string, error) {
	nir := strings.ToUpper(strings.NewReplacer(" ", "", ".", "", "-", "", "\u00a0", "").Replace(raw))
	if !referenceNIRPattern.MatchString(nir) {
		return "", pii.ErrInvalidNIR
	}
	body := strings.Replace(strings.Replace(nir[:13], "2A", "19", 1), "2B", "18", 1)
	n, ok := new(big.Int).SetString(body, 10)
	if !ok {
		return "", pii.ErrInvalidNIR
	}
	key := 97 - new(big.Int).Mod(n, big.NewInt(97)).Int64()
	if nir[13:] != fmt.Sprintf("%02d", key) {
		return "", pii.ErrInvalidNIR
	}
	return nir, nil
}

// nirLike is a string close to a NIR: mostly digits, sometimes a Corsican département,
// separators, lower case, a wrong length, a stray character, and a right key half the time.
func nirLike(r *rand.Rand) string {
	var b strings.Builder
	b.WriteByte("0123456789"[r.IntN(10)])
	for range 12 {
		b.WriteByte('0' + byte(r.IntN(10)))
	}
	body := []byte(b.String())
	if r.IntN(4) == 0 {
		body[5], body[6] = '2', "ABab"[r.IntN(4)]
	}
	if r.IntN(3) == 0 {
		body[3] = '0' + byte(r.IntN(3))
	}
	key := fmt.Sprintf("%02d", r.IntN(100))
	if r.IntN(2) == 0 {
		digits := strings.Replace(strings.Replace(strings.ToUpper(string(body)), "2A", "19", 1), "2B", "18", 1)
		if n, ok := new(big.Int).SetString(digits, 10); ok {
			key = fmt.Sprintf("%02d", 97-new(big.Int).Mod(n, big.NewInt(97)).Int64())
		}
	}
	s := string(body) + key
	switch r.IntN(8) {
	case 0:
		i := r.IntN(len(s))
		s = s[:i] + []string{" ", ".", "-", "\u00a0", "  "}[r.IntN(5)] + s[i:]
	case 1:
		s = s[:r.IntN(len(s))]
	case 2:
		i := r.IntN(len(s))
		s = s[:i] + string("xé/+ "[r.IntN(5)]) + s[i+1:]
	case 3:
		s += "0"
	}
	return s
}

func TestNormalizeNIRAgreesWithTheReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	valid := 0
	for range 200_000 {
		in := nirLike(r)
		want, wantErr := referenceNormalizeNIR(in)
		got, err := pii.NormalizeNIR(in)
		if !assert.Equal(t, wantErr, err, "%q", in) || !assert.Equal(t, want, got, "%q", in) {
			return
		}
		if err == nil {
			valid++
		}
	}
	assert.Greater(t, valid, 10_000, "the generator makes valid NIRs too")
}

func FuzzNormalizeNIR(f *testing.F) {
	for _, s := range []string{"185057800608491", "1 85 05 78 006 084 91", "290122A00401578", "290122b00401578",
		"185057800608492", "1850578006084AB", "100007800608491", "113057800608491", "", "2A2A2A2A2A2A2A2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		want, wantErr := referenceNormalizeNIR(in)
		got, err := pii.NormalizeNIR(in)
		assert.Equal(t, wantErr, err, "%q", in)
		assert.Equal(t, want, got, "%q", in)
	})
}
