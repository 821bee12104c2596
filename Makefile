# A thin wrapper over CMake presets, so `make`, `make demo`, `make test` work as people expect.
#   make          install what is missing (Debian packages), build build/ (release preset)
#   make demo     ... and run the fraud-detection demo on the embedded mini-cluster
#   make test     ... and run every test, then again under ASan+UBSan (build-asan/)
#   make bench    build and run the benchmarks, printing a table
#   make chaos    the long chaos test: jobs killed -9 over 100 times and resumed (CHAOS_KILLS per job),
#                 then every chain of three parallelisms from {1,2,3,4} with savepoints and with
#                 kill -9 + --resume (tests/e2e/chains.py), printing a table
#   make fuzz     build the libFuzzer targets with full coverage (build-fuzz/, clang) and run each
#                 for FUZZ_SECONDS (default 60), keeping what they find in build-fuzz/fuzz/<target>/
#   make asan | make debug | make format | make clean
.PHONY: all build deps demo test test-release test-asan asan debug bench chaos fuzz format clean

FUZZ_SECONDS ?= 60

all: build

deps:
	@./scripts/install-deps

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release

debug: deps
	@cmake --preset debug >/dev/null
	@cmake --build --preset debug

asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan

demo: build
	@echo "== fraud detection on the embedded mini-cluster: generated transactions,"
	@echo "== a running total per user in keyed state, an alert when it passes 10000"
	./build/rill run build/examples/fraud.so -- --events 20000000 --output build/demo-alerts.csv
	@echo "== first alerts (build/demo-alerts.csv):"
	@head -n 6 build/demo-alerts.csv

test-release: build
	@ctest --preset release

test-asan: asan
	@ctest --preset asan

test: test-release test-asan

bench: build
	@./bench/run
	@./bench/cluster
	@./bench/checkpoints
	@./bench/kafka
	@./bench/nexmark

CHAOS_KILLS ?= 35
CHAOS_ENV = RILL_BIN=build/rill RILL_EXAMPLES=build/examples RILL_BUILD=build \
	RILL_TEST_JOBS=build/tests/jobs
chaos: build
	@status=0; \
	$(CHAOS_ENV) python3 tests/e2e/chaos.py --kills $(CHAOS_KILLS) || status=1; \
	$(CHAOS_ENV) python3 tests/e2e/chains.py || status=1; \
	exit $$status

fuzz: deps
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz
	@status=0; for t in build-fuzz/fuzz/fuzz_*; do \
	    n=$${t##*/fuzz_}; \
	    tests/fuzz/run $$t $(FUZZ_SECONDS) tests/fuzz/corpus/$$n build-fuzz/fuzz/$$n || status=1; \
	done; exit $$status

format:
	@clang-format -i include/*.h src/*/*.[ch] tests/unit/*.[ch] tests/fuzz/*.[ch] examples/*.c bench/*.c

clean:
	rm -rf build build-debug build-asan build-fuzz
