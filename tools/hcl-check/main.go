// Command hcl-check parses Nomad job specifications with HashiCorp's own HCL2 parser (github.com/hashicorp/hcl/v2)
// and prints, as JSON on stdout, a summary of each file's job block: name, groups, count, tasks, driver, services
// and checks. Shardgate's tests run it on what `shardgate render nomad` writes, since no Nomad binary runs here.
// A file that does not parse, or whose job structure does not decode, makes it print the diagnostics (file:line)
// on stderr and exit 1.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
)

// The structs decode only the parts of a Nomad job that Shardgate's tests check; everything else is kept in
// Remain bodies, so any block or attribute Nomad knows is accepted but not interpreted.
type file struct {
	Jobs   []job    `hcl:"job,block"`
	Remain hcl.Body `hcl:",remain"`
}

type job struct {
	Name        string   `hcl:"name,label"`
	Datacenters []string `hcl:"datacenters,optional"`
	Type        string   `hcl:"type,optional"`
	Groups      []group  `hcl:"group,block"`
	Remain      hcl.Body `hcl:",remain"`
}

type group struct {
	Name     string    `hcl:"name,label"`
	Count    *int      `hcl:"count,optional"`
	Networks []network `hcl:"network,block"`
	Services []service `hcl:"service,block"`
	Tasks    []task    `hcl:"task,block"`
	Remain   hcl.Body  `hcl:",remain"`
}

type network struct {
	Ports  []port   `hcl:"port,block"`
	Remain hcl.Body `hcl:",remain"`
}

type port struct {
	Name   string   `hcl:"name,label"`
	Static *int     `hcl:"static,optional"`
	To     *int     `hcl:"to,optional"`
	Remain hcl.Body `hcl:",remain"`
}

type service struct {
	Name     string   `hcl:"name,optional"`
	Port     string   `hcl:"port,optional"`
	Tags     []string `hcl:"tags,optional"`
	Provider string   `hcl:"provider,optional"`
	Checks   []check  `hcl:"check,block"`
	Remain   hcl.Body `hcl:",remain"`
}

type check struct {
	Type     string   `hcl:"type,optional"`
	Port     string   `hcl:"port,optional"`
	Path     string   `hcl:"path,optional"`
	Interval string   `hcl:"interval,optional"`
	Timeout  string   `hcl:"timeout,optional"`
	Remain   hcl.Body `hcl:",remain"`
}

type task struct {
	Name        string        `hcl:"name,label"`
	Driver      string        `hcl:"driver"`
	KillTimeout string        `hcl:"kill_timeout,optional"`
	KillSignal  string        `hcl:"kill_signal,optional"`
	Config      *dockerConfig `hcl:"config,block"`
	Templates   []template    `hcl:"template,block"`
	Vault       []vault       `hcl:"vault,block"`
	Services    []service     `hcl:"service,block"`
	Remain      hcl.Body      `hcl:",remain"`
}

type template struct {
	Data        string   `hcl:"data,optional"`
	Destination string   `hcl:"destination"`
	ChangeMode  string   `hcl:"change_mode,optional"`
	Remain      hcl.Body `hcl:",remain"`
}

type vault struct {
	Role     string   `hcl:"role,optional"`
	Policies []string `hcl:"policies,optional"`
	Remain   hcl.Body `hcl:",remain"`
}

// The JSON summary: what a test asserts on. Field names are stable; lists keep the order of the file.
type summaryCheck struct {
	Type     string `json:"type"`
	Port     string `json:"port"`
	Path     string `json:"path"`
	Interval string `json:"interval"`
}

type summaryService struct {
	Name     string         `json:"name"`
	Port     string         `json:"port"`
	Provider string         `json:"provider"`
	Tags     []string       `json:"tags"`
	Checks   []summaryCheck `json:"checks"`
}

type summaryTemplate struct {
	Destination string `json:"destination"`
	ChangeMode  string `json:"changeMode"`
	Data        string `json:"data"`
}

type summaryTask struct {
	Name          string            `json:"name"`
	Driver        string            `json:"driver"`
	KillTimeout   string            `json:"killTimeout"`
	KillSignal    string            `json:"killSignal"`
	Image         string            `json:"image"`
	Args          []string          `json:"args"`
	Templates     []summaryTemplate `json:"templates"`
	VaultRoles    []string          `json:"vaultRoles"`
	VaultPolicies []string          `json:"vaultPolicies"`
	Services      []summaryService  `json:"services"`
}

type summaryPort struct {
	Name   string `json:"name"`
	Static *int   `json:"static"`
	To     *int   `json:"to"`
}

type summaryGroup struct {
	Name     string           `json:"name"`
	Count    *int             `json:"count"`
	Ports    []summaryPort    `json:"ports"`
	Services []summaryService `json:"services"`
	Tasks    []summaryTask    `json:"tasks"`
}

type summaryJob struct {
	File        string         `json:"file"`
	Name        string         `json:"name"`
	Type        string         `json:"type"`
	Datacenters []string       `json:"datacenters"`
	Groups      []summaryGroup `json:"groups"`
}

// dockerConfig is the part of a docker task's config block the summary reports.
type dockerConfig struct {
	Image  string   `hcl:"image,optional"`
	Args   []string `hcl:"args,optional"`
	Remain hcl.Body `hcl:",remain"`
}

func services(in []service) []summaryService {
	out := []summaryService{}
	for _, s := range in {
		checks := []summaryCheck{}
		for _, c := range s.Checks {
			checks = append(checks, summaryCheck{Type: c.Type, Port: c.Port, Path: c.Path, Interval: c.Interval})
		}
		tags := s.Tags
		if tags == nil {
			tags = []string{}
		}
		out = append(out, summaryService{Name: s.Name, Port: s.Port, Provider: s.Provider, Tags: tags, Checks: checks})
	}
	return out
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "--help" || os.Args[1] == "-h" {
		fmt.Fprintln(os.Stderr, "Usage: hcl-check FILE.hcl...\n\nParses each file with github.com/hashicorp/hcl/v2, "+
			"decodes its Nomad job blocks and prints a JSON array of job summaries on stdout; diagnostics on "+
			"stderr and exit 1 when a file does not parse or decode.")
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	parser := hclparse.NewParser()
	var diags hcl.Diagnostics
	jobs := []summaryJob{}
	for _, name := range os.Args[1:] {
		f, d := parser.ParseHCLFile(name)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		var decoded file
		d = gohcl.DecodeBody(f.Body, nil, &decoded)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		for _, j := range decoded.Jobs {
			sj := summaryJob{File: name, Name: j.Name, Type: j.Type, Datacenters: j.Datacenters, Groups: []summaryGroup{}}
			for _, g := range j.Groups {
				sg := summaryGroup{Name: g.Name, Count: g.Count, Ports: []summaryPort{}, Services: services(g.Services),
					Tasks: []summaryTask{}}
				for _, n := range g.Networks {
					for _, p := range n.Ports {
						sg.Ports = append(sg.Ports, summaryPort{Name: p.Name, Static: p.Static, To: p.To})
					}
				}
				for _, t := range g.Tasks {
					st := summaryTask{Name: t.Name, Driver: t.Driver, KillTimeout: t.KillTimeout, KillSignal: t.KillSignal, Args: []string{},
						Templates: []summaryTemplate{}, VaultRoles: []string{}, VaultPolicies: []string{}, Services: services(t.Services)}
					if t.Config != nil {
						st.Image = t.Config.Image
						if t.Config.Args != nil {
							st.Args = t.Config.Args
						}
					}
					for _, tp := range t.Templates {
						st.Templates = append(st.Templates,
							summaryTemplate{Destination: tp.Destination, ChangeMode: tp.ChangeMode, Data: tp.Data})
					}
					for _, v := range t.Vault {
						if v.Role != "" {
							st.VaultRoles = append(st.VaultRoles, v.Role)
						}
						st.VaultPolicies = append(st.VaultPolicies, v.Policies...)
					}
					sg.Tasks = append(sg.Tasks, st)
				}
				sj.Groups = append(sj.Groups, sg)
			}
			jobs = append(jobs, sj)
		}
	}
	if diags.HasErrors() {
		writer := hcl.NewDiagnosticTextWriter(os.Stderr, parser.Files(), 120, false)
		_ = writer.WriteDiagnostics(diags)
		os.Exit(1)
	}
	out := json.NewEncoder(os.Stdout)
	out.SetIndent("", "  ")
	out.SetEscapeHTML(false)
	if err := out.Encode(jobs); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
