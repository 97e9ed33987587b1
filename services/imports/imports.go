// Package imports loads files from outside Parcours: the CAF/MSA flux of beneficiaries, read
// as CSV, checked row by row with the same rules as the API (by parallel workers, the order
// of the file kept), and written in one transaction, batch by batch while the rest of the
// file is being checked, with COPY and set-based INSERT and UPDATE statements that write
// their audit rows too.
package imports

import (
	"context"
	"fmt"
	"io"
	"runtime"

	"gorm.io/gorm"

	"parcours/models"
	"parcours/services"
	"parcours/services/auth"
	"parcours/services/beneficiaries"
	"parcours/services/pii"
)

// Rejection is one broken rule of one row: a row breaking several rules has several.
type Rejection struct {
	Line   int    // physical line of the row in the file; the header is line 1
	Field  string // the column at fault
	Reason string
}

// Report says what an import did. RowsRead = Created + Updated + Unchanged + Rejected.
type Report struct {
	RowsRead   int
	Created    int
	Updated    int
	Unchanged  int
	Rejected   int // rows, not rules: see Rejections
	Rejections []Rejection
}

// Service imports files.
type Service struct {
	db     *gorm.DB
	cipher *pii.Cipher
	people *beneficiaries.Service // bounds the dates as the API does
	sizes  sizes
}

// New returns an import service; cipher protects the NIRs the files carry.
func New(db *gorm.DB, cipher *pii.Cipher) *Service {
	return &Service{db: db, cipher: cipher, people: beneficiaries.New(db, cipher), sizes: defaultSizes}
}

// Beneficiaries imports the CAF/MSA flux in r (CSV; the columns are in the README) into the
// caller's département; only administrators may. A structurally malformed file (undecodable,
// empty, a required column missing, a row with the wrong number of fields) is refused whole
// with a *services.ValidationError on the field "file", and nothing is written. Otherwise each
// row breaking a rule is rejected and reported, and the other rows are created, updated or left
// unchanged, all in one transaction that also writes the audit rows. The import opens its own
// transaction: it does not join one carried by ctx.
func (s *Service) Beneficiaries(ctx context.Context, r io.Reader) (Report, error) {
	p, err := services.Caller(ctx)
	if err != nil {
		return Report{}, err
	}
	if p.Role != auth.RoleAdmin {
		return Report{}, fmt.Errorf("role %s may not import beneficiaries: %w", p.Role, services.ErrForbidden)
	}
	f, err := openFlux(r)
	if err != nil {
		return Report{}, err
	}
	codes, err := s.territoryCodes(ctx, p.Departement)
	if err != nil {
		return Report{}, err
	}
	today := s.people.Today()
	return s.store(ctx, p, f.header, func(k *known) *pipeline {
		return startPipeline(f, runtime.GOMAXPROCS(0), s.sizes, newSink(k), func() func(*chunk) {
			c := &checker{header: f.header, width: f.width, departement: p.Departement, cipher: s.cipher,
				hasher: s.cipher.NewHasher(), today: today, territories: codes}
			return c.chunk
		})
	})
}

// territoryCodes lists the territory codes of departement.
func (s *Service) territoryCodes(ctx context.Context, departement string) (map[string]bool, error) {
	var codes []string
	if err := s.db.WithContext(ctx).Model(&models.Territory{}).Where("departement = ?", departement).
		Pluck("code", &codes).Error; err != nil {
		return nil, fmt.Errorf("read the territories: %w", err)
	}
	set := make(map[string]bool, len(codes))
	for _, c := range codes {
		set[c] = true
	}
	return set, nil
}
