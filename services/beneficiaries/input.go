package beneficiaries

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"parcours/services"
	"parcours/services/pii"
)

// Payers of the rSa.
var Payers = []string{"caf", "msa"}

var (
	allocatairePattern = regexp.MustCompile(`^[0-9A-Z]{1,20}$`)
	phonePattern       = regexp.MustCompile(`^(?:\+33|0033|0)([1-9][0-9]{8})$`)
	rsaStart           = time.Date(2009, 6, 1, 0, 0, 0, 0, time.UTC) // the rSa replaced the RMI on 1 June 2009
)

const (
	maxNameRunes  = 100
	maxHousehold  = 20
	maxEmailRunes = 254
)

// Input creates or changes a beneficiary; nil fields are left as they are. Dates are calendar
// dates at midnight UTC.
type Input struct {
	LastName                 *string
	FirstName                *string
	BirthDate                *time.Time
	Payer                    *string
	AllocataireNumber        *string
	NIR                      *string // "" removes it
	TerritoryCode            *string
	Commune                  *string
	HouseholdSize            *int
	RightsOpenedOn           *time.Time
	SubjectToRightsAndDuties *bool
	Phone                    *string // "" removes it
	Email                    *string // "" removes it
	IndependentWorker        *bool
	LeavingChildWelfare      *bool
}

// Normalize trims the text fields, upper-cases identifiers and writes the NIR and phone in
// their canonical forms, recording every broken rule in v. today bounds the dates. A create
// needs names, birth date, payer, allocataire number, territory and rights opening date.
func (in *Input) Normalize(v *services.Validator, creating bool, today time.Time) {
	required := func(field string, present bool) bool {
		v.Check(present || !creating, field, "is required")
		return present
	}
	for _, f := range []struct {
		field string
		value *string
	}{{"last_name", in.LastName}, {"first_name", in.FirstName}} {
		if required(f.field, f.value != nil) {
			*f.value = strings.TrimSpace(*f.value)
			checkName(v, f.field, *f.value)
		}
	}
	if required("birth_date", in.BirthDate != nil) {
		v.Check(in.BirthDate.Year() >= 1900 && !in.BirthDate.After(today), "birth_date", "must be a date from 1900 to today")
	}
	if required("payer", in.Payer != nil) {
		*in.Payer = strings.ToLower(strings.TrimSpace(*in.Payer))
		v.Check(*in.Payer == "caf" || *in.Payer == "msa", "payer", `must be "caf" or "msa"`)
	}
	if required("allocataire_number", in.AllocataireNumber != nil) {
		*in.AllocataireNumber = strings.ToUpper(strings.TrimSpace(*in.AllocataireNumber))
		v.Check(allocatairePattern.MatchString(*in.AllocataireNumber), "allocataire_number", "must be 1 to 20 digits or capital letters")
	}
	if in.NIR != nil && strings.TrimSpace(*in.NIR) != "" {
		nir, err := pii.NormalizeNIR(*in.NIR)
		v.Check(err == nil, "nir", pii.ErrInvalidNIR.Error())
		if err == nil {
			*in.NIR = nir
			if in.BirthDate != nil {
				v.Check(nir[1:3] == in.BirthDate.Format("06"), "nir", "its year of birth (digits 2-3) differs from birth_date")
			}
		}
	} else if in.NIR != nil {
		*in.NIR = ""
	}
	if required("territory_code", in.TerritoryCode != nil) {
		*in.TerritoryCode = strings.ToUpper(strings.TrimSpace(*in.TerritoryCode))
		v.Check(*in.TerritoryCode != "", "territory_code", "must not be blank")
	}
	if in.Commune != nil {
		*in.Commune = strings.TrimSpace(*in.Commune)
		v.Check(utf8.RuneCountInString(*in.Commune) <= maxNameRunes, "commune", fmt.Sprintf("must be at most %d characters", maxNameRunes))
	}
	if in.HouseholdSize != nil {
		v.Check(*in.HouseholdSize >= 1 && *in.HouseholdSize <= maxHousehold, "household_size", fmt.Sprintf("must be from 1 to %d", maxHousehold))
	}
	if required("rights_opened_on", in.RightsOpenedOn != nil) {
		v.Check(!in.RightsOpenedOn.Before(rsaStart) && !in.RightsOpenedOn.After(today), "rights_opened_on", "must be a date from 2009-06-01 (the rSa) to today")
	}
	if in.Phone != nil {
		*in.Phone = normalizePhone(*in.Phone)
		v.Check(*in.Phone == "" || phonePattern.MatchString(*in.Phone), "phone", "must be a French phone number such as 06 12 34 56 78")
	}
	if in.Email != nil {
		*in.Email = strings.TrimSpace(*in.Email)
		if *in.Email != "" {
			addr, err := mail.ParseAddress(*in.Email)
			v.Check(err == nil && addr.Address == *in.Email && utf8.RuneCountInString(*in.Email) <= maxEmailRunes,
				"email", "must be a plain e-mail address such as prenom.nom@example.fr")
		}
	}
}

// Validate checks the input's own rules against today's date, without normalizing the caller's
// copy.
func (in Input) Validate(creating bool) error {
	var v services.Validator
	copied := in.clone()
	copied.Normalize(&v, creating, time.Now().UTC())
	return v.Err()
}

// clone copies the pointed-to values, so Normalize on the copy leaves in untouched.
func (in Input) clone() Input {
	out := in
	for _, p := range []**string{&out.LastName, &out.FirstName, &out.Payer, &out.AllocataireNumber, &out.NIR,
		&out.TerritoryCode, &out.Commune, &out.Phone, &out.Email} {
		if *p != nil {
			v := **p
			*p = &v
		}
	}
	return out
}

func checkName(v *services.Validator, field, name string) {
	switch {
	case name == "":
		v.Check(false, field, "must not be blank")
	case utf8.RuneCountInString(name) > maxNameRunes:
		v.Check(false, field, fmt.Sprintf("must be at most %d characters", maxNameRunes))
	default:
		v.Check(!strings.ContainsFunc(name, unicode.IsControl), field, "must not contain control characters")
	}
}

// normalizePhone keeps digits and a leading +, and writes +33 numbers as 0XXXXXXXXX.
func normalizePhone(raw string) string {
	var b strings.Builder
	for i, r := range strings.TrimSpace(raw) {
		if unicode.IsDigit(r) || (r == '+' && i == 0) {
			b.WriteRune(r)
		}
	}
	s := b.String()
	if m := phonePattern.FindStringSubmatch(s); m != nil {
		return "0" + m[1]
	}
	if s == "" && strings.TrimSpace(raw) != "" {
		return raw // not a number at all: let validation say so
	}
	return s
}
