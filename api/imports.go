package api

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"

	"github.com/gin-gonic/gin"

	"parcours/services"
	"parcours/services/auth"
	"parcours/services/imports"
)

// importFileField is the multipart form field that carries an imported file.
const importFileField = "file"

// importReportDTO is what an import did.
type importReportDTO struct {
	RowsRead   int                  `json:"rows_read"`
	Created    int                  `json:"created"`
	Updated    int                  `json:"updated"`
	Unchanged  int                  `json:"unchanged"`
	Rejected   int                  `json:"rejected"`
	Rejections []importRejectionDTO `json:"rejections"`
}

// importRejectionDTO is one broken rule of one rejected row.
type importRejectionDTO struct {
	Line   int    `json:"line"`
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func toImportReportDTO(r imports.Report) importReportDTO {
	out := importReportDTO{RowsRead: r.RowsRead, Created: r.Created, Updated: r.Updated, Unchanged: r.Unchanged,
		Rejected: r.Rejected, Rejections: make([]importRejectionDTO, len(r.Rejections))}
	for i, rej := range r.Rejections {
		out.Rejections[i] = importRejectionDTO{Line: rej.Line, Field: rej.Field, Reason: rej.Reason}
	}
	return out
}

type importHandlers struct {
	svc *imports.Service
}

// registerImports adds the file import routes, for administrators. Their body limit is
// Deps.MaxImportBytes (see importRoutes).
func registerImports(v1 *gin.RouterGroup, d Deps) {
	h := importHandlers{svc: imports.New(d.DB, d.Cipher)}
	v1.POST("/imports/beneficiaries", requireRoles(auth.RoleAdmin), handle(h.beneficiaries))
}

func (h importHandlers) beneficiaries(c *gin.Context) error {
	file, err := formFile(c, importFileField)
	if err != nil {
		return err
	}
	rep, err := h.svc.Beneficiaries(c.Request.Context(), file)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toImportReportDTO(rep))
	return nil
}

// formFile streams the part named field of a multipart/form-data body: 415 for another
// media type, 400 when the form is malformed or has no such field.
func formFile(c *gin.Context, field string) (io.Reader, error) {
	mt, params, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil, &requestError{status: http.StatusUnsupportedMediaType,
			detail: `the request body must be multipart/form-data with the file in the field "` + field + `"`}
	}
	if params["boundary"] == "" {
		return nil, badRequest("the multipart/form-data Content-Type has no boundary")
	}
	form := multipart.NewReader(c.Request.Body, params["boundary"])
	for {
		part, err := form.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, badRequest(`the form has no field "`+field+`"`, services.FieldError{Field: field, Message: "is required"})
		}
		if err != nil {
			return nil, uploadError(err)
		}
		if part.FormName() == field {
			return uploadReader{part}, nil
		}
	}
}

// uploadReader reads an uploaded part; a malformed body is the client's fault (400).
type uploadReader struct{ r io.Reader }

func (u uploadReader) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = uploadError(err)
	}
	return n, err
}

// uploadError keeps a body over the limit as it is (413) and makes any other failure to read
// the form a 400.
func uploadError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return err
	}
	return badRequest("the multipart/form-data body is malformed: " + err.Error())
}
