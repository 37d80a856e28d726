module github.com/opentracker-go/opentracker

go 1.23.0

require (
	github.com/BurntSushi/toml v1.5.0
	go.uber.org/automaxprocs v1.6.0
	golang.org/x/sys v0.35.0
)
