package money_test

import (
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/services/money"
)

func decimals(ss ...string) []decimal.Decimal {
	out := make([]decimal.Decimal, len(ss))
	for i, s := range ss {
		out[i] = decimal.RequireFromString(s)
	}
	return out
}

func TestSplit(t *testing.T) {
	tests := []struct {
		name    string
		amount  string
		weights []string
		want    []string
	}{
		{"thirds: rounding each part would lose a cent", "100.00", []string{"1", "1", "1"}, []string{"33.34", "33.33", "33.33"}},
		{"one cent in two: the earlier part of equal weights", "0.01", []string{"1", "1"}, []string{"0.01", "0.00"}},
		{"fiche 4.4 of 2020 (State, CD, carry-over, other)", "1000.00", []string{"15000.00", "40000.00", "160000.00", "0.00"},
			// quotas 69.767…, 186.046…, 744.186…: the two cents left go to the largest remainders
			[]string{"69.77", "186.05", "744.18", "0.00"}},
		{"largest remainder, not the earlier part", "10.00", []string{"1", "2", "4"},
			// quotas 1.428…, 2.857…, 5.714…: whole cents 1.42 + 2.85 + 5.71 = 9.98
			[]string{"1.43", "2.86", "5.71"}},
		{"decimal weights", "0.03", []string{"0.5", "0.25", "0.25", "1"},
			// quotas 0.75, 0.375, 0.375, 1.5 cents: the two cents left go to 0.75 and 1.5
			[]string{"0.01", "0.00", "0.00", "0.02"}},
		{"equal remainders: the larger weight first", "0.02", []string{"1", "3"},
			// quotas 0.5 and 1.5 cents
			[]string{"0.00", "0.02"}},
		{"a zero weight gets nothing", "0.99", []string{"0", "3", "0"}, []string{"0.00", "0.99", "0.00"}},
		{"a single funder", "1234.56", []string{"0", "0", "5", "0"}, []string{"0.00", "0.00", "1234.56", "0.00"}},
		{"a reversal splits as its opposite", "-100.00", []string{"1", "1", "1"}, []string{"-33.34", "-33.33", "-33.33"}},
		{"zero", "0", []string{"1", "2"}, []string{"0.00", "0.00"}},
		{"five cents in four", "0.05", []string{"1", "1", "1", "1"}, []string{"0.02", "0.01", "0.01", "0.01"}},
		{"a whole State budget line", "4500.00", []string{"15000.00", "0.00", "0", "0.00"}, []string{"4500.00", "0.00", "0.00", "0.00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := money.Split(decimal.RequireFromString(tt.amount), decimals(tt.weights...))
			require.NoError(t, err)
			strs := make([]string, len(got))
			sum := decimal.Zero
			for i, g := range got {
				strs[i] = money.String(g)
				sum = sum.Add(g)
			}
			assert.Equal(t, tt.want, strs)
			assert.True(t, sum.Equal(decimal.RequireFromString(tt.amount)), "the parts add up: %s", sum)
		})
	}
}

func TestSplitRefuses(t *testing.T) {
	tests := []struct {
		name    string
		amount  string
		weights []string
		err     error
	}{
		{"no weights", "1.00", nil, money.ErrNoWeights},
		{"every weight zero", "1.00", []string{"0", "0.00"}, money.ErrNoWeights},
		{"a negative weight", "1.00", []string{"2", "-1"}, money.ErrNegativeWeight},
		{"fractions of a cent", "1.005", []string{"1"}, money.ErrDecimals},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := money.Split(decimal.RequireFromString(tt.amount), decimals(tt.weights...))
			assert.ErrorIs(t, err, tt.err)
		})
	}
}

// Whatever the amount and weights, the parts add up to the amount and each is within a cent
// of its exact quota.
func TestSplitAddsUpAndStaysWithinACent(t *testing.T) {
	r := rand.New(rand.NewPCG(47, 2020))
	cent := decimal.New(1, -2)
	for range 2000 {
		amount := decimal.New(r.Int64N(100_000_000)-50_000_000, -2)
		weights := make([]decimal.Decimal, 1+r.IntN(5))
		total := decimal.Zero
		for i := range weights {
			weights[i] = decimal.New(r.Int64N(50_000_000), -2)
			total = total.Add(weights[i])
		}
		if total.IsZero() {
			continue
		}
		parts, err := money.Split(amount, weights)
		require.NoError(t, err)
		sum := decimal.Zero
		for i, p := range parts {
			sum = sum.Add(p)
			exact := amount.Mul(weights[i]).DivRound(total, 10)
			assert.True(t, p.Sub(exact).Abs().LessThan(cent), "part %d of %s by %v: %s, exact %s", i, amount, weights, p, exact)
		}
		require.True(t, sum.Equal(amount), "%s by %v: parts %v add up to %s", amount, weights, parts, sum)
	}
}
