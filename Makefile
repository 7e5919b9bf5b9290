# The front door. Every target installs what it needs first (scripts/install-deps).
BUILD ?= build
JOBS ?= 2

.PHONY: deps build test format format-check demo bench clean

deps:
	@scripts/install-deps

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

test: build format-check
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 300
	PARLEY_BIN=$(CURDIR)/$(BUILD)/parley scripts/run-integration

format:
	@scripts/install-deps
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

format-check:
	clang-format --dry-run -Werror $$(git ls-files '*.cpp' '*.hpp')

demo: build
	scripts/demo

bench: build
	bench/run

clean:
	rm -rf $(BUILD)
