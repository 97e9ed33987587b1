package imports

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"parcours/services"
)

// Columns of the flux, by position in header.
const (
	colPayer = iota
	colAllocataireNumber
	colLastName
	colFirstName
	colBirthDate
	colNIR
	colTerritoryCode
	colCommune
	colHouseholdSize
	colRightsOpenedOn
	colSubjectToRightsAndDuties
	colPhone
	colEmail
	colIndependentWorker
	colLeavingChildWelfare
	numColumns
)

// columnNames are the header names of the columns, lower case.
var columnNames = [numColumns]string{
	"payer", "allocataire_number", "last_name", "first_name", "birth_date", "nir", "territory_code", "commune",
	"household_size", "rights_opened_on", "subject_to_rights_and_duties", "phone", "email", "independent_worker",
	"leaving_child_welfare",
}

// requiredColumns must be in every file.
var requiredColumns = []int{colPayer, colAllocataireNumber, colLastName, colFirstName, colBirthDate, colTerritoryCode, colRightsOpenedOn}

// header maps each column to its index in a record, -1 when the file does not have it.
type header [numColumns]int

// has reports whether the file has column col.
func (h header) has(col int) bool { return h[col] >= 0 }

// cell is the trimmed value of column col in rec, and whether the file has the column.
func (h header) cell(rec []string, col int) (string, bool) {
	if !h.has(col) {
		return "", false
	}
	return strings.TrimSpace(rec[h[col]]), true
}

// flux is a decoded CSV file whose header has been read.
type flux struct {
	csv    *csv.Reader
	header header
	width  int // the number of fields of every row: the header's
}

// refuse is the error of a file refused whole.
func refuse(format string, args ...any) error {
	return &services.ValidationError{Fields: []services.FieldError{{Field: "file", Message: fmt.Sprintf(format, args...)}}}
}

// openFlux reads r whole, decodes it, detects the separator and reads the header.
func openFlux(r io.Reader) (*flux, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read the file: %w", err)
	}
	text, err := decodeText(raw)
	if err != nil {
		return nil, err
	}
	cr := csv.NewReader(strings.NewReader(text))
	cr.Comma = separator(text)
	cr.ReuseRecord = true
	names, err := cr.Read()
	if err != nil {
		return nil, structureError(err)
	}
	h, err := parseHeader(names)
	if err != nil {
		return nil, err
	}
	return &flux{csv: cr, header: h, width: len(names)}, nil
}

// decodeText turns the file into text: UTF-8 (a byte order mark is dropped) when it is valid
// UTF-8, else Windows-1252.
func decodeText(raw []byte) (string, error) {
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	if bytes.IndexByte(raw, 0) >= 0 {
		return "", refuse("is not a text file (it holds NUL bytes): export the flux as CSV, in UTF-8 or Windows-1252")
	}
	text := string(raw)
	if !utf8.Valid(raw) {
		decoded, err := charmap.Windows1252.NewDecoder().Bytes(raw)
		if err != nil || bytes.ContainsFunc(decoded, func(r rune) bool { return r == utf8.RuneError || (r >= 0x80 && r <= 0x9f) }) {
			return "", refuse("is neither UTF-8 nor Windows-1252 text")
		}
		text = string(decoded)
	}
	if strings.TrimSpace(text) == "" {
		return "", refuse("is empty: the first line must name the columns")
	}
	return text, nil
}

// separator is ';' when the first line holds more semicolons than commas, else ','.
func separator(text string) rune {
	first, _, _ := strings.Cut(text, "\n")
	if strings.Count(first, ";") > strings.Count(first, ",") {
		return ';'
	}
	return ','
}

// parseHeader maps the column names (any case, any order) to their positions. Unknown,
// repeated and missing required columns refuse the file.
func parseHeader(names []string) (header, error) {
	var h header
	for i := range h {
		h[i] = -1
	}
	var unknown, repeated []string
	for i, raw := range names {
		name := strings.ToLower(strings.TrimSpace(raw))
		col := columnIndex(name)
		switch {
		case col < 0:
			unknown = append(unknown, fmt.Sprintf("%q", name))
		case h[col] >= 0:
			repeated = append(repeated, name)
		default:
			h[col] = i
		}
	}
	var missing []string
	for _, col := range requiredColumns {
		if !h.has(col) {
			missing = append(missing, columnNames[col])
		}
	}
	switch {
	case len(missing) > 0:
		return h, refuse("misses the required column(s) %s (line 1 must name the columns; separator ; or ,)", strings.Join(missing, ", "))
	case len(unknown) > 0:
		return h, refuse("has unknown column(s) %s", strings.Join(unknown, ", "))
	case len(repeated) > 0:
		return h, refuse("names the column(s) %s more than once", strings.Join(repeated, ", "))
	}
	return h, nil
}

func columnIndex(name string) int {
	for i, n := range columnNames {
		if n == name {
			return i
		}
	}
	return -1
}

// next reads the next data row and its physical line number (the line where the row starts),
// and io.EOF after the last row. A row that is not CSV or has another number of fields than
// the header refuses the file. The next call reuses the slice, not the strings in it.
func (f *flux) next() (int, []string, error) {
	rec, err := f.csv.Read()
	if errors.Is(err, io.EOF) {
		return 0, nil, io.EOF
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
		return 0, nil, refuse("line %d has %d fields where the header has %d", pe.StartLine, len(rec), f.csv.FieldsPerRecord)
	}
	if err != nil {
		return 0, nil, structureError(err)
	}
	line, _ := f.csv.FieldPos(0)
	return line, rec, nil
}

// structureError turns a CSV reading error into the refusal of the file, naming the line.
func structureError(err error) error {
	var pe *csv.ParseError
	switch {
	case errors.Is(err, io.EOF):
		return refuse("is empty: the first line must name the columns")
	case errors.As(err, &pe):
		return refuse("line %d is not valid CSV: %v", pe.StartLine, pe.Err)
	default:
		return fmt.Errorf("read the file: %w", err)
	}
}
