# The front door. Every target installs what it needs first (scripts/install-deps).
BUILD ?= build
JOBS ?= 2

.PHONY: deps build test check-sanitize format format-check demo bench fuzz clean

deps:
	@scripts/install-deps

# A unity build (CMAKE_UNITY_BUILD: 8 sources a translation unit, so Boost's and Asio's headers
# are parsed once per batch instead of once per file; the sources that cannot share one are
# listed in CMakeLists.txt) and -g1 (function names and line tables, what perf and a crash's
# backtrace need, without the local variables' debug info of -g) cut the CPU time of the build
# from nothing, most of CI's time: 3.1 times less on a sampled batch of sources (docs/testing.md,
# "CI's time with the unity build").
# -Wno-subobject-linkage: g++ warns once per coroutine when a batch holds anonymous-namespace
# types, which says nothing about the code. PARLEY_LINKER: mold links the programs (lld, then
# GNU ld, when it is missing), faster than GNU ld on the debug info of -g1 (docs/testing.md,
# "CI's time, session 17"). An existing $(BUILD) keeps its configuration.
PARLEY_LINKER ?= mold;lld
$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_UNITY_BUILD=ON \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG -Wno-subobject-linkage" \
	  -DPARLEY_LINKER="$(PARLEY_LINKER)"

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

# PG_TESTS: black-box files run a second time against a throwaway PostgreSQL (scripts/
# test-postgres; each server on a schema of its own): issue 19's supervisors, survey, business
# hours and reports, which have their own PostgreSQL store code (pg_supervision.cpp, pg_facts.cpp);
# the conversations API with the history filters (pg_tx.cpp; the audit log, responses, retired
# usernames and capabilities are covered by the store contract suite, which is cheaper).
PG_TESTS ?= $(addprefix tests/integration/,supervisor.test.mjs floor-reports.test.mjs conversations.test.mjs)
test: build format-check
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 300
	PARLEY_TEST_JOBS=$(JOBS) PARLEY_BIN=$(CURDIR)/$(BUILD)/parley scripts/run-integration
	scripts/test-postgres env PARLEY_TEST_STORE=postgres PARLEY_SKIP_CONFORMANCE=1 \
	  PARLEY_BIN=$(CURDIR)/$(BUILD)/parley scripts/run-integration $(PG_TESTS)

# The unit tests and the black-box suite against a server built with AddressSanitizer and
# UndefinedBehaviorSanitizer (scripts/check-sanitize: g++, build-sanitize/, jemalloc off).
# SANITIZE_TESTS picks the black-box files: by default the ones that drive the most C++ (the
# protocol, agents, sign-in, the CLI, hostile clients); the files built on timers, restarts and
# kill -9 (agents-timers, crash, restart, outage, retries, demo, webchat) stay with `make test`,
# where ASan's slowdown cannot make their deadlines flaky. SANITIZE_TESTS=tests/integration/
# runs them all.
SANITIZE_BUILD ?= build-sanitize
SANITIZE_TESTS ?= $(addprefix tests/integration/,users-cli.test.mjs auth.test.mjs \
	hardening.test.mjs hostile.test.mjs hostile-actions.test.mjs agents.test.mjs \
	agents-more.test.mjs protocol.test.mjs echo.test.mjs slow-clients.test.mjs limits.test.mjs \
	deliveries.test.mjs bot.test.mjs admin.test.mjs cli.test.mjs conversations.test.mjs)
check-sanitize: deps
	JOBS=$(JOBS) PARLEY_LINKER="$(PARLEY_LINKER)" scripts/check-sanitize $(SANITIZE_BUILD) \
	  $(SANITIZE_TESTS)

format:
	@scripts/install-deps
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

format-check:
	clang-format --dry-run -Werror $$(git ls-files '*.cpp' '*.hpp')

demo: build
	scripts/demo

# The benchmarks' programs are left out of the default build (`make test` does not need them).
bench: build
	cmake --build $(BUILD) -j$(JOBS) --target bench_targets
	bench/run

# libFuzzer targets (clang, ASan+UBSan) in their own build dir, each run FUZZ_SECONDS from the
# seeds in fuzz/corpus/; fails when any target finds a crash, leak, UB or hang. -O2 for the
# executions a second; -gline-tables-only keeps file:line in the reports at a fraction of -g's
# compile time; a unity build parses Boost's headers once per batch of sources; asserts on.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
fuzz:
	@scripts/install-deps fuzz
	CXX=clang++-14 cmake -S . -B $(FUZZ_BUILD) -DPARLEY_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -gline-tables-only" -DCMAKE_UNITY_BUILD=ON
	cmake --build $(FUZZ_BUILD) -j$(JOBS) --target fuzz_targets
	fuzz/run $(FUZZ_BUILD) $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD)
