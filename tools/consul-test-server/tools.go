//go:build tools

// Package tools pins the Consul server that Shardgate's Consul-mode tests run; it is never compiled into anything.
package tools

import _ "github.com/hashicorp/consul"
