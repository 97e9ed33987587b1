package enrolments

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"parcours/models"
	"parcours/services"
	"parcours/services/demo"
	"parcours/services/orientations/pathwaytest"
	"parcours/services/pii"
	"parcours/services/programmes"
	"parcours/services/servicetest"
)

func TestAddMonthsKeepsTheDayOrTheMonthsLast(t *testing.T) {
	for _, tt := range []struct {
		from   string
		months int
		want   string
	}{
		{"2020-10-01", 6, "2021-04-01"},
		{"2020-01-31", 1, "2020-02-29"},
		{"2021-01-31", 1, "2021-02-28"},
		{"2020-08-31", 12, "2021-08-31"},
		{"2020-12-15", 3, "2021-03-15"},
	} {
		assert.Equal(t, tt.want, addMonths(pathwaytest.Date(t, tt.from), tt.months).Format(time.DateOnly), "%s + %d months", tt.from, tt.months)
	}
}

// Enrolments racing for the last place of a programme are counted one transaction at a time:
// exactly one of them gets it.
func TestTheLastPlaceGoesToOneEnrolment(t *testing.T) {
	db := servicetest.NewDB(t)
	cipher, err := pii.NewCipher(bytes.Repeat([]byte{5}, 32))
	require.NoError(t, err)
	_, err = demo.Seed(context.Background(), db, cipher) // the fiches and territories
	require.NoError(t, err)
	fx := pathwaytest.New(t, db)
	org := fx.Organisation("Pôle emploi Agen (course)", "pole_emploi")
	ctx := servicetest.As(servicetest.Admin47)
	code, name, action, orgs, capacity := "petit", "Petit", "4.2", []int64{org}, 1
	_, err = programmes.New(db).Create(ctx, programmes.Input{Code: &code, Name: &name, ActionCode: &action, OrganisationIDs: &orgs, Capacity: &capacity})
	require.NoError(t, err)

	svc := New(db)
	started := pathwaytest.Date(t, "2020-10-01")
	const racers = 6
	people := make([]int64, racers)
	for i := range people {
		people[i] = fx.Beneficiary(pathwaytest.Person{Territory: "47-AGEN1", RightsOpenedOn: "2020-09-01"})
	}
	errs := make([]error, racers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, person := range people {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = svc.Create(ctx, Input{BeneficiaryID: &person, ProgrammeCode: &code, OrganisationID: &org, StartedOn: &started})
		}()
	}
	close(start)
	wg.Wait()
	var won, full int
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, services.ErrConflict):
			full++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	assert.Equal(t, 1, won)
	assert.Equal(t, racers-1, full)
	var open int64
	require.NoError(t, db.Model(&models.Enrolment{}).Where("ended_on IS NULL").Count(&open).Error)
	assert.Equal(t, int64(1), open)
}
