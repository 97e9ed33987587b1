// Package pii protects personal data: it checks French social security numbers (NIR) and
// keeps them encrypted, with a keyed hash for exact lookup.
package pii

import (
	"errors"
	"strings"
)

// ErrInvalidNIR is returned for a NIR that is malformed or whose key does not match.
var ErrInvalidNIR = errors.New("must be a 15-character NIR whose last two digits are its key")

// nirSeparators are what people put between the groups of a NIR.
const nirSeparators = " .-\u00a0"

var separatorRemover = strings.NewReplacer(" ", "", ".", "", "-", "", "\u00a0", "")

// NormalizeNIR removes spaces, dots and dashes, upper-cases, and checks the format and key
// (97 − the 13-digit number mod 97, Corsica's 2A and 2B counted as 19 and 18). The format is
// ^[12378][0-9]{2}(0[1-9]|1[0-2]|[2-9][0-9])([0-9]{2}|2A|2B)[0-9]{3}[0-9]{3}[0-9]{2}$: sex,
// year, month (20 and above for unknown months), département, commune, order, key.
func NormalizeNIR(raw string) (string, error) {
	nir := raw
	if strings.ContainsAny(nir, nirSeparators) {
		nir = separatorRemover.Replace(nir)
	}
	nir = strings.ToUpper(nir)
	if !wellFormedNIR(nir) {
		return "", ErrInvalidNIR
	}
	var n uint64 // the 13 digits before the key: below 10^13, no overflow
	for i := range 13 {
		d := uint64(nir[i] - '0')
		switch {
		case i == 5 && nir[6] >= 'A': // Corsica: 2A is 19, 2B is 18
			d = 1
		case i == 6 && nir[6] == 'A':
			d = 9
		case i == 6 && nir[6] == 'B':
			d = 8
		}
		n = n*10 + d
	}
	if nir[13:] != twoDigits(97-n%97) {
		return "", ErrInvalidNIR
	}
	return nir, nil
}

// wellFormedNIR reports whether nir has the format NormalizeNIR documents.
func wellFormedNIR(nir string) bool {
	if len(nir) != 15 || strings.IndexByte("12378", nir[0]) < 0 {
		return false
	}
	for i := 1; i < 15; i++ {
		if !isDigit(nir[i]) && !(i == 6 && nir[5] == '2' && (nir[6] == 'A' || nir[6] == 'B')) {
			return false
		}
	}
	switch month := nir[3:5]; {
	case month[0] == '0':
		return month[1] != '0'
	case month[0] == '1':
		return month[1] <= '2'
	}
	return true
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

func twoDigits(n uint64) string {
	return string([]byte{byte('0' + n/10), byte('0' + n%10)})
}
