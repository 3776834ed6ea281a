# The three names people and tools rely on (docs/design.md, "Names that tools and people rely on"):
#   make        build (release) into build/, and the page's bundle into public/dist/
#   make run    install what is missing, build, run huddle in the foreground
#   make test   install what the tests need, build, run every test
# Also: make asan (sanitizer build in build-asan/), make bench, make clean.

BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all build asan run test bench clean format

all: build

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)
	@scripts/assets.sh

asan:
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DHUDDLE_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

run:
	@scripts/deps.sh run
	@$(MAKE) --no-print-directory build
	@exec scripts/run.sh

test:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory build asan
	@scripts/test.sh

bench:
	@t0=$$(date +%s) && scripts/deps.sh test && \
		$(MAKE) --no-print-directory build && BENCH_T0=$$t0 bench/all.sh

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz public/dist public/dist.*
