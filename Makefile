# petl: common tasks. `make test` is the test command CI runs.
GO       ?= go
PKGS     := ./...
SHARED   ?= $(abspath ../shared)
EXPECT   := $(shell sh scripts/expected-kernels.sh amd64)
QEMU     ?= qemu-aarch64-static

.PHONY: bench-bert bench-train run sweep all build generate check-generated test test-amd64 test-purego test-arm64 test-slurm vet fmt bench bench-compare cpu

all: build

build:
	$(GO) build $(PKGS)

## generate: regenerate every assembly file from internal/gen.
generate:
	$(GO) generate ./internal/gen/...

## check-generated: fail if the committed assembly differs from the generators' output.
check-generated: generate
	git diff --exit-code -- kernels internal

## test: everything CI checks: vet and gofmt, the amd64 tests with -race over every
## kernel variant this CPU has, the purego build, the arm64 build under qemu, and the
## sweep as a Slurm job array.
test: vet test-amd64 test-bert-base test-purego test-arm64 test-slurm

test-amd64:
	PETL_EXPECT_KERNELS=$(EXPECT) $(GO) test -race -count=1 $(PKGS)

## test-bert-base: BERT-base parity with PyTorch, which TestParity skips under -race
## (the race detector makes it several times slower).
test-bert-base:
	$(GO) test -count=1 -run 'TestParity/base' ./bert

test-purego:
	PETL_EXPECT_KERNELS=generic $(GO) test -tags purego -count=1 ./kernels/...

## test-arm64: the arm64 build's kernel tests under qemu user emulation. Without
## qemu they are skipped with one line saying so, unless PETL_REQUIRE_ARM64=1
## (.ci/run sets it), which makes a missing qemu an error.
test-arm64:
	@if ! command -v $(QEMU) >/dev/null; then \
		if [ "$(PETL_REQUIRE_ARM64)" = 1 ]; then \
			echo "test-arm64: $(QEMU) not found and PETL_REQUIRE_ARM64=1: apt-get install qemu-user-static" >&2; exit 1; \
		fi; \
		echo "test-arm64: SKIPPED the arm64 kernel tests: $(QEMU) not found (apt-get install qemu-user-static to run them)"; \
		exit 0; \
	fi; \
	echo "GOARCH=arm64 PETL_EXPECT_KERNELS=generic,neon $(GO) test -count=1 -exec $(QEMU) ./kernels/..."; \
	GOARCH=arm64 PETL_EXPECT_KERNELS=generic,neon $(GO) test -count=1 -exec $(QEMU) ./kernels/...

## test-slurm: a small sweep as a Slurm array job on a one-node cluster started for the
## test (one task requeued mid-run), its collected table checked against the same sweep
## run locally (about 70 s). Needs root and Debian's slurmctld, slurmd, slurm-client and
## munge; without them it is skipped with one line saying so, unless PETL_REQUIRE_SLURM=1
## (.ci/run sets it), which makes their absence an error.
test-slurm:
	GO=$(GO) SHARED=$(SHARED) bash scripts/slurm/test.sh

vet:
	$(GO) vet $(PKGS)
	GOARCH=arm64 $(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## bench: the kernel benchmarks, for benchstat (BENCH selects, COUNT repeats).
BENCH ?= .
COUNT ?= 6
bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -count $(COUNT) ./benchmarks/

## bench-compare: OpenBLAS and petl SGEMM side by side in one run (THREADS=1 or 2).
THREADS ?= 1
bench-compare:
	sh benchmarks/compare-sgemm.sh $(THREADS)

## bench-bert, bench-train: BERT inference and the training step against the PyTorch
## anchor, side by side in one run (threads 1 and 2, base and tiny shapes).
bench-bert:
	sh benchmarks/compare-bert.sh

bench-train:
	sh benchmarks/compare-train.sh

cpu:
	$(GO) run ./cmd/petl cpu

## run: the main job on built-in defaults: check the kernels, then train an SST-2 adapter
## (size 64) on the shipped BERT-tiny (models/petl-bert-tiny) and print the dev score, the
## trained-parameter ratio and the time. GLUE comes from $PETL_DATA, else ../shared/data/glue.
RUN_MODEL ?= models/petl-bert-tiny
RUN_TRAIN_FLAGS ?= --model $(RUN_MODEL) --task sst2 --adapter-size 64 --lr 2e-3 --epochs 2 --batch 32 --max-len 64 --seed 1
DATA_FLAG = $(if $(PETL_DATA),,$(if $(wildcard $(SHARED)/data/glue),--data $(SHARED)/data/glue))
run:
	$(GO) build -buildvcs=auto -o out/petl ./cmd/petl
	out/petl cpu --bench=false
	out/petl train $(RUN_TRAIN_FLAGS) $(DATA_FLAG) --out out/sst2

## sweep: the paper's experiment on the shipped model (docs/sweep.md): six GLUE tasks,
## full fine-tuning, adapters 8/64/256, top-1, layer norms + head, random-init baselines.
## Resumable: run it again after an interruption. Results in out/sweep.
SWEEP_FLAGS ?= --epochs 10 --task-epochs sst2=3 --limit sst2=20000 --batch 32 --max-len 128 --seed 1 --lr-full 2e-4,1e-3
sweep:
	$(GO) build -buildvcs=auto -o out/petl ./cmd/petl
	out/petl sweep --model $(RUN_MODEL) $(SWEEP_FLAGS) $(DATA_FLAG) --out out/sweep
