package money

import (
	"errors"
	"math/big"
	"slices"

	"github.com/shopspring/decimal"
)

// Errors of Split.
var (
	ErrNoWeights      = errors.New("there is nothing to split by: every weight is zero")
	ErrNegativeWeight = errors.New("a weight is negative")
)

// Split divides amount (at most two decimals, possibly negative) into len(weights) parts
// proportional to the weights (non-negative, at least one positive), to the cent, with the
// largest-remainder method, so that the parts always add up to amount exactly:
//
//  1. each part gets the whole cents of its exact quota, amount × weight ÷ Σ weights, rounded
//     toward zero;
//  2. the cents left over (fewer than len(weights)) go one each to the parts with the largest
//     remainders; equal remainders go to the larger weight first, then to the earlier part.
//
// Rounding each quota to the cent on its own (half away from zero) is not enough: 100.00 in
// three equal parts would give 99.99. A negative amount is split as its opposite, then negated.
func Split(amount decimal.Decimal, weights []decimal.Decimal) ([]decimal.Decimal, error) {
	if !amount.Equal(amount.Truncate(2)) {
		return nil, ErrDecimals
	}
	scaled, total, err := integerWeights(weights)
	if err != nil {
		return nil, err
	}
	cents := amount.Abs().Shift(2).BigInt()
	quotas := make([]*big.Int, len(weights))
	remainders := make([]*big.Int, len(weights))
	left := new(big.Int).Set(cents)
	for i, w := range scaled {
		quotas[i], remainders[i] = new(big.Int).QuoRem(new(big.Int).Mul(cents, w), total, new(big.Int))
		left.Sub(left, quotas[i])
	}
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := remainders[b].Cmp(remainders[a]); c != 0 {
			return c
		}
		return scaled[b].Cmp(scaled[a])
	})
	for _, i := range order[:left.Int64()] {
		quotas[i].Add(quotas[i], big.NewInt(1))
	}
	parts := make([]decimal.Decimal, len(weights))
	for i, q := range quotas {
		parts[i] = decimal.NewFromBigInt(q, -2)
		if amount.IsNegative() {
			parts[i] = parts[i].Neg()
		}
	}
	return parts, nil
}

// integerWeights scales the weights by a common power of ten to whole numbers, and sums them.
func integerWeights(weights []decimal.Decimal) ([]*big.Int, *big.Int, error) {
	places := int32(0)
	for _, w := range weights {
		if w.IsNegative() {
			return nil, nil, ErrNegativeWeight
		}
		places = max(places, -w.Exponent())
	}
	scaled := make([]*big.Int, len(weights))
	total := new(big.Int)
	for i, w := range weights {
		scaled[i] = w.Shift(places).BigInt()
		total.Add(total, scaled[i])
	}
	if total.Sign() == 0 {
		return nil, nil, ErrNoWeights
	}
	return scaled, total, nil
}
