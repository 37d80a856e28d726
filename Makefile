# opentracker-go: build, run and test. See README.md.
GO      ?= go
export GOTOOLCHAIN ?= local
VERSION_STR := $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1.0)
LDFLAGS := -s -w -X main.version=$(VERSION_STR)
BIN     := bin/opentracker
# Fuzz budgets are execution counts, not durations: a duration races Go's
# fuzz coordinator at its deadline on a loaded machine (golang/go#75804,
# fixed only in Go 1.27) and fails with a bare "context deadline exceeded".
# Each count is a few seconds of fuzzing here.
FUZZ_PACKET ?= 200000x
FUZZ_RESPOND ?= 60000x
FUZZ_DECODE ?= 300000x
FUZZ_SYNC ?= 100000x
FUZZ_LIST ?= 60000x
FUZZ_STATE ?= 30000x
FUZZ_CONFIG ?= 10000x

.PHONY: all build run test check compat race alloc fuzz clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/opentracker

# Serves HTTP and UDP on 0.0.0.0:6969 and [::]:6969 with the embedded
# defaults (tracker/config/default.toml); ARGS adds switches, e.g.
# make run ARGS='-f my.toml'.
run: build
	./$(BIN) $(ARGS)

# Everything CI runs: formatting, vet, the race-enabled tests of every
# package (store, protocols, daemon end to end, differential tests against
# Debian's opentracker, OpenWrt packaging under qemu), and short fuzz runs.
test: check compat race alloc fuzz

# OpenWrt 24.10 builds with Go 1.23 (GOTOOLCHAIN=local): vet and build with
# that toolchain too (fetched through the module proxy), so that nothing
# newer slips in.
COMPAT_GO ?= go1.23.12
compat:
	@if GOTOOLCHAIN=$(COMPAT_GO) $(GO) version >/dev/null 2>&1; then \
		echo "GOTOOLCHAIN=$(COMPAT_GO) go vet ./... && go build ./..."; \
		GOTOOLCHAIN=$(COMPAT_GO) $(GO) vet ./... && GOTOOLCHAIN=$(COMPAT_GO) $(GO) build ./...; \
	else echo "compat: the $(COMPAT_GO) toolchain could not be fetched; skipped"; fi

# gofmt, vet (also of the darwin and freebsd builds, so that the portable
# fallbacks keep compiling) and a tidy go.mod.
check:
	@out=$$(gofmt -l cmd internal tracker openwrt 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	GOOS=darwin $(GO) vet ./...
	GOOS=freebsd $(GO) vet ./...
	$(GO) mod tidy -diff

race:
	$(GO) test -race -count=1 -timeout 20m ./...

# The zero-allocation tests skip under -race (the race detector allocates),
# so they also run without it.
alloc:
	$(GO) test -count=1 -run 'Alloc' ./tracker/... ./cmd/otbench

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzPacket$$' -fuzztime $(FUZZ_PACKET) ./tracker/udp
	$(GO) test -run '^$$' -fuzz '^FuzzRespond$$' -fuzztime $(FUZZ_RESPOND) ./tracker/http
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZ_DECODE) ./tracker/bencode
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZ_SYNC) ./tracker/livesync
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZ_LIST) ./tracker/access
	$(GO) test -run '^$$' -fuzz '^FuzzRead$$' -fuzztime $(FUZZ_STATE) ./tracker/state
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZ_CONFIG) ./tracker/config

clean:
	rm -rf bin build

# --- openwrt (owned by packaging) ---
# OpenWrt packages without the SDK: "make ipk" cross-builds the daemon for
# each OpenWrt arch and packs build/openwrt/opentracker_<version>_<arch>.ipk.
# VERSION, if set, overrides the version taken from git describe.
OPENWRT_ARCHES ?= mipsel_24kc mips_24kc arm_cortex-a7_neon-vfpv4 aarch64_cortex-a53 x86_64
OPENWRT_OUT ?= build/openwrt
OPENWRT_ENV = GOTOOLCHAIN=local $(if $(VERSION),VERSION=$(VERSION))

.PHONY: cross ipk openwrt-test

cross:
	$(OPENWRT_ENV) sh openwrt/ipk.sh cross $(OPENWRT_OUT)/bin $(OPENWRT_ARCHES)

ipk: cross
	$(OPENWRT_ENV) sh openwrt/ipk.sh pack $(OPENWRT_OUT)/bin $(OPENWRT_OUT) $(OPENWRT_ARCHES)
	@ls -l $(OPENWRT_OUT)/*.ipk

# The package's tests alone (they are part of "go test ./..." as well).
# They need qemu-user-static, busybox and shellcheck, and skip what is missing.
openwrt-test:
	GOTOOLCHAIN=local go test -timeout 20m ./openwrt/...
# --- end openwrt ---

# --- bench (owned by harness) ---
# Benchmarks; method and latest figures in docs/benchmarks.md.
# "make bench" builds this tracker and cmd/otbench, then runs every workload
# against it and Debian's opentracker (apt-get install opentracker) and the null responder, A B C A B C,
# and prints medians and ratios (under 10 minutes on 2 cores). Results also go
# to bin/bench.json. Beside both trackers runs a null responder, the floor.
# "make bench-qemu" runs the mipsle/armv7 builds, the null responder and
# Debian's mipsel opentracker under qemu-user (apt-get install
# qemu-user-static). Extra flags: BENCH_FLAGS=...
BENCH_GO = GOTOOLCHAIN=local CGO_ENABLED=0 go
BENCH_FLAGS ?=

.PHONY: bench bench-qemu bench-ref-mipsel bench-fill bench-soak bench-tools

bench-tools:
	$(BENCH_GO) build -trimpath -o bin/opentracker ./cmd/opentracker
	$(BENCH_GO) build -trimpath -o bin/otbench ./cmd/otbench

bench: bench-tools
	bin/otbench compare -ours bin/opentracker -out bin/bench.json $(BENCH_FLAGS)

# The reference under qemu is Debian's mipsel build, unpacked into
# bin/ref-mipsel by bench-ref-mipsel (root: adds the mipsel architecture).
bench-qemu: bench-tools bench-ref-mipsel
	bin/otbench qemu -out bin/bench-qemu.json $(BENCH_FLAGS)

bench-ref-mipsel:
	sh cmd/otbench/fetch-ref-mipsel.sh bin/ref-mipsel

# Memory per peer at 100k, 1M and 4M peers (ours and the reference).
bench-fill: bench-tools
	bin/otbench fill -ours bin/opentracker -peers 100000,1000000,4000000 $(BENCH_FLAGS)

# Three minutes of sustained load with the Go heap sampled every 10 s.
bench-soak: bench-tools
	bin/otbench soak -ours bin/opentracker -duration 3m $(BENCH_FLAGS)
# --- end bench ---

# --- luci (owned by luci-app) ---
# "make ipk" also packs build/openwrt/luci-app-opentracker_<version>_all.ipk
# (the LuCI app: openwrt/luci/); "make ipk-luci" packs only that.
.PHONY: ipk-luci
ipk: ipk-luci
ipk-luci:
	$(OPENWRT_ENV) sh openwrt/luci/ipk.sh $(OPENWRT_OUT)
# --- end luci ---
