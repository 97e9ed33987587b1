// Package money holds the rules for amounts of money: euros with at most two decimals, never
// negative in the budget, written "1234.50" in JSON, rounded half away from zero to the cent.
package money

import (
	"errors"
	"regexp"
	"strings"

	"github.com/shopspring/decimal"

	"parcours/services"
)

var amountPattern = regexp.MustCompile(`^-?[0-9]{1,12}(\.[0-9]{1,2})?$`)

// Errors of Parse, worded for a field message.
var (
	ErrFormat   = errors.New(`must be an amount in euros written as a string such as "1234.50"`)
	ErrDecimals = errors.New("must have at most two decimals")
	ErrNegative = errors.New("must not be negative")
)

// Parse reads a non-negative amount with at most two decimals.
func Parse(s string) (decimal.Decimal, error) {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Zero, ErrFormat
	}
	if !amountPattern.MatchString(s) {
		if d.Exponent() < -2 && amountPattern.MatchString(d.Truncate(2).String()) {
			return decimal.Zero, ErrDecimals
		}
		return decimal.Zero, ErrFormat
	}
	if d.IsNegative() {
		return decimal.Zero, ErrNegative
	}
	return d, nil
}

// Cents rounds d to the cent, half away from zero: the one place amounts are rounded.
func Cents(d decimal.Decimal) decimal.Decimal { return d.Round(2) }

// String writes d with exactly two decimals, as JSON and CSV carry money.
func String(d decimal.Decimal) string { return d.StringFixed(2) }

// Validate records a field error unless d is a non-negative amount with at most two
// decimals; a nil d (field not given) is left alone.
func Validate(v *services.Validator, field string, d *decimal.Decimal) {
	if d == nil {
		return
	}
	v.Check(!d.IsNegative(), field, ErrNegative.Error())
	v.Check(d.Equal(d.Truncate(2)), field, ErrDecimals.Error())
}

// French writes d the French way, to the cent: "207 746,00 €", "-13 000,00 €".
func French(d decimal.Decimal) string {
	sign := ""
	if d.IsNegative() {
		sign = "-"
	}
	whole, cents, _ := strings.Cut(String(d.Abs()), ".")
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return sign + b.String() + "," + cents + " €"
}
