package api_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
)

// chromiumPath is Debian's Chromium, which make test installs when it is missing.
const chromiumPath = "/usr/bin/chromium"

// browser starts a headless Chromium for the test, with the flags this sandboxed machine
// needs (no sandbox as root, no background network).
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("no Chromium at %s: run the tests with `make test`, which installs Debian's chromium", chromiumPath)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1600))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelBrowser(); cancelAlloc() })
	return ctx
}

// run runs one browser action and returns its value, failing the test on an error.
func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	require.NoError(t, err)
	return v
}

// A manager opens a login link in a real browser, lands on the dashboard, and sees the 14
// fiches with their charts; the link does not work twice.
func TestDashboardInAHeadlessBrowser(t *testing.T) {
	h := newHarness(t)
	server := httptest.NewServer(h.router)
	t.Cleanup(server.Close)
	link, _, err := h.tokens.MintLogin(manager47, 10*time.Minute)
	require.NoError(t, err)

	ctx := browser(t)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(server.URL+"/login?token="+link),
		chromedp.WaitVisible(chromedp.CSS("table#fiches")),
	))
	location := run(t, ctx, chromedp.Location())
	lang := run(t, ctx, chromedp.Evaluate[string](`document.documentElement.lang`))
	heading := run(t, ctx, chromedp.Text(chromedp.CSS("h1")))
	rows := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('table#fiches tbody tr.fiche').length`))
	charts := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('table#fiches tbody tr.fiche svg[role=img]').length`))
	chartTitles := run(t, ctx, chromedp.Evaluate[int](
		`[...document.querySelectorAll('table#fiches svg[role=img] title')].filter(t => t.textContent.includes('budget de')).length`))
	screenshot := run(t, ctx, chromedp.FullScreenshot(100))
	assert.Equal(t, "/dashboard", strings.TrimPrefix(location, server.URL))
	assert.Equal(t, "fr", lang)
	assert.Contains(t, heading, "2020")
	assert.Equal(t, 14, rows, "one row per fiche action")
	assert.Equal(t, 14, charts, "one chart per fiche")
	assert.Equal(t, 14, chartTitles, "every chart has a text alternative")
	require.NotEmpty(t, screenshot)
	require.NoError(t, os.WriteFile(filepath.Join(t.ArtifactDir(), "dashboard.png"), screenshot, 0o644))

	resp, err := http.Get(server.URL + "/login?token=" + link)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "a login link works once")
}

func TestDashboardAccess(t *testing.T) {
	h := newHarness(t)
	rec := h.do(request{method: http.MethodGet, path: "/dashboard?year=2020", as: manager47})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Header().Get("Content-Type"), "text/html")
	assert.Equal(t, 14, strings.Count(rec.Body.String(), `<tr class="fiche"`))
	problem(t, h.do(request{method: http.MethodGet, path: "/dashboard?year=2020", as: agent47}), http.StatusForbidden)
	rec = h.do(request{method: http.MethodGet, path: "/dashboard/workbook.xlsx", as: manager47})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	book, err := excelize.OpenReader(bytes.NewReader(rec.Body.Bytes()))
	require.NoError(t, err, "the workbook link opens")
	assert.GreaterOrEqual(t, len(book.GetSheetList()), 2, "spend and indicator sheets")
	require.NoError(t, book.Close())
	problem(t, h.do(request{method: http.MethodGet, path: "/dashboard?year=2020"}), http.StatusUnauthorized)
	problem(t, h.do(request{method: http.MethodGet, path: "/login"}), http.StatusBadRequest)
	bearer := h.token(manager47)
	problem(t, h.do(request{method: http.MethodGet, path: "/login?token=" + bearer}), http.StatusUnauthorized)

	link, _, err := h.tokens.MintLogin(manager47, 10*time.Minute)
	require.NoError(t, err)
	rec = h.do(request{method: http.MethodGet, path: "/login?token=" + link})
	require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
	cookie := rec.Result().Cookies()[0]
	assert.Equal(t, "parcours_session", cookie.Name)
	assert.True(t, cookie.HttpOnly)
	assert.Equal(t, http.SameSiteStrictMode, cookie.SameSite)
	problem(t, h.do(request{method: http.MethodGet, path: "/api/v1/territories", headers: map[string]string{"Authorization": "Bearer " + cookie.Value}}), http.StatusUnauthorized)
}
