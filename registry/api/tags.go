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
	q := r.URL.Query()
	n := MaxPageSize
	if ns := q.Get("n"); ns != "" {
		v, err := strconv.Atoi(ns)
		if err != nil || v < 0 {
			return nil, newError(codePaginationNumberInvalid, fmt.Errorf("n=%.20q is not a count", ns))
		}
		n = min(v, MaxPageSize)
	}
	if last := q.Get("last"); last != "" {
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
		next := url.Values{"n": {strconv.Itoa(n)}, "last": {out[n-1]}}
		w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, r.URL.Path, next.Encode()))
	}
	return out, nil
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
	tags, err := a.store.Tags(name)
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
// access rules limit them; pagination runs over that list.
func (a *API) catalog(w http.ResponseWriter, r *http.Request) error {
	repos, err := a.store.Repositories()
	if err != nil {
		return err
	}
	if a.opts.Pullable != nil {
		if may := a.opts.Pullable(accesslog.From(r.Context()).User); may != nil {
			repos = slices.DeleteFunc(repos, func(name string) bool { return !may(name) })
		}
	}
	repos, err = page(w, r, repos)
	if err != nil {
		return err
	}
	return writeJSON(w, "application/json", struct {
		Repositories []string `json:"repositories"`
	}{repos})
}
