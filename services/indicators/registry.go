package indicators

import (
	"context"
	"fmt"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"
)

// Query is what a computed indicator is asked: its département, year and parameters, and
// optionally one territory.
type Query struct {
	Departement string
	Year        int
	Params      map[string]float64
	Territory   string // a territory code; "" for the whole département
}

// ComputeFunc computes an indicator from case data, in SQL, for q; an invalid value means
// there is nothing to count yet.
type ComputeFunc func(ctx context.Context, db *gorm.DB, q Query) (decimal.NullDecimal, error)

// Registry maps indicator codes to the functions that compute them. Capabilities that hold
// case data (orientation, accompaniment, cumul) register theirs when the server is wired.
type Registry struct {
	computers map[string]ComputeFunc
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{computers: map[string]ComputeFunc{}} }

// Register makes f compute indicator code; registering a code twice is a wiring bug.
func (r *Registry) Register(code string, f ComputeFunc) {
	if _, dup := r.computers[code]; dup {
		panic(fmt.Sprintf("indicators: %s registered twice", code))
	}
	r.computers[code] = f
}

// lookup returns the function computing code, if any.
func (r *Registry) lookup(code string) (ComputeFunc, bool) {
	if r == nil {
		return nil, false
	}
	f, ok := r.computers[code]
	return f, ok
}
