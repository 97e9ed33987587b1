package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"parcours/services"
)

// bindJSON decodes the JSON body into dst strictly: the media type must be JSON, unknown
// fields and trailing data are refused. Syntax errors are 400s; a field of the wrong type or
// an unknown field is a 422 naming the field.
func bindJSON(c *gin.Context, dst any) error {
	if mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err != nil || mt != "application/json" {
		return &requestError{status: http.StatusUnsupportedMediaType, detail: "the request body must be application/json"}
	}
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return err
		}
		return badRequest("the request body must hold a single JSON value")
	}
	return nil
}

func decodeError(err error) error {
	var (
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		tooLarge  *http.MaxBytesError
	)
	switch {
	case errors.As(err, &tooLarge):
		return err
	case errors.Is(err, io.EOF):
		return badRequest("the request body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("the request body is not valid JSON: it ends too early")
	case errors.As(err, &syntaxErr):
		return badRequest(fmt.Sprintf("the request body is not valid JSON (at byte %d)", syntaxErr.Offset))
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return badRequest(fmt.Sprintf("the request body must be a JSON object, not %s", typeErr.Value))
		}
		return &requestError{status: http.StatusUnprocessableEntity, detail: "the request breaks one or more rules",
			fields: []services.FieldError{{Field: field, Message: "must be a " + jsonTypeName(typeErr.Type.Kind().String())}}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &requestError{status: http.StatusUnprocessableEntity, detail: "the request breaks one or more rules",
			fields: []services.FieldError{{Field: field, Message: "is not a known field"}}}
	default:
		return badRequest("the request body could not be read: " + err.Error())
	}
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "map", "struct":
		return "object"
	default:
		return "number"
	}
}

// Optional is a JSON field of a PATCH body that tells absent, null and a value apart.
type Optional[T any] struct {
	Set   bool
	Null  bool
	Value T
}

// UnmarshalJSON records that the field was present, and whether it was null.
func (o *Optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if bytes.Equal(b, []byte("null")) {
		o.Null = true
		return nil
	}
	return json.Unmarshal(b, &o.Value)
}

// notNull returns a pointer to the value when the field was given, nil when absent, and
// records a field error when it was null.
func notNull[T any](v *services.Validator, field string, o Optional[T]) *T {
	v.Check(!o.Null, field, "must not be null")
	if !o.Set || o.Null {
		return nil
	}
	return &o.Value
}

// pageRequest reads ?limit= and ?cursor=.
func pageRequest(c *gin.Context) (services.PageRequest, error) {
	req := services.PageRequest{Limit: services.DefaultPageLimit}
	var fields []services.FieldError
	if raw, ok := c.GetQuery("limit"); ok {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > services.MaxPageLimit {
			fields = append(fields, services.FieldError{Field: "limit", Message: fmt.Sprintf("must be a whole number from 1 to %d", services.MaxPageLimit)})
		}
		req.Limit = n
	}
	if raw := c.Query("cursor"); raw != "" {
		after, err := decodeCursor(raw)
		if err != nil {
			fields = append(fields, services.FieldError{Field: "cursor", Message: "is not a cursor this API returned"})
		}
		req.After = after
	}
	if len(fields) > 0 {
		return req, badRequest("invalid query parameters", fields...)
	}
	return req, nil
}

func encodeCursor(after []string) *string {
	if after == nil {
		return nil
	}
	b, _ := json.Marshal(after)
	s := base64.RawURLEncoding.EncodeToString(b)
	return &s
}

func decodeCursor(raw string) ([]string, error) {
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return nil, err
	}
	var after []string
	if err := json.Unmarshal(b, &after); err != nil || len(after) == 0 {
		return nil, errors.New("bad cursor")
	}
	return after, nil
}

// listResponse is the body of every list endpoint.
type listResponse[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func newListResponse[S, T any](page services.Page[S], convert func(S) T) listResponse[T] {
	items := make([]T, len(page.Items))
	for i, s := range page.Items {
		items[i] = convert(s)
	}
	return listResponse[T]{Items: items, NextCursor: encodeCursor(page.Next)}
}

// etag is the strong entity tag of a resource at version.
func etag(version int) string { return strconv.Quote(strconv.Itoa(version)) }

// expectedVersion reads If-Match: 428 when absent, 412 when it cannot match any version.
func expectedVersion(c *gin.Context) (int, error) {
	raw := strings.TrimSpace(c.GetHeader("If-Match"))
	if raw == "" {
		return 0, fmt.Errorf("this change needs an If-Match header with the ETag from a GET: %w", services.ErrPreconditionRequired)
	}
	if raw == "*" {
		return services.AnyVersion, nil
	}
	if unquoted, err := strconv.Unquote(raw); err == nil {
		if v, err := strconv.Atoi(unquoted); err == nil && v > 0 {
			return v, nil
		}
	}
	return 0, fmt.Errorf("If-Match %s matches no version of this resource: %w", raw, services.ErrPreconditionFailed)
}

// inputRequest is a request body that converts itself to a service input, recording its
// field errors (null where a value is needed, malformed money) in v.
type inputRequest[I any] interface {
	input(v *services.Validator) I
}

// selfValidating inputs check their own rules without the database.
type selfValidating interface {
	Validate(creating bool) error
}

// bindInput binds the body into a R and converts it to its service input. When the body
// itself has bad fields, the input's own rules are checked too, so that the 422 lists every
// bad field at once.
func bindInput[R inputRequest[I], I any](c *gin.Context, creating bool) (I, error) {
	var (
		req R
		v   services.Validator
	)
	if err := bindJSON(c, &req); err != nil {
		var zero I
		return zero, err
	}
	in := req.input(&v)
	return in, inputErrors(&v, in, creating)
}

// inputErrors returns v's field errors, if any, with those of the input's own rules.
func inputErrors(v *services.Validator, in any, creating bool) error {
	err := v.Err()
	if err == nil {
		return nil
	}
	if self, ok := in.(selfValidating); ok {
		err = services.MergeValidation(err, self.Validate(creating))
	}
	return err
}

// handle adapts a handler that returns its error: the error is rendered as a problem, the one
// way handlers fail.
func handle(h func(c *gin.Context) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			renderError(c, err)
		}
	}
}

// respond renders body with status and the ETag of version.
func respond(c *gin.Context, status, version int, body any) {
	c.Header("ETag", etag(version))
	c.JSON(status, body)
}

// resourceCode reads the `code` field that names a resource: required when creating, refused
// when updating (the code is the resource's key; what names the resource kind in the message).
func resourceCode(v *services.Validator, o Optional[string], creating bool, what string) *string {
	if !creating {
		v.Check(!o.Set, "code", "cannot change: create another "+what)
		return nil
	}
	v.Check(o.Set, "code", "is required")
	return optText(v, "code", o)
}
