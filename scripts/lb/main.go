// Command caddy is the lab's load balancer: Caddy's standard distribution
// (reverse_proxy with active health checks, the file server, …), built from
// the module proxy by scripts/lb-tools.sh into the user's cache. A module
// of its own, so the registry's module never requires Caddy.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

func main() {
	caddycmd.Main()
}
