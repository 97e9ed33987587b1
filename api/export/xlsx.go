package export

import (
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"

	"parcours/services/budget"
)

// sheetName is the only sheet of the Annexe 3 workbook.
const sheetName = "Annexe 3"

// euroFormat is the number format of money cells: thousands separator, two decimals, euro sign.
const euroFormat = `#,##0.00\ "€"`

// percentFormat is Excel's built-in number format 10, "0.00%": rates as percentages.
const percentFormat = 10

// Rows of a sheet, 1-based: the title, the header, then the table.
const (
	titleRow  = 1
	headerRow = 2
	firstRow  = 3
)

// styles are the cell style ids of a workbook: the title, the header, and the cells by row
// kind and column kind.
type styles struct {
	title, header int
	cells         [rowKinds][columnKinds]int
}

// WriteXLSX writes the Annexe 3 table of y to w as an XLSX workbook with one sheet, "Annexe 3":
// a title row, the header row (bold, wrapped, frozen), then the table. Money cells are numbers
// with a euro number format; subtotal rows are bold and the grand total is bold under a border.
func WriteXLSX(w io.Writer, y budget.Year) error {
	t := annexe3Table(y)
	return writeWorkbook(w, t.title, "annexe 3", t)
}

// writeWorkbook writes an XLSX workbook to w with one sheet per table, in order, titled title;
// what names the workbook in errors.
func writeWorkbook(w io.Writer, title, what string, tables ...table) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := fillWorkbook(f, title, tables); err != nil {
		return fmt.Errorf("%s xlsx: %w", what, err)
	}
	if _, err := f.WriteTo(w); err != nil {
		return fmt.Errorf("%s xlsx: %w", what, err)
	}
	return nil
}

func fillWorkbook(f *excelize.File, title string, tables []table) error {
	st, err := newStyles(f)
	if err != nil {
		return err
	}
	for i, t := range tables {
		if i == 0 {
			err = f.SetSheetName(f.GetSheetName(0), t.sheet)
		} else {
			_, err = f.NewSheet(t.sheet)
		}
		if err != nil {
			return err
		}
		if err := fillSheet(f, st, t); err != nil {
			return fmt.Errorf("sheet %s: %w", t.sheet, err)
		}
	}
	f.SetActiveSheet(0)
	return f.SetDocProps(&excelize.DocProperties{Title: title, Creator: "Parcours", Language: "fr-FR"})
}

// fillSheet writes t on its sheet: the title row across the columns, the header row (frozen,
// repeated on every printed page), then one row per table row, styled by row and column kind.
func fillSheet(f *excelize.File, st styles, t table) error {
	sheet, last := t.sheet, len(t.columns)-1
	if err := writeTitle(f, st, sheet, t.title, last); err != nil {
		return err
	}
	for i, h := range t.header() {
		if err := f.SetCellStr(sheet, cellName(i, headerRow), h); err != nil {
			return err
		}
	}
	if err := f.SetCellStyle(sheet, cellName(0, headerRow), cellName(last, headerRow), st.header); err != nil {
		return err
	}
	if err := f.SetRowHeight(sheet, headerRow, 32); err != nil {
		return err
	}
	for i, r := range t.rows {
		if err := writeRow(f, st, t, firstRow+i, r); err != nil {
			return err
		}
	}
	for c, col := range t.columns {
		name, _ := excelize.ColumnNumberToName(c + 1)
		if err := f.SetColWidth(sheet, name, name, col.width); err != nil {
			return err
		}
	}
	return pageSetup(f, sheet)
}

func writeTitle(f *excelize.File, st styles, sheet, title string, last int) error {
	if err := f.SetCellStr(sheet, cellName(0, titleRow), title); err != nil {
		return err
	}
	if err := f.MergeCell(sheet, cellName(0, titleRow), cellName(last, titleRow)); err != nil {
		return err
	}
	if err := f.SetCellStyle(sheet, cellName(0, titleRow), cellName(last, titleRow), st.title); err != nil {
		return err
	}
	return f.SetRowHeight(sheet, titleRow, 22)
}

// writeRow writes row r of t on line n: texts as strings, numbers as numbers, every cell with
// the style of its row kind and column kind.
func writeRow(f *excelize.File, st styles, t table, n int, r tableRow) error {
	for c, col := range t.columns {
		ref := cellName(c, n)
		var x cell
		if c < len(r.cells) {
			x = r.cells[c]
		}
		var err error
		switch {
		case x.number.Valid:
			// The one place a float appears: Excel stores numbers as IEEE doubles.
			err = f.SetCellFloat(t.sheet, ref, x.number.Decimal.InexactFloat64(), -1, 64)
		case x.text != "":
			err = f.SetCellStr(t.sheet, ref, x.text)
		}
		if err != nil {
			return err
		}
		if err := f.SetCellStyle(t.sheet, ref, ref, st.cells[r.kind][col.kind]); err != nil {
			return err
		}
	}
	return nil
}

// pageSetup freezes the panes under the header and prints the sheet landscape, one page wide,
// with the title and header repeated on every page.
func pageSetup(f *excelize.File, sheet string) error {
	if err := f.SetPanes(sheet, &excelize.Panes{
		Freeze:      true,
		YSplit:      headerRow,
		TopLeftCell: cellName(0, firstRow),
		ActivePane:  "bottomLeft",
		Selection:   []excelize.Selection{{SQRef: cellName(0, firstRow), ActiveCell: cellName(0, firstRow), Pane: "bottomLeft"}},
	}); err != nil {
		return err
	}
	landscape, one, unbounded, fit := "landscape", 1, 0, true
	if err := f.SetSheetProps(sheet, &excelize.SheetPropsOptions{FitToPage: &fit}); err != nil {
		return err
	}
	if err := f.SetPageLayout(sheet, &excelize.PageLayoutOptions{Orientation: &landscape, FitToWidth: &one, FitToHeight: &unbounded}); err != nil {
		return err
	}
	return f.SetDefinedName(&excelize.DefinedName{
		Name:     "_xlnm.Print_Titles",
		RefersTo: fmt.Sprintf("'%s'!$%d:$%d", sheet, titleRow, headerRow),
		Scope:    sheet,
	})
}

// newStyles registers the workbook's styles: subtotal and total rows bold, the total under a
// border; long texts wrapped; money with the euro format, rates as percentages.
func newStyles(f *excelize.File) (styles, error) {
	var st styles
	var err error
	if st.title, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 13}}); err != nil {
		return st, err
	}
	if st.header, err = f.NewStyle(&excelize.Style{
		Font:      &excelize.Font{Bold: true},
		Alignment: &excelize.Alignment{WrapText: true, Vertical: "center", Horizontal: "center"},
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"D9E1F2"}},
		Border:    []excelize.Border{{Type: "bottom", Color: "000000", Style: 1}},
	}); err != nil {
		return st, err
	}
	for kind := range rowKinds {
		for col := range columnKinds {
			if st.cells[kind][col], err = f.NewStyle(cellStyle(kind, col)); err != nil {
				return st, err
			}
		}
	}
	return st, nil
}

func cellStyle(kind rowKind, col columnKind) *excelize.Style {
	s := &excelize.Style{Alignment: &excelize.Alignment{Vertical: "top", WrapText: col == wrappedColumn}}
	if kind != actionRow {
		s.Font = &excelize.Font{Bold: true}
	}
	if kind == totalRow {
		s.Border = []excelize.Border{{Type: "top", Color: "000000", Style: 2}}
	}
	switch col {
	case moneyColumn:
		format := euroFormat
		s.CustomNumFmt = &format
	case rateColumn:
		s.NumFmt = percentFormat
	}
	return s
}

// cellName is the A1 reference of the 0-based column col in the 1-based row.
func cellName(col, row int) string {
	name, err := excelize.CoordinatesToCellName(col+1, row)
	if err != nil {
		panic(err) // col and row come from constants and slice indexes: always valid
	}
	return name
}
