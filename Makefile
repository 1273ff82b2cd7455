# Build, test, benchmark and install baton. `make demo` and `make check` are the two
# commands a new user runs; every source, test and fuzz target is found by wildcard.

PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR  ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
PCDIR   ?= $(LIBDIR)/pkgconfig
MANDIR  ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions

CC      ?= cc
FUZZCC  ?= clang
PKGS    := jansson inih sqlite3 libpq hiredis
PKGS    += libbpf
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# libbpf is opened when a master first loads BPF programs, never linked
# (src/supervise/bpflib.c, docs/internals/master-memory.md).
PKG_LIBS   := $(filter-out -lbpf,$(PKG_LIBS))
HTTP_LIBS  :=
# llhttp: Debian's node-llhttp ships its C sources; they are compiled from the installed
# package into build/*/llhttp/ (strict mode, no lenient flag), never copied into the tree.
LLHTTP_DIR := /usr/share/llhttp
LLHTTP_INC := /usr/share/include/llhttp
LLHTTP_C   := $(LLHTTP_DIR)/api.c $(LLHTTP_DIR)/http.c $(LLHTTP_DIR)/llhttp.c
PKG_CFLAGS += -DLLHTTP_STRICT_MODE=1 -I$(LLHTTP_INC)
LLHTTP_CFLAGS = -std=c17 -DLLHTTP_STRICT_MODE=1 -I$(LLHTTP_INC) -g -fPIC -w -MMD -MP
llhttp_obj = $(patsubst $(LLHTTP_DIR)/%.c,$(1)/llhttp/%.o,$(LLHTTP_C))
# libpg_query (PostgreSQL's parser, for `baton migrate lint`), linked statically and only
# into baton-migrate, the unit tests and the fuzz targets (docs/internals/binaries.md).
PGQUERY_LIBS := -l:libpg_query.a
TOOL_LIBS_migrate := $(PGQUERY_LIBS)
# cairo draws the plots; only baton-plot (and the tests) link it: through it come pixman,
# freetype, fontconfig and libpng, which the master must not map (docs/internals/binaries.md).
PLOT_SRC     := $(sort $(wildcard src/load/plot*.c))
PKG_CFLAGS   += $(shell pkg-config --cflags cairo 2>/dev/null)
CAIRO_LIBS   := $(shell pkg-config --libs cairo fontconfig 2>/dev/null)
TOOL_LIBS_plot := $(CAIRO_LIBS)
TOOL_SRC_plot  := $(PLOT_SRC)

WARN    := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wformat=2 -Wno-format-truncation
BASE_CFLAGS := -std=c17 -D_GNU_SOURCE -Isrc -Iinclude $(PKG_CFLAGS) $(WARN) -MMD -MP
BASE_CFLAGS += -Ibuild/gen
REL_CFLAGS  := $(BASE_CFLAGS) -O2 -g -fPIC
SAN_FLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
ASAN_CFLAGS := $(BASE_CFLAGS) -O1 -g $(SAN_FLAGS)
LIBS        := $(PKG_LIBS) $(HTTP_LIBS) -lm

# Sources. The `baton` executable holds the supervisor, the proxy, the load generator
# and their core; the verbs that link database clients (TOOLS) are companion
# executables `baton-TOOL`, built from src/cli/tools/baton-TOOL.c, src/cli/cmd_TOOL.c
# and src/TOOL/, so the master and the proxy never map libpq (docs/internals/binaries.md).
# Unit tests and fuzz targets link everything.
TOOLS     := $(patsubst src/cli/tools/baton-%.c,%,$(wildcard src/cli/tools/baton-*.c))
CORE_SRC  := $(sort $(wildcard src/core/*.c))
BATON_LIB_SRC := $(CORE_SRC) $(filter-out $(PLOT_SRC),$(sort $(wildcard src/supervise/*.c src/proxy/*.c src/load/*.c src/deploy/*.c)))
# The admin listener (src/obs/) and the status page's files, embedded by web/embed.sh.
WEB_ASSETS := web/index.html web/app.js web/app.css
WEB_GEN    := build/gen/web_assets.c
BATON_LIB_SRC += $(sort $(wildcard src/obs/*.c)) $(WEB_GEN)
LIB_SRC   := $(BATON_LIB_SRC) $(sort $(foreach t,$(TOOLS),$(wildcard src/$(t)/*.c)))
LIB_SRC   += $(PLOT_SRC)
CLI_SRC   := $(filter-out $(foreach t,$(TOOLS),src/cli/cmd_$(t).c),$(sort $(wildcard src/cli/*.c)))
LAZY_SRC  := $(sort $(wildcard src/lazy/*.c)) src/core/err.c src/core/clock.c
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
EX_SRC    := $(sort $(wildcard examples/*.c))

REL  := build/rel
ASAN := build/asan
FUZZ := build/fuzz

rel_obj  = $(patsubst %.c,$(REL)/%.o,$(1))
asan_obj = $(patsubst %.c,$(ASAN)/%.o,$(1))

REL_LIB_OBJ  := $(call rel_obj,$(BATON_LIB_SRC))
ASAN_LIB_OBJ := $(call asan_obj,$(LIB_SRC))
tool_src = src/cli/tools/baton-$(1).c src/cli/cmd_$(1).c $(wildcard src/$(1)/*.c) $(TOOL_SRC_$(1)) $(CORE_SRC)
UNIT_BIN     := $(patsubst tests/unit/%.c,$(ASAN)/tests/%,$(UNIT_SRC))
FUZZ_BIN     := $(patsubst tests/fuzz/%.c,$(FUZZ)/%,$(FUZZ_SRC))
EX_BIN       := $(patsubst examples/%.c,$(REL)/examples/%,$(EX_SRC))

.PHONY: all deps demo check test unit integration fuzz fuzz-build bench install uninstall \
        clean format lint style asan demo-fleet

all: $(REL)/baton $(foreach t,$(TOOLS),$(REL)/baton-$(t)) $(REL)/libbaton-lazy.so $(REL)/libbaton-lazy.a $(EX_BIN)

asan: $(ASAN)/baton $(foreach t,$(TOOLS),$(ASAN)/baton-$(t)) $(UNIT_BIN)

# Installs the Debian packages that building and testing need (only the missing ones).
deps:
	@scripts/deps.sh

$(REL)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(REL_CFLAGS) -c $< -o $@

$(ASAN)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC asan $<"
	@$(CC) $(ASAN_CFLAGS) -c $< -o $@

$(WEB_GEN): web/embed.sh $(WEB_ASSETS)
	@mkdir -p $(dir $@)
	@echo "  EMBED   $@"
	@web/embed.sh $@ $(WEB_ASSETS)

$(REL)/llhttp/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(LLHTTP_CFLAGS) -O2 -c $< -o $@

$(ASAN)/llhttp/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(dir $@)
	@echo "  CC asan $<"
	@$(CC) $(LLHTTP_CFLAGS) -O1 $(SAN_FLAGS) -c $< -o $@

$(FUZZ)/llhttp/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(dir $@)
	@echo "  CC fuzz $<"
	@$(FUZZCC) $(LLHTTP_CFLAGS) -O1 -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@

# The BPF programs of --mode reuseport: compiled by clang for the bpf target, then
# embedded into the master as a libbpf skeleton header (bpftool gen skeleton).
BPF_GEN  := build/gen
BPF_CC   ?= clang
BPFTOOL  ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
BPF_SKEL := $(BPF_GEN)/reuseport.skel.h
$(BPF_GEN)/reuseport.bpf.o: src/supervise/bpf/reuseport.bpf.c
	@mkdir -p $(dir $@)
	@echo "  BPF     $<"
	@$(BPF_CC) -O2 -g -target bpf -I/usr/include/$(shell $(CC) -dumpmachine) -Wall -Werror -c $< -o $@
$(BPF_SKEL): $(BPF_GEN)/reuseport.bpf.o
	@echo "  SKEL    $@"
	@$(BPFTOOL) gen skeleton $< name rp_bpf >$@.tmp && mv $@.tmp $@
$(call rel_obj,src/supervise/mode_reuseport_kern.c): $(BPF_SKEL)
$(call asan_obj,src/supervise/mode_reuseport_kern.c): $(BPF_SKEL)
$(FUZZ)/obj/src/supervise/mode_reuseport_kern.o: $(BPF_SKEL)

$(REL)/baton: $(call llhttp_obj,$(REL))
$(ASAN)/baton: $(call llhttp_obj,$(ASAN))
# The master's executable: segments aligned to 64 kB, so that the kernel loads it at a
# 64 kB boundary and maps the same pages of it in every image (the fault-around windows
# no longer move with the random load address), and relative relocations packed (DT_RELR):
# docs/internals/master-memory.md.
MASTER_LDFLAGS := -Wl,-z,max-page-size=0x10000 -Wl,-z,pack-relative-relocs
$(REL)/baton: $(call rel_obj,$(CLI_SRC)) $(REL_LIB_OBJ)
	@echo "  LINK    $@"
	@$(CC) $(MASTER_LDFLAGS) -o $@ $^ $(LIBS)

$(ASAN)/baton: $(call asan_obj,$(CLI_SRC) $(BATON_LIB_SRC))
	@echo "  LINK    $@"
	@$(CC) $(SAN_FLAGS) -o $@ $^ $(LIBS)

define tool_rules
$(REL)/baton-$(1): $(call rel_obj,$(call tool_src,$(1)))
	@echo "  LINK    $$@"
	@$$(CC) -o $$@ $$^ $$(LIBS) $$(TOOL_LIBS_$(1))
$(ASAN)/baton-$(1): $(call asan_obj,$(call tool_src,$(1)))
	@echo "  LINK    $$@"
	@$$(CC) $$(SAN_FLAGS) -o $$@ $$^ $$(LIBS) $$(TOOL_LIBS_$(1))
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rules,$(t))))

# Man pages and bash completion, written by the executables from their verbs' option
# tables (hidden options --man-dir and --completion); dated by the last commit.
DOC_BINS  := $(REL)/baton $(foreach t,$(TOOLS),$(REL)/baton-$(t))
DOC_EPOCH := $(shell git log -1 --format=%ct 2>/dev/null)
$(REL)/man/baton.1: $(DOC_BINS)
	@echo "  MAN     $(REL)/man"
	@rm -rf $(REL)/man && mkdir -p $(REL)/man
	@for b in $(DOC_BINS); do SOURCE_DATE_EPOCH=$(DOC_EPOCH) $$b --man-dir $(REL)/man || exit 1; done
$(REL)/completion/baton: $(DOC_BINS)
	@echo "  COMPL   $@"
	@mkdir -p $(dir $@)
	@for b in $(DOC_BINS); do $$b --completion || exit 1; done >$@.tmp && mv $@.tmp $@
all: $(REL)/man/baton.1 $(REL)/completion/baton

$(REL)/libbaton-lazy.so: $(call rel_obj,$(LAZY_SRC))
	@echo "  LINK    $@"
	@$(CC) -shared -Wl,-z,defs -Wl,-soname,libbaton-lazy.so.1 -Wl,--version-script=src/lazy/exports.map -o $@ $^ $(LIBS)

$(REL)/libbaton-lazy.a: $(call rel_obj,$(LAZY_SRC))
	@echo "  AR      $@"
	@rm -f $@ && ar rcs $@ $^

$(REL)/examples/%: examples/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(REL_CFLAGS) -o $@ $< $(LIBS)

# A static build of the example app: container images made without a registry
# (examples/containers/image.sh, tests/integration/containers/).
$(REL)/examples/static/httpapp: examples/httpapp.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (static)"
	@$(CC) -std=c17 -D_GNU_SOURCE -O2 -static -o $@ $<
all: $(REL)/examples/static/httpapp

$(ASAN)/tests/%: tests/unit/%.c $(ASAN_LIB_OBJ) $(call llhttp_obj,$(ASAN))
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	@$(CC) $(ASAN_CFLAGS) -o $@ $(filter %.c %.o,$^) $(LIBS) $(PGQUERY_LIBS) $(CAIRO_LIBS) -lcmocka

# libFuzzer targets: each links the whole library, built by clang with the fuzzer runtime.
FUZZ_CFLAGS := -std=c17 -D_GNU_SOURCE -Isrc -Iinclude $(PKG_CFLAGS) -g -O1 -MMD -MP \
               -fsanitize=fuzzer-no-link,address,undefined
FUZZ_CFLAGS += -Ibuild/gen
$(FUZZ)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC fuzz $<"
	@$(FUZZCC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ)/%: tests/fuzz/%.c $(patsubst %.c,$(FUZZ)/obj/%.o,$(LIB_SRC)) $(call llhttp_obj,$(FUZZ))
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	@$(FUZZCC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $(filter %.c %.o,$^) $(LIBS) $(PGQUERY_LIBS) $(CAIRO_LIBS)

# The objects of the fuzz build are kept (make would delete them as intermediates of the
# pattern rule above, and rebuild all of them for every target at the next build).
.SECONDARY: $(patsubst %.c,$(FUZZ)/obj/%.o,$(LIB_SRC)) $(call llhttp_obj,$(FUZZ))

fuzz-build: $(FUZZ_BIN)

# A short run of every fuzz target (FUZZ_SECONDS each), its corpus kept in tests/fuzz/corpus.
fuzz: fuzz-build
	@tests/fuzz/run.sh $(FUZZ) $${FUZZ_SECONDS:-15}

unit: $(UNIT_BIN)
	@tests/unit/run.sh $(ASAN)/tests

integration: all $(ASAN)/baton $(foreach t,$(TOOLS),$(ASAN)/baton-$(t))
	@BATON=$(CURDIR)/$(ASAN)/baton BATON_REL=$(CURDIR)/$(REL)/baton \
	    EXAMPLES=$(CURDIR)/$(REL)/examples tests/integration/run.sh

test: unit integration

# Everything CI runs: packages, both builds, unit tests under ASan+UBSan, integration
# tests against the sanitized binary, and a short fuzz run. Ends with one summary line.
check: deps
	@$(MAKE) --no-print-directory all asan fuzz-build
	@tests/check.sh

# The main job on the embedded default: upgrades of a live app under load, then a
# migration on SQLite, each with its figures printed.
demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh $(REL)

# A 4-host rolling deploy under load, on network namespaces of this machine (needs root).
demo-fleet: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo-fleet.sh $(REL)

bench: deps
	@$(MAKE) --no-print-directory all
	@bench/run.sh $(REL)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCDIR)/baton $(DESTDIR)$(PCDIR)
	install -m 0755 $(REL)/baton $(DESTDIR)$(BINDIR)/baton
	install -d $(DESTDIR)$(LIBEXECDIR)/baton
	for t in $(TOOLS); do install -m 0755 $(REL)/baton-$$t $(DESTDIR)$(LIBEXECDIR)/baton/; done
	install -m 0755 $(REL)/libbaton-lazy.so $(DESTDIR)$(LIBDIR)/libbaton-lazy.so.1
	ln -sf libbaton-lazy.so.1 $(DESTDIR)$(LIBDIR)/libbaton-lazy.so
	install -m 0644 $(REL)/libbaton-lazy.a $(DESTDIR)$(LIBDIR)/libbaton-lazy.a
	install -m 0644 include/baton/*.h $(DESTDIR)$(INCDIR)/baton/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCDIR@|$(INCDIR)|g' \
	    scripts/baton-lazy.pc.in > $(DESTDIR)$(PCDIR)/baton-lazy.pc
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR)
	install -m 0644 $(REL)/man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(REL)/completion/baton $(DESTDIR)$(BASHCOMPDIR)/baton

uninstall:
	rm -rf $(DESTDIR)$(LIBEXECDIR)/baton
	rm -f $(DESTDIR)$(BINDIR)/baton $(DESTDIR)$(LIBDIR)/libbaton-lazy.* \
	      $(DESTDIR)$(PCDIR)/baton-lazy.pc
	rm -rf $(DESTDIR)$(INCDIR)/baton
	rm -f $(DESTDIR)$(MANDIR)/man1/baton.1 $(DESTDIR)$(MANDIR)/man1/baton-*.1 \
	      $(DESTDIR)$(BASHCOMPDIR)/baton

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
	    -D_GNU_SOURCE -Isrc -Iinclude src include

# Static checks run by `make check`: cppcheck, and every C file formatted by .clang-format.
style:
	@tests/style.sh

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
