package cumul

import (
	"errors"
	"strings"
)

// LaPosteSIREN is La Poste's SIREN: its establishments' SIRETs do not follow the Luhn key
// (there are too many of them for the 5-digit NIC); INSEE's rule is that the sum of their
// 14 digits is a multiple of 5.
const LaPosteSIREN = "356000000"

// Errors of NormaliseSIRET, worded for a field message.
var (
	ErrSIRETFormat = errors.New("must be 14 digits (spaces allowed between groups)")
	ErrSIRETKey    = errors.New("is not a valid SIRET: its Luhn key does not check")
)

// NormaliseSIRET returns the 14 digits of a SIRET written with or without spaces, and checks
// its key: the Luhn algorithm, or for La Poste (SIREN 356000000) a digit sum that is a
// multiple of 5.
func NormaliseSIRET(s string) (string, error) {
	digits := strings.ReplaceAll(strings.TrimSpace(s), " ", "")
	if len(digits) != 14 || strings.Trim(digits, "0123456789") != "" {
		return "", ErrSIRETFormat
	}
	if luhn(digits) || (strings.HasPrefix(digits, LaPosteSIREN) && digitSum(digits)%5 == 0) {
		return digits, nil
	}
	return "", ErrSIRETKey
}

// luhn reports whether digits pass the Luhn check: from the right, every second digit is
// doubled (less 9 above 9), and the sum is a multiple of 10.
func luhn(digits string) bool {
	sum := 0
	for i := range len(digits) {
		d := int(digits[len(digits)-1-i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

func digitSum(digits string) int {
	sum := 0
	for i := range len(digits) {
		sum += int(digits[i] - '0')
	}
	return sum
}
