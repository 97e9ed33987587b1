package money_test

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"

	"parcours/services/money"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want string
		err  error
	}{
		{"1234.50", "1234.5", nil},
		{"0", "0", nil},
		{"215000.00", "215000", nil},
		{"0.5", "0.5", nil},
		{"-1.00", "", money.ErrNegative},
		{"1.234", "", money.ErrDecimals},
		{"0.001", "", money.ErrDecimals},
		{"1e3", "", money.ErrFormat},
		{"1 000", "", money.ErrFormat},
		{"1,50", "", money.ErrFormat},
		{"", "", money.ErrFormat},
		{"abc", "", money.ErrFormat},
		{"+5", "", money.ErrFormat},
		{"1234567890123.00", "", money.ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := money.Parse(tt.in)
			if tt.err != nil {
				assert.ErrorIs(t, err, tt.err)
				return
			}
			assert.NoError(t, err)
			assert.Equal(t, tt.want, got.String())
		})
	}
}

func TestCentsRoundsHalfAwayFromZero(t *testing.T) {
	for in, want := range map[string]string{"0.005": "0.01", "0.004": "0.00", "-0.005": "-0.01", "2.675": "2.68", "1.125": "1.13"} {
		assert.Equal(t, want, money.String(money.Cents(decimal.RequireFromString(in))), in)
	}
}

func TestFrench(t *testing.T) {
	for in, want := range map[string]string{"207746": "207 746,00 €", "-13000": "-13 000,00 €", "0.5": "0,50 €", "1936652.79": "1 936 652,79 €", "999": "999,00 €"} {
		assert.Equal(t, want, money.French(decimal.RequireFromString(in)), in)
	}
}
