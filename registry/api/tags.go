package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/layerlab/layerlab/registry/accesslog"
)

// MaxPageSize caps n in tag and catalog listings.
const MaxPageSize = 10000

// page applies the spec's pagination (?n=, ?last=) to a sorted list and
// sets the Link header pointing at the next page when one remains.
func page(w http.ResponseWriter, r *http.Request, all []string) ([]string, error) {
	n, err := pageSize(r)
	if err != nil {
		return nil, err
	}
	if last := r.URL.Query().Get("last"); last != "" {
		all = all[sort.SearchStrings(all, last):]
		if len(all) > 0 && all[0] == last {
			all = all[1:]
		}
	}
	if len(all) <= n {
		return all, nil
	}
	out := all[:n]
	if n > 0 {
		setNext(w, r, n, out[n-1])
	}
	return out, nil
}

// pageSize reads ?n= (MaxPageSize when absent, and at most that).
func pageSize(r *http.Request) (int, error) {
	n := MaxPageSize
	if ns := r.URL.Query().Get("n"); ns != "" {
		v, err := strconv.Atoi(ns)
		if err != nil || v < 0 {
			return 0, newError(codePaginationNumberInvalid, fmt.Errorf("n=%.20q is not a count", ns))
		}
		n = min(v, MaxPageSize)
	}
	return n, nil
}

// setNext sets the Link header to the page after last.
func setNext(w http.ResponseWriter, r *http.Request, n int, last string) {
	next := url.Values{"n": {strconv.Itoa(n)}, "last": {last}}
	w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, r.URL.Path, next.Encode()))
}

func writeJSON(w http.ResponseWriter, contentType string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
	return nil
}

func (a *API) listTags(w http.ResponseWriter, r *http.Request) error {
	name := mux.Vars(r)["name"]
	tags, err := a.tags(r.Context(), name)
	if err != nil {
		return err
	}
	tags, err = page(w, r, tags)
	if err != nil {
		return err
	}
	return writeJSON(w, "application/json", struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}{name, tags})
}

// catalog lists the repositories, only those the user may pull when
// access rules limit them; pagination runs over that list. Without such
// rules a page is read from the store from ?last= on, at the cost of the
// page alone.
func (a *API) catalog(w http.ResponseWriter, r *http.Request) error {
	var may func(string) bool
	if a.opts.Pullable != nil {
		may = a.opts.Pullable(accesslog.From(r.Context()).User)
	}
	var repos []string
	if may == nil {
		n, err := pageSize(r)
		if err != nil {
			return err
		}
		var more bool
		if repos, more, err = a.store.Catalog(r.Context(), r.URL.Query().Get("last"), n); err != nil {
			return err
		}
		if more && n > 0 {
			setNext(w, r, n, repos[n-1])
		}
	} else {
		all, err := a.store.Repositories(r.Context())
		if err != nil {
			return err
		}
		all = slices.DeleteFunc(all, func(name string) bool { return !may(name) })
		if repos, err = page(w, r, all); err != nil {
			return err
		}
	}
	return writeJSON(w, "application/json", struct {
		Repositories []string `json:"repositories"`
	}{repos})
}
