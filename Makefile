# glassbox — build. Targets are flag sets; see README.md.
#   make            ./glassbox and build/libglassbox.a
#   make test       cppcheck + flawfinder, unit + CLI tests, then the same under ASan + UBSan
#   make demo       the README's main job on the bundled data
#   make bench      benchmarks against peers (bench/)
#   make fuzz       libFuzzer harnesses (clang)
#   SAN=address,undefined   build everything with sanitizers (into build/san)

CC      ?= gcc
SAN     ?=
BUILDDIR?= build
BUILD   := $(BUILDDIR)$(if $(SAN),/san)
WARN    := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror
OPT     := $(if $(SAN),-O1 -g -fno-omit-frame-pointer -fsanitize=$(SAN) -fno-sanitize-recover=all,-O2 -g)
CFLAGS  ?=
CFLAGS  += -std=c17 -D_GNU_SOURCE $(WARN) $(OPT) -fopenmp -Iinclude -Isrc -Itests -I$(BUILD)
LDFLAGS += $(if $(SAN),-fsanitize=$(SAN))
LDLIBS  += -lcjson -lz -lm -ledit -fopenmp

LIB_SRC := $(sort $(wildcard src/core/*.c src/formats/*.c src/tokenizer/*.c src/model/*.c src/train/*.c src/infer/*.c))
CLI_SRC := $(sort $(wildcard src/cli/*.c))
TEST_SRC:= $(filter-out tests/fuzz/%,$(sort $(wildcard tests/*.c tests/*/*.c)))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_OBJ:= $(TEST_SRC:%.c=$(BUILD)/obj/%.o)
BIN     := $(BUILD)/glassbox

.PHONY: all lib test unit demo bench fuzz deps lint clean FORCE
all: $(BIN) $(BUILD)/tests $(if $(SAN)$(filter-out build,$(BUILDDIR)),,glassbox)

# ./glassbox at the top is the plain build's binary, for the README's commands
glassbox: $(BUILD)/glassbox
	cp $< $@

lib: $(BUILD)/libglassbox.a

deps:
	@sh scripts/deps.sh

# version.h changes only when the commit does, so a rebuild is not forced every time.
$(BUILD)/version.h: FORCE
	@mkdir -p $(@D)
	@c=$$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown); \
	 d=$$(git diff --quiet HEAD -- 2>/dev/null || echo -dirty); \
	 printf '#define GB_GIT_COMMIT "%s%s"\n' "$$c" "$$d" > $@.tmp; \
	 cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/src/cli/main.o: $(BUILD)/version.h

# SIMDe passes 64-byte vectors by value; gcc notes an ABI change of its 4.6 (not silenced by a pragma)
$(BUILD)/obj/tests/core/test_quant_avx512_emulated.o: CFLAGS += -Wno-psabi

$(BUILD)/libglassbox.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(BUILD)/libglassbox.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libglassbox.a $(LDLIBS)

$(BUILD)/tests: $(TEST_OBJ) $(BUILD)/libglassbox.a
	$(CC) $(LDFLAGS) -o $@ $(TEST_OBJ) $(BUILD)/libglassbox.a $(LDLIBS)

# The README's test command: deps, plain build, sanitizer build, one summary line.
test: deps lint
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory SAN=address,undefined all
	@sh scripts/run-tests.sh $(BUILDDIR)

# One suite only: make unit [T=name-prefix]
unit: all
	GB_BIN=$(BIN) ./$(BUILD)/tests $(T)

demo: deps
	@$(MAKE) --no-print-directory all
	@sh scripts/demo.sh

bench: all
	@sh scripts/deps.sh bench
	@sh bench/run.sh

FUZZ_SRC := $(sort $(wildcard tests/fuzz/*.c))
fuzz:
	@mkdir -p build/fuzz
	@for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  echo "clang $$f -> build/fuzz/$$n"; \
	  clang -std=c17 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fopenmp -Iinclude -Isrc \
	    $$f $(LIB_SRC) -lcjson -lz -lm -o build/fuzz/$$n || exit 1; done

clean:
	rm -rf $(BUILDDIR) glassbox

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d)

# Static analysis: no high-severity finding is allowed (cppcheck errors/warnings, flawfinder level >= 4).
lint:
	@sh scripts/lint.sh
