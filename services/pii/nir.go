// Package pii protects personal data: it checks French social security numbers (NIR) and
// keeps them encrypted, with a keyed hash for exact lookup.
package pii

import (
	"errors"
	"math/big"
	"regexp"
	"strings"
)

// ErrInvalidNIR is returned for a NIR that is malformed or whose key does not match.
var ErrInvalidNIR = errors.New("must be a 15-character NIR whose last two digits are its key")

var nirPattern = regexp.MustCompile(`^[12378][0-9]{2}(0[1-9]|1[0-2]|[2-9][0-9])([0-9]{2}|2A|2B)[0-9]{3}[0-9]{3}[0-9]{2}$`)

// NormalizeNIR removes spaces, dots and dashes, upper-cases, and checks the format and key
// (97 − the 13-digit number mod 97, Corsica's 2A and 2B counted as 19 and 18).
func NormalizeNIR(raw string) (string, error) {
	nir := strings.ToUpper(strings.NewReplacer(" ", "", ".", "", "-", "", "\u00a0", "").Replace(raw))
	if !nirPattern.MatchString(nir) {
		return "", ErrInvalidNIR
	}
	body := nir[:13]
	body = strings.Replace(body, "2A", "19", 1)
	body = strings.Replace(body, "2B", "18", 1)
	n, ok := new(big.Int).SetString(body, 10)
	if !ok {
		return "", ErrInvalidNIR
	}
	key := 97 - new(big.Int).Mod(n, big.NewInt(97)).Int64()
	if nir[13:] != twoDigits(key) {
		return "", ErrInvalidNIR
	}
	return nir, nil
}

func twoDigits(n int64) string {
	return string([]byte{byte('0' + n/10), byte('0' + n%10)})
}
